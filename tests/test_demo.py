"""The README's main command: ``easyedit-plugins demo`` on the trained miniature world."""

from __future__ import annotations

from statistics import fmean

import pytest

from easyedit_plugins.demo import format_table, run_demo
from easyedit_plugins.easyedit_bridge import load_easyedit


@pytest.fixture(scope="module")
def demo(tmp_path_factory, world_factory):
    world_factory()  # trains the test world once per run (shared with the other world tests)
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out, preset="test", arch="gpt2", facts=3, progress=False)


def test_every_method_edits_and_the_report_is_written(demo):
    out, result = demo
    methods = {row.method for row in result.rows}
    assert methods == {"BLUE (MEMIT)", "BLUE (AlphaEdit)", "BLUE + LGA layers", "PAC", "DMLE"}
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "## Before and after" in text and "| BLUE (MEMIT) |" in text
    assert (out / "plots" / "metrics.png").stat().st_size > 0
    assert (out / "plots" / "lga_scores.png").stat().st_size > 0
    handle = load_easyedit()
    assert result.editor.startswith("EasyEdit" if handle is not None else "easyedit-plugins")


def test_fact_edits_take_and_leave_other_facts_alone(demo):
    _, result = demo
    blue = [row for row in result.rows if row.method == "BLUE (MEMIT)"]
    assert fmean(row.efficacy_exact for row in blue) == 1.0
    assert all(row.new_answer.startswith(row.target) for row in blue)
    assert fmean(row.locality for row in blue) >= 0.8
    assert fmean(row.generalisation_exact for row in blue) >= 0.5


def test_blue_gets_three_critical_layers_and_the_report_says_what_each_method_wrote(demo):
    out, result = demo
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "critical layers [0, 1, 2]" in text
    assert set(result.written) == {"BLUE (MEMIT)", "BLUE (AlphaEdit)", "BLUE + LGA layers", "PAC", "DMLE"}
    for method, written in result.written.items():
        assert f"**{method}**" in text and written in text
    assert "layer 1" not in result.written["BLUE (MEMIT)"] and "1," not in result.written["BLUE (MEMIT)"]
    assert result.written["DMLE"] == "layers [0, 2] (mlp.c_proj)"


def test_exact_match_and_token_accuracy_have_their_own_names(demo):
    out, result = demo
    table = format_table(result.rows)
    assert "efficacy (exact match)" in table.splitlines()[0] and "(token acc.)" in table
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "| efficacy (exact match) |" in text and "| efficacy (token acc.) |" in text
    assert "| efficacy |" not in text
    # a partly right formula: token accuracy above 0, exact match 0
    formula = next(row for row in result.rows if row.method == "DMLE" and "formula" in row.prompt)
    assert formula.efficacy_exact in (0.0, 1.0) and 0.0 <= formula.efficacy_tokens <= 1.0


def test_table_lists_old_and_new_answers(demo):
    _, result = demo
    table = format_table(result.rows)
    assert table.splitlines()[0].split()[:2] == ["method", "prompt"]
    assert "(want: " in table
