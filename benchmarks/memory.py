"""Resident memory of this process around edit calls (shared by the benchmark scripts).

On the CPU, PyTorch's allocations come from the C heap and ``tracemalloc`` does not see them;
the resident set size does. Linux lets a process reset its high-water mark (``VmHWM``) by
writing 5 to ``/proc/self/clear_refs``, so the peak of one call is measured by giving freed heap
memory back (``malloc_trim``), resetting the mark, running the call and reading the mark again.
Where that is not possible, the lifetime peak (``ru_maxrss``) is the fallback and says so.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any, Callable, TypeVar

MIB = 1024 * 1024
T = TypeVar("T")


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _libc() -> Any:
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
        return libc
    except (OSError, AttributeError):
        return None


LIBC = _libc()


class Memory:
    """Resident set size of this process; the peak is measured per edit call where Linux allows."""

    def __init__(self) -> None:
        self.resettable = self._reset_peak()
        self.baseline = self.rss()
        self.peak = self.baseline

    @staticmethod
    def _reset_peak() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
            return _status_kib("VmHWM") is not None
        except OSError:
            return False

    @staticmethod
    def _bytes(field: str) -> int:
        """``field`` of /proc/self/status in bytes; the lifetime peak where /proc is missing."""
        kib = _status_kib(field)
        if kib is None:
            import resource
            kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kib * 1024

    @classmethod
    def rss(cls) -> int:
        return cls._bytes("VmRSS")

    @classmethod
    def high_water(cls) -> int:
        return cls._bytes("VmHWM")

    def before_edit(self) -> None:
        """Give freed heap memory back (so what evaluation left behind is not counted), reset the peak."""
        gc.collect()
        if LIBC is not None:
            LIBC.malloc_trim(0)
        if self.resettable:
            self._reset_peak()

    def after_edit(self) -> None:
        self.peak = max(self.peak, self.high_water())

    def report(self) -> dict[str, Any]:
        return {
            "rss_after_load_mib": self.baseline / MIB,
            "peak_rss_mib": self.peak / MIB,
            "extra_peak_mib": max(0, self.peak - self.baseline) / MIB,
            "final_rss_mib": self.rss() / MIB,
            "how": "VmHWM reset before every edit call, evaluation excluded" if self.resettable
            else "ru_maxrss of the whole process, evaluation included",
        }


def extra_peak(call: Callable[[], T]) -> tuple[T, int]:
    """``call()`` and the most its resident set grew above the size it started from, in bytes."""
    memory = Memory()
    memory.before_edit()
    start = memory.rss()
    result = call()
    return result, max(0, memory.high_water() - start)
