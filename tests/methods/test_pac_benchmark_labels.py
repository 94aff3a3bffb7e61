"""The benchmarks report PAC in its own regime and name every PAC-engine row's regime.

Issue 13: a sequential chain of PAC edits (no replay) is not the paper's regime; wherever it
appears it must say so, and the comparison's default PAC row must be the joint/cumulative one
with the drift-budget learning rate.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_compare  # noqa: E402
import bench_pac_regimes  # noqa: E402
import compare_report  # noqa: E402


def test_comparison_defaults_to_joint_pac_with_the_drift_budget_lr_and_the_ft_baseline():
    args = bench_compare.parse_args(["--preset", "test"])
    assert {"PAC", "FT"} <= set(args.methods) and "PAC-chain" not in args.methods
    assert args.pac_lr == "auto" and args.pac_drift_budget == 0.18 and args.pac_critical == 15
    assert set(bench_compare.CUMULATIVE_METHODS) == {"PAC", "FT"}
    assert bench_compare.parse_args(["--pac-lr", "3e-3"]).pac_lr == 3e-3


def test_every_pac_engine_row_names_its_regime():
    assert "joint" in compare_report.display_name("PAC")
    assert "sequential chain" in compare_report.display_name("PAC-chain")
    assert "fine-tuning" in compare_report.display_name("FT")
    assert compare_report.display_name("MEMIT") == "MEMIT"
    text = compare_report.pac_settings_text({"pac_lr": "auto", "pac_drift_budget": 0.18, "pac_critical": 15,
                                             "pac_epochs": 12})
    assert "drift budget 0.18" in text and "no replay" in text


def test_regime_benchmark_labels_every_variant_and_marks_the_chain():
    assert set(bench_pac_regimes.REGIMES) == set(bench_pac_regimes.VARIANTS)
    assert "not the paper's regime" in bench_pac_regimes.regime_label("pac-chain")
    assert bench_pac_regimes.regime_label("pac-joint").startswith("joint")
