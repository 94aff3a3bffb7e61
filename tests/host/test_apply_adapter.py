"""The EasyEdit apply contract the host wraps around every method."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from easyedit_plugins import EditOutcome, LayerSelection, MethodSpec, PluginHyperParams, WeightBackup, hookimpl
from easyedit_plugins.host import register_plugin, unregister_plugin
from easyedit_plugins.host.apply import make_easyedit_apply, weights_copy_for
from easyedit_plugins.testing import tiny_model


@dataclass(kw_only=True)
class BumpHyperParams(PluginHyperParams):
    ALG_NAME = "BUMP"

    layer: int = 0
    layer_selection: str | None = None

    def with_layer_selection(self, selection: LayerSelection) -> "BumpHyperParams":
        return self.replace(layer=selection.layers[0], layer_selection=None)


seen: dict = {}


def bump_edit(model, tok, requests, hparams):
    """Adds 1 to one MLP weight of ``hparams.layer`` per request; records the padding side."""
    seen["padding_side"] = tok.padding_side
    seen["layer"] = hparams.layer
    backup = WeightBackup(model)
    weight = backup.save(f"transformer.h.{hparams.layer}.mlp.c_proj.weight")
    with torch.no_grad():
        weight += len(requests)
    return EditOutcome(backup.originals)


BUMP = MethodSpec("BUMP", BumpHyperParams, bump_edit, batchable=True)


@pytest.fixture
def model_tok():
    model, tok = tiny_model("gpt2", layers=2, width=16)
    tok.padding_side = "left"  # what EasyEdit's editor sets for algorithms it does not know
    return model, tok


def request():
    return {"prompt": "The capital of France is", "subject": "France", "target_new": "Rome"}


def test_right_padding_inside_the_edit_and_restored_after(model_tok):
    model, tok = model_tok
    apply = make_easyedit_apply(BUMP)
    apply(model, tok, [request()], BumpHyperParams(model_name="tiny-gpt2"))
    assert seen["padding_side"] == "right"
    assert tok.padding_side == "left"


def test_unknown_keyword_arguments_are_accepted_and_a_single_request_dict_too(model_tok):
    model, tok = model_tok
    apply = make_easyedit_apply(BUMP)
    edited, _ = apply(model, tok, request(), BumpHyperParams(model_name="m"), train_ds=None, cache_template=None)
    assert edited is model


def test_copy_leaves_the_given_model_untouched(model_tok):
    model, tok = model_tok
    before = {k: v.clone() for k, v in model.state_dict().items()}
    edited, _ = make_easyedit_apply(BUMP)(model, tok, [request()], BumpHyperParams(model_name="m"), copy=True)
    assert edited is not model
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_weights_copy_restores_bit_for_bit(model_tok):
    model, tok = model_tok
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _, weights_copy = make_easyedit_apply(BUMP)(
        model, tok, [request()], BumpHyperParams(model_name="m"), return_orig_weights=True, keep_original_weight=True
    )
    assert list(weights_copy) == ["transformer.h.0.mlp.c_proj.weight"]
    with torch.no_grad():
        for name, value in weights_copy.items():
            model.get_parameter(name)[...] = value
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize(
    "generation, return_orig, keep, expect_copy",
    [
        ("2023", True, False, False),  # 2023 built-ins return {} so edits accumulate
        ("2023", True, True, True),
        ("2026", True, False, True),  # the 2026 editor decides with sequential_edit
        ("2026", False, False, False),
        (None, True, False, True),
    ],
)
def test_weights_copy_semantics_per_editor_generation(generation, return_orig, keep, expect_copy):
    originals = {"w": torch.zeros(1)}
    result = weights_copy_for(originals, return_orig, keep, generation)
    assert (result == originals) if expect_copy else (result == {})


class FirstLayerSelector:
    calls = 0

    @hookimpl
    def easyedit_select_layers(self, selector, model, tok, requests, hparams):
        if selector != "last":
            return None
        FirstLayerSelector.calls += 1
        return LayerSelection(selector="last", layers=[model.config.n_layer - 1])


def test_layer_selection_is_resolved_through_the_hook_once_per_model(model_tok):
    model, tok = model_tok
    plugin = FirstLayerSelector()
    register_plugin(plugin, name="last-layer")
    try:
        apply = make_easyedit_apply(BUMP)
        hparams = BumpHyperParams(model_name="m", layer_selection="last")
        apply(model, tok, [request()], hparams)
        apply(model, tok, [request()], hparams)
        assert seen["layer"] == 1
        assert FirstLayerSelector.calls == 1
    finally:
        unregister_plugin(plugin)


def test_unknown_layer_selector_is_a_clear_error(model_tok):
    model, tok = model_tok
    with pytest.raises(ValueError, match="no layer selector named 'nope'"):
        make_easyedit_apply(BUMP)(model, tok, [request()], BumpHyperParams(model_name="m", layer_selection="nope"))
