"""A judge registered by a plugin's hook is what ``ruleedit --judge NAME`` grades with."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from easyedit_plugins import EditOutcome, EvaluatorSpec, MethodSpec, PluginHyperParams, hookimpl
from easyedit_plugins.cli import main
from easyedit_plugins.host import get_registry, register_plugin, unregister_plugin
from easyedit_plugins.runners import EvaluationSettings

judged: list[tuple[str, str, str | None]] = []


@dataclass(kw_only=True)
class UnchangedHyperParams(PluginHyperParams):
    ALG_NAME = "JUDGE_TEST_NOOP"


def no_edit(model, tok, requests, hparams) -> EditOutcome:
    return EditOutcome({})


def always_right(prediction: str, target: str, question: str | None = None) -> bool:
    judged.append((prediction, target, question))
    return True


class JudgePlugin:
    @hookimpl
    def easyedit_register_methods(self):
        return [MethodSpec(UnchangedHyperParams.ALG_NAME, UnchangedHyperParams, no_edit, batchable=True)]

    @hookimpl
    def easyedit_register_evaluators(self):
        return [EvaluatorSpec("judge.always_right", always_right, "every answer is right", kind="judge")]


@pytest.fixture
def judge_plugin():
    plugin = JudgePlugin()
    register_plugin(plugin, name="judge-test", provider="judge-test-package")
    judged.clear()
    yield
    unregister_plugin(plugin)


def test_the_plugins_judge_is_listed_and_known_to_the_settings(judge_plugin):
    assert "always_right" in get_registry().judge_names()
    EvaluationSettings(judge="always_right").check()


def test_ruleedit_grades_with_the_plugins_judge(judge_plugin, ruleedit_data, dmle_kwargs, tmp_path, capsys):
    hparams = tmp_path / "noop.yaml"
    hparams.write_text(f"alg_name: JUDGE_TEST_NOOP\nmodel_name: {dmle_kwargs['model_name']}\ndevice: cpu\n",
                       encoding="utf-8")
    out = tmp_path / "out"
    code = main(["ruleedit", "--hparams", str(hparams), "--data", str(ruleedit_data), "--out", str(out),
                 "--rules", "1", "--judge", "always_right", "--no-pre", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert judged, "the plugin's judge was never called"
    records = json.loads((out / "metrics_rule_1.json").read_text())
    assert all(all(value == 1.0 for value in record["post"]["rewrite_acc"]) for record in records)


def test_an_unregistered_judge_is_refused_naming_the_registered_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown judge 'always_right'; available: .*exact"):
        EvaluationSettings(judge="always_right").check()
