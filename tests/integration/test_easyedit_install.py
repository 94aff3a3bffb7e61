"""Installing the plugins into a real EasyEdit (the 2023 PyPI release, or EASYEDIT_SRC)."""

from __future__ import annotations

import pytest

from easyedit_plugins import install
from easyedit_plugins.host.install import apply_function


def test_install_adds_every_registered_method_idempotently(easyedit, toy_plugin):
    names = install()
    assert {"BLUE", "PAC", "TOY_HEAD"} <= set(names)
    first = dict(easyedit.alg_dict)
    assert install() == names
    for name in names:
        assert easyedit.alg_dict[name] is first[name] is apply_function(toy_plugin.methods[name].spec)


def test_batchable_methods_are_accepted_and_builtins_still_are(easyedit, toy_plugin):
    install()
    batchable = easyedit.batch_editor.is_batchable_method
    assert batchable("BLUE") and batchable("TOY_HEAD") and batchable("PAC")
    assert batchable("MEMIT")
    assert not batchable("ROME")


def test_datasets_are_added(easyedit):
    install()
    from easyedit_plugins.data import RuleEditDataset

    assert easyedit.ds_dict["ruleedit"] is RuleEditDataset


def test_constructing_hyperparameters_installs(easyedit, toy_plugin, monkeypatch):
    from easyedit_toy_plugin import ToyHeadHyperParams

    monkeypatch.delitem(easyedit.alg_dict, "TOY_HEAD", raising=False)
    ToyHeadHyperParams(model_name="tiny-gpt2")
    assert "TOY_HEAD" in easyedit.alg_dict


def test_our_hyperparameters_are_easyedit_hyperparameters(easyedit):
    from easyedit_plugins import PluginHyperParams

    assert issubclass(PluginHyperParams, easyedit.hyperparams)


@pytest.mark.parametrize("name", ["BLUE", "PAC"])
def test_builtins_come_from_this_distribution(toy_plugin, name):
    assert toy_plugin.methods[name].provider == "easyedit-plugins"
