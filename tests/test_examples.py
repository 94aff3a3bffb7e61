"""The scripts in ``examples/`` run and do what their output says (on the cached test world)."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def run_example(world_factory, monkeypatch, capsys):
    world_factory()  # the test world, trained once per run and shared with the other world tests

    def run(script: str, *args: str) -> str:
        monkeypatch.setattr(sys, "argv", [str(EXAMPLES / script), *args])
        monkeypatch.syspath_prepend(str(EXAMPLES))
        runpy.run_path(str(EXAMPLES / script), run_name="__main__")
        return capsys.readouterr().out

    return run


def _answer_lines(output: str) -> dict[str, tuple[str, str]]:
    """``{kind: (old, new)}`` from lines ``  kind 'prompt': 'old' -> 'new'``."""
    lines = {}
    for line in output.splitlines():
        if line.startswith("  ") and " -> " in line:
            kind = line.split()[0]
            old, new = line.split(": ", 1)[1].split(" -> ")
            lines.setdefault(kind, (old, new.split(" (want")[0]))
    return lines


@pytest.mark.parametrize("base", ["MEMIT", "AlphaEdit"])
def test_blue_example_edits_the_fact_and_keeps_the_neighbours(run_example, base):
    output = run_example("blue_in_easyedit.py", "--base", base)
    answers = _answer_lines(output)
    edit_old, edit_new = answers["edit"]
    assert edit_old != edit_new
    target = re.search(r"^edit: .* -> '([^']*)'", output, re.M).group(1)
    assert edit_new == f"'{target}'"
    neighbour_old, neighbour_new = answers["neighbour"]
    assert neighbour_old == neighbour_new


def test_dmle_example_edits_the_worked_instance(run_example):
    output = run_example("dmle_rule_edit.py")
    instance = next(line for line in output.splitlines() if line.strip().startswith("instance"))
    new, want = instance.split(" -> ")[1].split(" (want ")
    assert new == want.rstrip(")")


def test_lga_example_reports_scores_and_edits(run_example):
    output = run_example("lga_then_blue.py", "--proxy", "8")
    assert "LGA scores per layer on 8 proxy edits: 0:" in output
    assert "BLUE with layer_selection: lga edited 2 facts" in output
