"""The plugin host: hook registration, entry-point discovery, attribution and clashes."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import pytest

from easyedit_plugins import EditOutcome, MethodSpec, PluginHyperParams, hookimpl
from easyedit_plugins.host import LayerSelection, LayerSelectorSpec, get_registry, register_plugin, unregister_plugin
from easyedit_plugins.easyedit_bridge import load_easyedit


@dataclass(kw_only=True)
class ClashHyperParams(PluginHyperParams):
    ALG_NAME = "TOY_HEAD"


class ClashingPlugin:
    """Registers a name the toy plugin already provides."""

    @hookimpl
    def easyedit_register_methods(self):
        return [MethodSpec("TOY_HEAD", ClashHyperParams, lambda *a: EditOutcome({}), batchable=False)]


class BrokenPlugin:
    @hookimpl
    def easyedit_register_methods(self):
        raise RuntimeError("cannot register")


def test_entry_point_plugin_is_discovered_and_attributed(toy_plugin):
    entry = toy_plugin.methods["TOY_HEAD"]
    assert entry.provider == "easyedit-toy-plugin"
    assert entry.spec.batchable is True


def test_name_clash_keeps_the_first_and_reports(toy_plugin):
    plugin = ClashingPlugin()
    registry = register_plugin(plugin, name="clash", provider="clash-package")
    try:
        assert registry.methods["TOY_HEAD"].provider == "easyedit-toy-plugin"
        assert any("registers 'TOY_HEAD' again" in e and "clash-package" in e for e in registry.load_errors)
    finally:
        unregister_plugin(plugin)


def test_a_raising_plugin_is_reported_not_fatal(toy_plugin):
    plugin = BrokenPlugin()
    registry = register_plugin(plugin, name="broken")
    try:
        assert "TOY_HEAD" in registry.methods
        assert any("cannot register" in e for e in registry.load_errors)
    finally:
        unregister_plugin(plugin)


def test_unknown_method_lists_the_registered_ones(toy_plugin):
    with pytest.raises(KeyError, match="registered: .*TOY_HEAD"):
        get_registry().method("NOPE")


def test_install_without_easyedit_returns_nothing():
    if load_easyedit() is not None:
        pytest.skip("EasyEdit is importable here; covered by tests/integration")
    from easyedit_plugins import install

    assert install() == []


class FixedSelector:
    @hookimpl
    def easyedit_register_layer_selectors(self):
        return [LayerSelectorSpec("fixed", "always layer 1")]

    @hookimpl
    def easyedit_select_layers(self, selector, model, tok, requests, hparams):
        if selector != "fixed":
            return None
        return LayerSelection(selector="fixed", layers=[1])


def test_layer_selector_is_listed_and_consulted_first_result_wins():
    plugin = FixedSelector()
    registry = register_plugin(plugin, name="fixed")
    try:
        assert "fixed" in registry.layer_selectors
        from easyedit_plugins.host import get_plugin_manager

        hook = get_plugin_manager().hook.easyedit_select_layers
        assert hook(selector="fixed", model=None, tok=None, requests=[], hparams=None).layers == [1]
        assert hook(selector="other", model=None, tok=None, requests=[], hparams=None) is None
    finally:
        unregister_plugin(plugin)


def test_cli_lists_builtin_entries_with_their_provider():
    result = subprocess.run(
        [sys.executable, "-m", "easyedit_plugins.cli", "plugins", "--json"],
        capture_output=True, text=True, check=True,
    )
    listing = json.loads(result.stdout)
    builtin = [row for row in listing["entries"] if row["provider"] == "easyedit-plugins"]
    assert {row["kind"] for row in builtin} <= {"method", "dataset", "evaluator", "layer selector"}
    assert all(row["name"] != "TOY_HEAD" for row in builtin)
