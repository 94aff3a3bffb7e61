"""A broken third-party plugin is reported and skipped; the package's own methods keep working.

Each toy plugin below is registered in-process the way an entry point's module would be. Its
fault must show in ``easyedit-plugins plugins`` (as a warning line, and in ``load_errors`` of
the JSON listing) and must break neither ``BLUEHyperParams.from_hparams`` (which installs the
methods into EasyEdit on construction) nor an edit with a built-in method.
"""

from __future__ import annotations

import argparse
import importlib
import json
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import torch

import easyedit_plugins.plugin
from easyedit_plugins import BLUEHyperParams, EditOutcome, EvaluatorSpec, MethodSpec, PluginHyperParams, hookimpl
from easyedit_plugins.commands import plugins as plugins_command
from easyedit_plugins.host import get_registry, register_plugin, unregister_plugin
from easyedit_plugins.host.install import apply_function

# The module, not the ``install`` function the host package exports under the same name.
install_module = importlib.import_module("easyedit_plugins.host.install")


@dataclass(kw_only=True)
class MismatchHyperParams(PluginHyperParams):
    ALG_NAME = "FAULTY_SPELLED_ONE_WAY"


class RaisingHook:
    @hookimpl
    def easyedit_register_methods(self):
        raise RuntimeError("the plugin's hook is broken")


class NotAList:
    @hookimpl
    def easyedit_register_methods(self):
        return MethodSpec("FAULTY_NOT_A_LIST", MismatchHyperParams, lambda *a: EditOutcome({}), batchable=True)


class WrongRecords:
    @hookimpl
    def easyedit_register_methods(self):
        return ["FAULTY_A_STRING", {"name": "FAULTY_A_DICT"}]

    @hookimpl
    def easyedit_register_evaluators(self):
        return [EvaluatorSpec("judge.faulty_not_callable", evaluate="not a function", kind="judge")]


class DisagreeingNames:
    @hookimpl
    def easyedit_register_methods(self):
        return [MethodSpec("FAULTY_SPELLED_ANOTHER_WAY", MismatchHyperParams, lambda *a: EditOutcome({}), batchable=True)]


FAULTS = {
    "raises": (RaisingHook, "raised RuntimeError: the plugin's hook is broken"),
    "not a list": (NotAList, "returned MethodSpec, not a list of MethodSpec"),
    "wrong records": (WrongRecords, "returned str 'FAULTY_A_STRING', not a MethodSpec"),
    "names disagree": (DisagreeingNames, "ALG_NAME is 'FAULTY_SPELLED_ONE_WAY'; the two must agree"),
}


@pytest.fixture(params=sorted(FAULTS))
def broken_plugin(request):
    plugin_class, message = FAULTS[request.param]
    plugin = plugin_class()
    register_plugin(plugin, name=f"broken-{request.param}", provider="broken-package")
    yield message
    unregister_plugin(plugin)


class FakeBatchEditor:
    @staticmethod
    def is_batchable_method(alg_name: str) -> bool:
        return alg_name == "MEMIT"


@pytest.fixture
def fake_easyedit(monkeypatch):
    """Stands for an importable EasyEdit: the tables ``install`` fills."""
    handle = SimpleNamespace(alg_dict={"MEMIT": object()}, ds_dict={}, batch_editor=FakeBatchEditor, generation="2026")
    monkeypatch.setattr(install_module, "load_easyedit", lambda required=False: handle)
    yield handle
    monkeypatch.setattr(FakeBatchEditor, "is_batchable_method",
                        staticmethod(lambda alg_name: alg_name == "MEMIT"))


def test_the_fault_is_reported_and_only_the_faulty_entries_are_skipped(broken_plugin):
    registry = get_registry()
    assert any(broken_plugin in error and "broken-package" in error for error in registry.load_errors), registry.load_errors
    assert {"BLUE", "DMLE", "PAC"} <= set(registry.methods)
    assert not [name for name in registry.methods if name.startswith("FAULTY")]
    assert not [name for name in registry.evaluators if "faulty" in name]


def test_the_plugins_command_lists_the_fault(broken_plugin, capsys):
    assert plugins_command.run(argparse.Namespace(json=True)) == 0
    listing = json.loads(capsys.readouterr().out)
    assert any(broken_plugin in error for error in listing["load_errors"])
    assert {"BLUE", "DMLE", "PAC"} <= {row["name"] for row in listing["entries"] if row["kind"] == "method"}
    assert plugins_command.run(argparse.Namespace(json=False)) == 0
    assert any(line.startswith("warning: ") and broken_plugin in line for line in capsys.readouterr().out.splitlines())


def test_from_hparams_still_installs_the_builtins(broken_plugin, fake_easyedit):
    hparams = BLUEHyperParams.from_hparams("BLUE/tiny-gpt2")
    assert hparams.alg_name == "BLUE"
    for name in ("BLUE", "DMLE", "PAC"):
        assert fake_easyedit.alg_dict[name] is apply_function(get_registry().method(name))
    assert not [name for name in fake_easyedit.alg_dict if name.startswith("FAULTY")]
    assert FakeBatchEditor.is_batchable_method("BLUE") and FakeBatchEditor.is_batchable_method("MEMIT")


def test_a_builtin_method_still_edits(broken_plugin):
    from easyedit_plugins.testing import tiny_model

    model, tok = tiny_model("gpt2", layers=2)
    before = {name: value.clone() for name, value in model.named_parameters()}
    apply = apply_function(get_registry().method("PAC"))
    hparams = get_registry().method("PAC").hparams_class(model_name=(model, tok), device="cpu", num_epochs=1,
                                                          lr=1e-2, n_critical=2, shuffle=False)
    request = {"prompt": "The capital of France is", "subject": "France", "target_new": "Rome", "ground_truth": "Paris"}
    edited, _ = apply(model, tok, [request], hparams)
    assert any(not torch.equal(before[name], value) for name, value in edited.named_parameters())


class RaisingSelector:
    """Answers every layer-selection call with an exception, whatever the selector's name."""

    @hookimpl
    def easyedit_select_layers(self, selector, model, tok, requests, hparams):
        raise RuntimeError("this plugin's selector hook is broken")


def test_a_raising_selection_hook_of_another_plugin_does_not_reach_a_registered_selector(monkeypatch):
    from easyedit_plugins import LayerSelection
    from easyedit_plugins.host import selection as selection_module
    from easyedit_plugins.plugin import LGA_SELECTOR

    chosen = LayerSelection(selector=LGA_SELECTOR, layers=[1])
    monkeypatch.setattr(easyedit_plugins.plugin, "lga_select_layers", lambda *args: chosen)
    plugin = RaisingSelector()
    register_plugin(plugin, name="broken-selector", provider="broken-package")
    try:
        hparams = SimpleNamespace(layer_selection=LGA_SELECTOR, to_dict=lambda: {"id": "raising-selector-test"})
        model = torch.nn.Linear(1, 1)
        assert selection_module.select_layers(model, None, [], hparams) is chosen
        with pytest.raises(RuntimeError, match="broken"):
            selection_module.select_layers(model, None, [], SimpleNamespace(layer_selection="unregistered",
                                                                            to_dict=lambda: {}))
    finally:
        unregister_plugin(plugin)
