"""The package's own plugin arrives the way a third party's does: through an entry point."""

from __future__ import annotations

import importlib.metadata
from types import SimpleNamespace

import pytest

import easyedit_plugins.plugin
from easyedit_plugins.host import ENTRY_POINT_GROUP, get_plugin_manager, get_registry, hookimpl
from easyedit_plugins.host import manager as manager_module


def test_the_builtins_and_the_toy_plugin_come_through_the_same_entry_point_group(toy_plugin):
    declared = {(ep.name, ep.value, ep.dist.name) for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert ("builtin", "easyedit_plugins.plugin", "easyedit-plugins") in declared
    assert {("toy", "easyedit_toy_plugin")} <= {(name, value) for name, value, _ in declared}
    manager = get_plugin_manager()
    assert manager.get_plugin("builtin") is easyedit_plugins.plugin
    assert manager.get_plugin("toy") is not None
    registry = get_registry()
    assert {registry.methods[name].provider for name in ("BLUE", "DMLE", "PAC")} == {"easyedit-plugins"}
    assert registry.methods["TOY_HEAD"].provider == "easyedit-toy-plugin"
    assert not [error for error in registry.load_errors if "missing from the installed metadata" in error]


def test_a_method_is_named_by_its_hparams_class():
    for name, entry in get_registry().methods.items():
        if entry.provider == "easyedit-plugins":
            assert entry.spec.name == entry.spec.hparams_class.ALG_NAME == name


@pytest.fixture
def fresh_manager(monkeypatch):
    """A plugin manager built anew from the entry points ``_entry_points`` is patched to give."""
    monkeypatch.setattr(manager_module, "_manager", None)
    monkeypatch.setattr(manager_module, "_registry", None)
    monkeypatch.setattr(manager_module, "_load_errors", [])
    return manager_module._entry_points()


def test_stale_metadata_without_the_entry_point_registers_the_builtins_with_a_warning(monkeypatch, fresh_manager):
    """The package registers its plugin directly only when the installed metadata lacks the
    entry point (it checks when imported, so that a current install imports no torch then)."""
    without_builtin = [ep for ep in fresh_manager if ep.name != "builtin"]
    monkeypatch.setattr(manager_module, "_entry_points", lambda: without_builtin)
    monkeypatch.setattr(manager_module, "_fallbacks", {})
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **_: without_builtin)
    easyedit_plugins._register_builtins_if_the_metadata_is_stale()
    registry = get_registry()
    assert {"BLUE", "DMLE", "PAC"} <= set(registry.methods)
    assert registry.methods["BLUE"].provider == "easyedit-plugins"
    assert any("'builtin' is missing from the installed metadata" in error and "Reinstall" in error
               for error in registry.load_errors)


class BadSignature:
    """A hook implementation whose arguments are not the specification's: pluggy refuses it."""

    @hookimpl
    def easyedit_select_layers(self, selector, model, not_an_argument):
        return None


def test_an_entry_point_pluggy_refuses_is_reported_and_skipped(monkeypatch, fresh_manager):
    bad = SimpleNamespace(name="bad", value="bad_package.plugin", dist=SimpleNamespace(name="bad-package"),
                          load=BadSignature)
    monkeypatch.setattr(manager_module, "_entry_points", lambda: [*fresh_manager, bad])
    registry = get_registry()
    assert {"BLUE", "DMLE", "PAC"} <= set(registry.methods)
    assert any("plugin 'bad' of bad-package cannot be registered" in error for error in registry.load_errors)
