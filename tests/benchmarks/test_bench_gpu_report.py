"""bench_gpu.py's bookkeeping, on the CPU: no GPU and no model here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_gpu  # noqa: E402
from easyedit_plugins.core.stats import SecondMomentAccumulator  # noqa: E402


def statistics_row(**extra: float) -> dict:
    return {"model": "llama3-8b", "layers": [4, 5], "tokens": 100, "stats_tok_s": 50.0, "forward_tok_s": 40.0,
            "ratio": 1.25, "forward_to_tok_s": 100.0, "ratio_same_depth": 0.5, "stats_extra_gib": 1.0, **extra}


def run_data(statistics: list[dict]) -> dict:
    return {"date": "2026-11-26", "device": "CPU", "torch": "2", "transformers": "5", "easyedit": "none",
            "dtype": "float32", "edits": 2, "edits_results": [], "statistics": statistics}


def test_the_copy_to_the_cpu_is_timed_and_leaves_the_accumulators_there():
    accumulator = SecondMomentAccumulator(8, torch.float32)
    accumulator.add(torch.ones(3, 8))
    seconds = bench_gpu.copy_seconds([accumulator], torch.device("cpu"))
    assert seconds >= 0
    assert accumulator.sum.device.type == "cpu" and accumulator.count == 3


def test_rows_without_the_copy_columns_still_render_and_new_rows_show_them():
    old = bench_gpu.report(run_data([statistics_row()]))
    assert "| 0.50 | - | - | 1.00 |" in old  # a first-session JSON: no copy measured
    new = bench_gpu.report(run_data([statistics_row(copy_s=2.9, ratio_same_depth_pass_only=0.78)]))
    assert "| 0.50 | 2.90 | 0.78 | 1.00 |" in new


def test_results_are_saved_after_each_measurement_only_when_asked(tmp_path):
    path = tmp_path / "gpu.json"
    bench_gpu.save(run_data([statistics_row()]), path)
    assert json.loads(path.read_text())["statistics"][0]["tokens"] == 100
    bench_gpu.save(run_data([]), None)  # no --json: nothing written, nothing raised
