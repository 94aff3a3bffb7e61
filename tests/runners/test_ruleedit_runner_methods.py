"""The runner with methods other than DMLE: batchable, one request at a time, failing,
misreporting what it changed, and EasyEdit's own (through a stand-in for the host bridge)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from runner_fixture import TINY_DMLE

from easyedit_plugins import EditOutcome, MethodSpec, PluginHyperParams, WeightBackup, hookimpl
from easyedit_plugins.host import register_plugin, unregister_plugin
from easyedit_plugins.runners import (
    EvaluationSettings,
    RestoreError,
    UnknownMethodError,
    load_method_hparams,
    resolve_method,
    run_ruleedit,
)
from easyedit_plugins.runners import methods as runner_methods
from easyedit_plugins.runners.methods import edit_requests
from easyedit_plugins.testing import tiny_model

WEIGHT = "transformer.h.0.mlp.c_proj.weight"
OTHER_WEIGHT = "transformer.h.1.mlp.c_proj.weight"
calls: list[dict[str, Any]] = []


@dataclass(kw_only=True)
class ToyHyperParams(PluginHyperParams):
    fail_on_rule: str | None = None
    #: On this rule also change a weight without reporting it (a misbehaving method).
    hide_a_change_on_rule: str | None = None


@dataclass(kw_only=True)
class BatchToyHyperParams(ToyHyperParams):
    ALG_NAME = "TOY_BATCH"


@dataclass(kw_only=True)
class SingleToyHyperParams(ToyHyperParams):
    ALG_NAME = "TOY_SINGLE"


def toy_edit(model, tok, requests, hparams):
    """Adds 1 to one MLP weight per request and records what it was given."""
    calls.append({"method": hparams.alg_name, "forms": [r["form"] for r in requests], "padding": tok.padding_side})
    rules = {r["rule_id"] for r in requests}
    if hparams.fail_on_rule in rules:
        raise RuntimeError("this rule cannot be edited")
    backup = WeightBackup(model)
    with torch.no_grad():
        backup.save(WEIGHT).add_(1.0)
        if hparams.hide_a_change_on_rule in rules:
            model.get_parameter(OTHER_WEIGHT).add_(1.0)
    return EditOutcome(backup.originals)


class ToyMethods:
    @hookimpl
    def easyedit_register_methods(self):
        return [MethodSpec("TOY_BATCH", BatchToyHyperParams, toy_edit, batchable=True),
                MethodSpec("TOY_SINGLE", SingleToyHyperParams, toy_edit, batchable=False)]


@pytest.fixture(scope="module", autouse=True)
def toy_methods():
    plugin = ToyMethods()
    register_plugin(plugin, name="runner-toy-methods")
    yield
    unregister_plugin(plugin)


@pytest.fixture
def toy_yaml(tmp_path, dmle_kwargs):
    def write(alg_name: str, **extra: Any):
        path = tmp_path / f"{alg_name}.yaml"
        lines = [f"alg_name: {alg_name}", f"model_name: {dmle_kwargs['model_name']}", "device: cpu"]
        lines += [f"{key}: {value}" for key, value in extra.items()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    calls.clear()
    return write


QUICK = EvaluationSettings(pre=False)


def test_a_batchable_method_gets_the_rule_in_one_call_a_single_one_case_by_case(toy_yaml, ruleedit_data, tmp_path):
    batch = run_ruleedit(toy_yaml("TOY_BATCH"), ruleedit_data, tmp_path / "b", rule_ids=["1"], settings=QUICK,
                         show_progress=False)
    single = run_ruleedit(toy_yaml("TOY_SINGLE"), ruleedit_data, tmp_path / "s", rule_ids=["1"], settings=QUICK,
                          show_progress=False)
    assert batch.failed == single.failed == {}
    assert calls == [
        {"method": "TOY_BATCH", "forms": ["formula", "description", "instance"], "padding": "right"},
        {"method": "TOY_SINGLE", "forms": ["formula"], "padding": "right"},
        {"method": "TOY_SINGLE", "forms": ["description"], "padding": "right"},
        {"method": "TOY_SINGLE", "forms": ["instance"], "padding": "right"},
    ]


def test_one_after_another_keeps_the_first_original_of_each_weight():
    model = torch.nn.Module()
    model.register_parameter("w", torch.nn.Parameter(torch.zeros(2)))
    step = {"n": 0}

    def apply(model, tok, requests, hparams, **kwargs):
        step["n"] += 1
        original = model.w.detach().clone()
        with torch.no_grad():
            model.w.add_(1.0)
        return model, {"w": original}

    method = runner_methods.EditMethod("SEQ", apply, batchable=False, hparams_class=object, provider="plugin")
    originals: dict[str, torch.Tensor] = {}
    edit_requests(method, model, SimpleNamespace(padding_side="left"), [{}, {}, {}], None, originals)
    assert step["n"] == 3 and torch.equal(model.w, torch.full((2,), 3.0))
    assert torch.equal(originals["w"], torch.zeros(2))


def test_a_failing_rule_is_reported_and_the_run_goes_on(toy_yaml, ruleedit_data, tmp_path):
    report = run_ruleedit(toy_yaml("TOY_BATCH", fail_on_rule="'2'"), ruleedit_data, tmp_path / "out", settings=QUICK,
                          show_progress=False)
    assert report.computed == ["1", "3"]
    assert report.failed == {"2": "RuntimeError: this rule cannot be edited"}
    assert report.summary["rules"]["failed"] == ["2"]
    assert "1 failed (2)" in (tmp_path / "out" / "summary.md").read_text()


def test_an_unreported_change_is_caught_and_the_model_reloaded(toy_yaml, ruleedit_data, tmp_path):
    path = toy_yaml("TOY_BATCH", hide_a_change_on_rule="'1'")
    report = run_ruleedit(path, ruleedit_data, tmp_path / "out", rule_ids=["1", "2"], settings=QUICK, show_progress=False)
    assert list(report.failed) == ["1"]
    assert "still differs from the unedited one in transformer.h.1.mlp.c_proj.weight" in report.failed["1"]
    assert report.computed == ["2"]  # its restore check passed: the reloaded model is the unedited one


def test_an_hparams_object_and_a_model_in_memory(ruleedit_data, tmp_path):
    model, tok = tiny_model("gpt2", layers=2, width=16)
    hparams = BatchToyHyperParams(model_name=(model, tok), device="cpu")
    report = run_ruleedit(hparams, ruleedit_data, tmp_path / "ok", rule_ids=["3"], method_kwargs={"fail_on_rule": "1"},
                          settings=QUICK, show_progress=False)
    assert report.computed == ["3"] and report.summary["model"] == "GPT2LMHeadModel"
    with pytest.raises(RestoreError, match="passed as an object, so it cannot be reloaded"):
        run_ruleedit(hparams, ruleedit_data, tmp_path / "dirty", rule_ids=["3"],
                     method_kwargs={"hide_a_change_on_rule": "3"}, settings=QUICK, show_progress=False)


def test_an_unknown_method_lists_the_known_ones(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("alg_name: NOPE\nmodel_name: m\n", encoding="utf-8")
    with pytest.raises(UnknownMethodError, match="no editing method 'NOPE'; available: .*DMLE"):
        load_method_hparams(path)


def test_method_kwargs_are_checked_like_the_files_own_keys():
    with pytest.raises(ValueError, match="unknown key 'v_llr' \\(did you mean 'v_lr'\\?\\)"):
        load_method_hparams(TINY_DMLE, {"v_llr": 0.1})


def test_easyedit_methods_go_through_its_alg_dict_and_hparams_class(monkeypatch, tmp_path):
    class HyperParams:
        pass

    class MEMITHyperParams(HyperParams):
        @classmethod
        def from_hparams(cls, path):
            loaded = cls()
            loaded.alg_name, loaded.source, loaded.v_lr = "MEMIT", path, 0.5
            return loaded

    seen: dict[str, Any] = {}

    def apply_memit_to_model(model, tok, requests, hparams, **kwargs):
        seen.update(kwargs, padding=tok.padding_side, n=len(requests))
        return model, {"w": torch.zeros(1)}

    handle = SimpleNamespace(
        alg_dict={"MEMIT": apply_memit_to_model},
        hyperparams=HyperParams,
        batch_editor=SimpleNamespace(is_batchable_method=lambda name: name == "MEMIT"),
    )
    monkeypatch.setattr(runner_methods, "load_easyedit", lambda: handle)
    path = tmp_path / "memit.yaml"
    path.write_text("alg_name: MEMIT\nmodel_name: m\n", encoding="utf-8")
    method, hparams = load_method_hparams(path, {"v_lr": 0.1})
    assert (method.provider, method.batchable, type(hparams).__name__) == ("easyedit", True, "MEMITHyperParams")
    assert (hparams.source, hparams.v_lr) == (str(path), 0.1)
    originals: dict[str, torch.Tensor] = {}
    edit_requests(method, object(), SimpleNamespace(padding_side="left"), [{}, {}], hparams, originals)
    assert seen == {"copy": False, "return_orig_weights": True, "keep_original_weight": True, "padding": "right", "n": 2}
    assert list(originals) == ["w"]
    with pytest.raises(UnknownMethodError, match="no editing method 'ROME'"):
        resolve_method("ROME")
