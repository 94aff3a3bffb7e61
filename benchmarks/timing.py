"""Timing helpers shared by the benchmark scripts (run them as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import time
from typing import Callable


def timed(functions: dict[str, Callable[[], object]], repeats: int) -> tuple[dict[str, float], dict[str, float], dict[str, object]]:
    """Best wall-clock and best process CPU time of each function over ``repeats`` rounds.

    The functions run interleaved (a, b, c, a, b, c, ...) so a change in machine load affects
    all of them alike.
    """
    wall = {name: float("inf") for name in functions}
    cpu = dict(wall)
    results: dict[str, object] = {}
    for _ in range(repeats):
        for name, function in functions.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            results[name] = function()
            wall[name] = min(wall[name], time.perf_counter() - wall_start)
            cpu[name] = min(cpu[name], time.process_time() - cpu_start)
    return wall, cpu, results

