"""The RuleEdit runner with DMLE on a tiny GPT-2: files, restore between rules, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from runner_fixture import TINY_DMLE, write_rules

from easyedit_plugins.cli import main
from easyedit_plugins.evaluation import SUMMARY_METRICS
from easyedit_plugins.runners import EvaluationSettings, ManifestMismatch, run_ruleedit
from easyedit_plugins.testing import save_tiny_model


class Killed(BaseException):
    """Stands for the process being killed between two rules."""


def rule_file_bytes(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(out.glob("metrics_rule_*.json"))}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, ruleedit_data, dmle_kwargs):
    out = tmp_path_factory.mktemp("full") / "out"
    report = run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs=dmle_kwargs, show_progress=False)
    return out, report


def test_every_rule_gets_a_dmle_layout_file_and_the_run_a_summary(full_run):
    out, report = full_run
    assert report.computed == ["1", "2", "3"] and report.reused == [] and report.failed == {}
    records = json.loads((out / "metrics_rule_2.json").read_text())
    assert [(r["case_id"], r["form"], r["dataset_case_id"]) for r in records] == [
        (0, "formula", 0), (1, "description", 1), (2, "instance", 0)]
    for record in records:
        assert record["requested_rewrite"]["rule_id"] == "2"
        for stage in ("pre", "post"):
            scores = record[stage]
            assert set(scores["locality"]) >= {"neighborhood_acc", "distracting_acc"}
            assert set(scores["portability"]) >= {"Instance_acc", "Rule_acc"}
            assert len(scores["rewrite_acc"]) == len(scores["rephrase_acc"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "DMLE" and summary["rules"]["finished"] == 3
    assert set(summary["post"]) >= set(SUMMARY_METRICS) and set(summary["pre"]) >= set(SUMMARY_METRICS)
    assert "| after editing |" in (out / "summary.md").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"]["name"] == "DMLE" and manifest["model"]["fingerprint"]
    assert "model_name" not in manifest["hparams"]


def test_each_rule_is_edited_on_the_unedited_model(full_run, tmp_path, ruleedit_data, dmle_kwargs):
    """Rule 3 alone on a freshly loaded model gives the same file as rule 3 after rules 1 and 2."""
    out, _ = full_run
    alone = tmp_path / "alone"
    run_ruleedit(TINY_DMLE, ruleedit_data, alone, method_kwargs=dmle_kwargs, rule_ids=["3"], show_progress=False)
    assert rule_file_bytes(alone) == {"metrics_rule_3.json": (out / "metrics_rule_3.json").read_bytes()}


def test_a_killed_run_resumes_without_recomputing_and_ends_identical(full_run, tmp_path, ruleedit_data, dmle_kwargs):
    out = tmp_path / "out"

    def kill(result):
        raise Killed(result.rule_id)

    with pytest.raises(Killed):
        run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs=dmle_kwargs, show_progress=False, on_rule_done=kill)
    assert list(rule_file_bytes(out)) == ["metrics_rule_1.json"]
    first = (out / "metrics_rule_1.json").stat().st_mtime_ns

    done = []
    report = run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs=dmle_kwargs, show_progress=False,
                          on_rule_done=lambda result: done.append(result.rule_id))
    assert done == report.computed == ["2", "3"] and report.reused == ["1"]
    assert (out / "metrics_rule_1.json").stat().st_mtime_ns == first
    assert rule_file_bytes(out) == rule_file_bytes(full_run[0])
    assert json.loads((out / "summary.json").read_text())["post"] == json.loads((full_run[0] / "summary.json").read_text())["post"]


def test_partial_and_corrupt_files_are_not_taken_for_finished(full_run, tmp_path, ruleedit_data, dmle_kwargs):
    out = tmp_path / "out"
    shutil.copytree(full_run[0], out)
    whole = (out / "metrics_rule_2.json").read_bytes()
    (out / "metrics_rule_2.json").write_bytes(whole[: len(whole) // 2])  # cut off mid-write
    (out / "metrics_rule_3.json").write_text(json.dumps(json.loads(whole)[:2]))  # valid JSON, a case missing
    (out / ".metrics_rule_3.json.x1y2.tmp").write_text("[")  # left by a killed atomic write
    report = run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs=dmle_kwargs, show_progress=False)
    assert report.computed == ["2", "3"] and report.reused == ["1"]
    assert rule_file_bytes(out) == rule_file_bytes(full_run[0])
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"method_kwargs": {"v_lr": 0.1}}, "hyperparameter v_lr: 0.5 before, 0.1 now"),
        ({"method_kwargs": {"stages": [{"name": "f_d", "forms": ["formula", "description"], "layers": [1]},
                                       {"name": "ins", "forms": ["instance"], "layers": [2]}]}}, "hyperparameter stages"),
        ({"settings": EvaluationSettings(judge="exact")}, "evaluation judge: 'auto' before, 'exact' now"),
        ({"settings": EvaluationSettings(pre=False)}, "evaluation pre: True before, False now"),
    ],
)
def test_resuming_with_other_settings_is_refused(full_run, tmp_path, ruleedit_data, dmle_kwargs, change, message):
    out = tmp_path / "out"
    shutil.copytree(full_run[0], out)
    kwargs = {**dmle_kwargs, **change.pop("method_kwargs", {})}
    with pytest.raises(ManifestMismatch, match=message):
        run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs=kwargs, show_progress=False, **change)


def test_resuming_on_other_data_or_unknown_results_is_refused(full_run, tmp_path, dmle_kwargs):
    other = write_rules(tmp_path / "other", [1, 2, 3])
    rule = json.loads((other / "2" / "ins.json").read_text())
    rule[0]["target_new"] = "8."
    (other / "2" / "ins.json").write_text(json.dumps(rule))
    out = tmp_path / "out"
    shutil.copytree(full_run[0], out)
    with pytest.raises(ManifestMismatch, match="data: .* with different content"):
        run_ruleedit(TINY_DMLE, other, out, method_kwargs=dmle_kwargs, show_progress=False)
    (out / "manifest.json").unlink()
    with pytest.raises(ValueError, match="holds 3 metrics_rule_\\*.json file\\(s\\) but no manifest.json"):
        run_ruleedit(TINY_DMLE, other, out, method_kwargs=dmle_kwargs, show_progress=False)


def test_command_line_runs_selects_and_refuses(tmp_path, ruleedit_data, dmle_kwargs, capsys):
    out = tmp_path / "out"
    common = ["ruleedit", "--hparams", str(TINY_DMLE), "--data", str(ruleedit_data), "--out", str(out), "--no-progress"]
    kwargs = ["--method-kwargs"] + [f"{key}={value}" for key, value in dmle_kwargs.items()]
    assert main(common + kwargs + ["--rules", "3,1", "--limit", "1", "--no-pre"]) == 0
    printed = capsys.readouterr().out
    assert "| after editing |" in printed and "before editing" not in printed
    assert list(rule_file_bytes(out)) == ["metrics_rule_1.json"]
    assert main(common + kwargs + ["v_lr=0.25", "--no-pre"]) == 2
    assert "hyperparameter v_lr: 0.5 before, 0.25 now" in capsys.readouterr().err
    assert main(common + kwargs + ["--rules", "9"]) == 2
    assert "has no rule '9'" in capsys.readouterr().err


def test_a_moved_model_resumes_but_other_weights_are_refused(full_run, tmp_path, ruleedit_data, dmle_kwargs):
    out = tmp_path / "out"
    shutil.copytree(full_run[0], out)
    (out / "metrics_rule_3.json").unlink()
    moved = shutil.copytree(dmle_kwargs["model_name"], tmp_path / "moved" / "tiny-gpt2")
    report = run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs={**dmle_kwargs, "model_name": str(moved)},
                          show_progress=False)
    assert report.reused == ["1", "2"] and report.computed == ["3"]
    other = save_tiny_model("gpt2", tmp_path / "other", seed=1)
    (out / "metrics_rule_3.json").unlink()
    with pytest.raises(ManifestMismatch, match="model weights: .* with different weights"):
        run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs={**dmle_kwargs, "model_name": str(other)},
                     show_progress=False)



def test_the_judge_time_limit_reaches_the_judges_and_bad_values_are_refused(tmp_path, ruleedit_data, dmle_kwargs,
                                                                            capsys, monkeypatch):
    from easyedit_plugins.runners import rule_processing

    limits = []
    real_evaluate = rule_processing.evaluate_requests

    def spy(*args, **kwargs):
        limits.append(kwargs.get("judge_time_limit"))
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(rule_processing, "evaluate_requests", spy)
    common = ["ruleedit", "--hparams", str(TINY_DMLE), "--data", str(ruleedit_data), "--out", str(tmp_path / "out"),
              "--no-progress", "--rules", "1", "--method-kwargs"] + [f"{k}={v}" for k, v in dmle_kwargs.items()]
    for bad in ("0", "-1", "inf", "soon"):
        with pytest.raises(SystemExit) as refused:
            main(common + ["--judge-time-limit", bad])
        assert refused.value.code == 2 and "--judge-time-limit" in capsys.readouterr().err
    assert main(common + ["--judge-time-limit", "7.5"]) == 0
    assert limits == [7.5, 7.5]  # the unedited model's evaluation and the edited one's
