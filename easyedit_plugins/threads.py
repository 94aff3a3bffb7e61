"""How many CPU threads PyTorch gets: the cores this process may use (``os.sched_getaffinity``).

The demo once took 5 to 6.5 minutes with 2 threads on a busy 2-core machine and 24 s with one.
The thread count was not the cause: PyTorch's OpenMP threads spin while they wait for each
other at the end of every operation, and on a busy machine the spinning thread takes the core
from the one it waits for. With ``OMP_WAIT_POLICY=PASSIVE``, which the CLI sets, two threads
on 2 cores were within the noise of one at a load average of about 3 (30 s against 27 s) and
faster at 5 to 6 (39 s against 60 s): ``benchmarks/results/demo-2026-11-26.md`` and
``demo-busy-2026-11-26.md``. So the default is every usable core, and ``--threads`` overrides it.

Nothing here imports torch until :func:`torch_threads`: the CLI decides before torch loads.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count and why: shown in a command's first log line."""

    threads: int
    cores: int
    load: float | None
    requested: bool

    def describe(self) -> str:
        load = "" if self.load is None else f", load average {self.load:.2f}"
        why = "--threads" if self.requested else "the cores this process may use; --threads to change"
        return f"{self.threads} torch thread(s) ({why}; {self.cores} core(s) available{load})"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), or the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not available on macOS and Windows
        return os.cpu_count() or 1


def choose_threads(requested: int | None = None) -> ThreadChoice:
    """``requested`` if given, else the usable cores; the load average is kept for the log line."""
    cores = usable_cores()
    try:
        load: float | None = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        load = None
    if requested is None:
        return ThreadChoice(cores, cores, load, requested=False)
    if requested < 1:
        raise ValueError(f"--threads must be at least 1, got {requested}")
    return ThreadChoice(requested, cores, load, requested=True)


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` PyTorch intra-op threads, then restore the previous count
    (imports torch; a command run inside a test must not change the rest of the test run)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
