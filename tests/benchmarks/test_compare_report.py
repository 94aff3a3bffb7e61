"""The comparison's DMLE section shows both metrics, each below what the unedited model already scores.

Issue 13: teacher-forced token accuracy on rule targets is high before any edit (old and new
formulas share most tokens), so a token-accuracy number is only readable beside its pre-edit value.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import compare_report  # noqa: E402

METRICS = ("formula", "description", "instance", "generalisation", "instance_portability", "rule_understanding")


def _point(rules: int, greedy: float, token: float) -> dict:
    point = {"rules": rules, "edits": 3 * rules, "locality": 1.0, "rule_locality": None}
    for metric in METRICS:
        point[metric], point[f"{metric}_token"] = greedy, token
    return point


def test_dmle_section_has_a_greedy_and_a_token_table_each_starting_from_the_unedited_model():
    part = {"pre_edit": _point(0, 0.0, 0.777), "curve": [_point(1, 0.5, 0.888), _point(2, 0.25, 0.999)]}
    text = "\n".join(compare_report.dmle_sequence_lines(part))
    greedy, token = text.split("teacher-forced token accuracy")
    assert "exact match" in greedy and "| before any edit | 0 | 0.000 |" in greedy and "| 2 | 6 | 0.250 |" in greedy
    assert "0.777" not in greedy and "0.888" not in greedy
    assert "| before any edit | 0 | 0.777 |" in token and "| 1 | 3 | 0.888 |" in token and "| 2 | 6 | 0.999 |" in token


def test_dmle_section_of_an_older_part_without_pre_edit_values_still_renders():
    text = "\n".join(compare_report.dmle_sequence_lines({"curve": [_point(1, 1.0, 1.0)]}))
    assert "| before any edit |" not in text and "| 1 | 3 | 1.000 |" in text
