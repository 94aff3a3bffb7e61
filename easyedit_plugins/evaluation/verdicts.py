"""What a judgement returns, and the time it may take.

A judge answers True or False. When it gives up instead of deciding (its time limit passed, or
the formula is too large to evaluate), the answer is False and :class:`Verdict` carries the
reason, so the per-rule results can say why a prompt was scored 0.

The time limit is cooperative: the judges call :meth:`Deadline.check` between steps whose cost
the size guards bound (one node of a formula at one point), so it works the same on the main
thread and in worker threads, needs no signal, thread or subprocess, and leaves nothing behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """``correct``; ``reason`` says why the judge gave up (None when it decided)."""

    correct: bool
    reason: str | None = None


class TimeLimitExceeded(Exception):
    """The judgement ran past its time limit."""


class Deadline:
    """A point in time, ``seconds`` from now, after which :meth:`check` raises."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise TimeLimitExceeded(f"time limit of {self.seconds:g} s reached")


#: A deadline that never passes, for the functions called outside a judgement.
NO_DEADLINE = Deadline(float("inf"))


def require_text(value: object, argument: str) -> str:
    """``value`` if it is a ``str``; else a TypeError naming ``argument``."""
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a str, got {type(value).__name__}")
    return value
