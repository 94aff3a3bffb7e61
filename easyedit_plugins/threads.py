"""How many CPU threads PyTorch gets, chosen from the cores this process may use and their load.

PyTorch's CPU kernels split an operation across their threads and wait at the end for the
slowest. When other processes keep the cores busy, a thread that has lost its core stalls the
others until the scheduler gives it back, for every one of the thousands of small operations an
edit makes; on the project's 2 shared cores the demo took 5 to 6.5 minutes with 2 threads and
24 s with one. So the default is the cores this process may use (``os.sched_getaffinity``)
minus the ones the last minute's load average says are busy, at least one.

Nothing here imports torch: the CLI calls :func:`choose_threads` before deciding to load it.
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
        if self.requested:
            return f"{self.threads} torch thread(s) (--threads; {self.cores} core(s) available)"
        load = "" if self.load is None else f", load average {self.load:.2f}"
        return f"{self.threads} torch thread(s) ({self.cores} core(s) available{load}; --threads to change)"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), or the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not available on macOS and Windows
        return os.cpu_count() or 1


def choose_threads(requested: int | None = None) -> ThreadChoice:
    """``requested`` if given, else the usable cores that the one-minute load leaves idle (at least 1)."""
    cores = usable_cores()
    if requested is not None:
        if requested < 1:
            raise ValueError(f"--threads must be at least 1, got {requested}")
        return ThreadChoice(requested, cores, None, requested=True)
    try:
        load: float | None = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        load = None
    idle = cores if load is None else cores - round(load)
    return ThreadChoice(max(1, min(cores, idle)), cores, load, requested=False)


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
