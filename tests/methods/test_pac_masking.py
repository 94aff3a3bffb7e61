"""Exact masking: a PAC edit changes only the keys and values it selected, bit for bit elsewhere."""

from __future__ import annotations

import pytest
import torch
from pac_support import REQUESTS, changed_parameters, quick_hparams, snapshot  # noqa: F401

from easyedit_plugins.core.weights import restore_weights
from easyedit_plugins.methods.pac import pac_joint_edit
from easyedit_plugins.testing import tiny_model

# Per architecture: key and value modules and, for each weight, the axis that indexes neurons
# in its *stored* layout (nn.Linear is (out, in); GPT-2's Conv1D is (in, out)).
FFN = {
    "llama": ("model.layers.{}.mlp.up_proj", 0, "model.layers.{}.mlp.down_proj", 1),
    "gpt2": ("transformer.h.{}.mlp.c_fc", 1, "transformer.h.{}.mlp.c_proj", 0),
    "gptj": ("transformer.h.{}.mlp.fc_in", 0, "transformer.h.{}.mlp.fc_out", 1),
}


def allowed_weight_changes(arch, layers, touched):
    """parameter name -> (neuron axis, neurons that may differ) for every editable weight."""
    key_tmp, key_axis, value_tmp, value_axis = FFN[arch]
    allowed = {}
    for layer in layers:
        for tmp, axis in ((key_tmp, key_axis), (value_tmp, value_axis)):
            name = tmp.format(layer)
            allowed[f"{name}.weight"] = (axis, set(touched.get(name, [])))
    return allowed


def assert_only_touched_neurons_changed(model, before, allowed):
    for name, parameter in model.named_parameters():
        if name not in allowed:
            assert torch.equal(parameter, before[name]), f"{name} changed"
            continue
        axis, neurons = allowed[name]
        other_axes = tuple(d for d in range(parameter.dim()) if d != axis)
        moved = (parameter != before[name]).any(dim=other_axes).nonzero().flatten().tolist()
        assert moved, f"{name}: nothing changed"
        assert set(moved) <= neurons, f"{name}: neurons {sorted(set(moved) - neurons)} changed without being selected"


@pytest.mark.parametrize("arch", ["llama", "gpt2", "gptj"])
def test_only_selected_keys_and_values_change(arch):
    model, tok = tiny_model(arch, layers=2)
    before = snapshot(model)
    hparams = quick_hparams(n_critical=3, n_negative=2, contrastive_weight=0.5, trace_interval=1, num_epochs=3)
    outcome = pac_joint_edit(model, tok, REQUESTS[:2], hparams)

    touched = outcome.info["touched"]
    assert all(len(ids) > 5 for ids in touched.values()), "re-traces should select different neurons"
    assert_only_touched_neurons_changed(model, before, allowed_weight_changes(arch, range(2), touched))
    if arch == "llama":
        assert not any("gate_proj" in name for name in changed_parameters(model, before))


def test_layers_option_restricts_the_edit():
    model, tok = tiny_model("llama", layers=3)
    before = snapshot(model)
    outcome = pac_joint_edit(model, tok, REQUESTS[:1], quick_hparams(layers=[1], num_epochs=2))
    expected = {"model.layers.1.mlp.up_proj.weight", "model.layers.1.mlp.down_proj.weight"}
    assert changed_parameters(model, before) == expected
    assert set(outcome.originals) == changed_parameters(model, before)


def test_biases_move_only_when_trained_and_then_as_the_authors_do():
    model, tok = tiny_model("gptj", layers=2)
    before = snapshot(model)
    pac_joint_edit(model, tok, REQUESTS[:1], quick_hparams(num_epochs=2))
    assert not any(name.endswith(".bias") for name in changed_parameters(model, before))

    model, tok = tiny_model("gptj", layers=2)
    outcome = pac_joint_edit(model, tok, REQUESTS[:1], quick_hparams(num_epochs=2, train_biases=True, n_critical=4))
    for layer in range(2):
        name = f"transformer.h.{layer}.mlp.fc_in"
        moved = (model.get_parameter(f"{name}.bias") != before[f"{name}.bias"]).nonzero().flatten().tolist()
        assert moved and set(moved) <= set(outcome.info["touched"][name])
        output_bias = f"transformer.h.{layer}.mlp.fc_out.bias"
        assert (model.get_parameter(output_bias) != before[output_bias]).all()  # the whole vector trains
        assert f"{name}.bias" in outcome.originals and output_bias in outcome.originals


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_originals_restore_bit_for_bit(arch):
    model, tok = tiny_model(arch, layers=2)
    before = snapshot(model)
    outcome = pac_joint_edit(model, tok, REQUESTS, quick_hparams(num_epochs=2))
    assert changed_parameters(model, before)
    restore_weights(model, outcome.originals)
    assert not changed_parameters(model, before)


def test_shared_mode_is_exact_mode_plus_stale_momentum():
    """One trace, M = 0. Without the contrastive step both modes are Adam on the same critical
    entries. With it (lambda > 0) there is nothing negative to train: exact mode skips the step,
    while the shared optimiser steps anyway and its momentum moves the critical entries again."""
    settings = dict(n_critical=3, n_negative=0, trace_interval=10, num_epochs=2)
    results = {}
    for mode, weight in (("exact", 0.0), ("shared", 0.0), ("exact", 0.5), ("shared", 0.5)):
        model, tok = tiny_model("llama", layers=2)
        before = snapshot(model)
        hparams = quick_hparams(optimizer_mode=mode, contrastive_weight=weight, **settings)
        outcome = pac_joint_edit(model, tok, REQUESTS[:1], hparams)
        allowed = allowed_weight_changes("llama", range(2), outcome.info["touched"])
        assert_only_touched_neurons_changed(model, before, allowed)
        assert all(not parameter.requires_grad or parameter.grad is None for parameter in model.parameters())
        results[mode, weight] = snapshot(model)
    for name, value in results["exact", 0.0].items():
        torch.testing.assert_close(results["shared", 0.0][name], value, rtol=1e-5, atol=1e-6)
        assert torch.equal(results["exact", 0.5][name], value)
    shared, shared_with_contrast = results["shared", 0.0], results["shared", 0.5]
    assert any(not torch.allclose(shared_with_contrast[name], value) for name, value in shared.items())


def test_exact_mode_keeps_optimiser_state_for_the_selected_neurons_only():
    states = {}
    for mode in ("exact", "shared"):
        model, tok = tiny_model("llama", layers=2)  # d = 64, d_ff = 128
        hparams = quick_hparams(optimizer_mode=mode, n_critical=3, n_negative=2, num_epochs=2)
        states[mode] = pac_joint_edit(model, tok, REQUESTS[:1], hparams).info["optimizer_state_numel"]
    projections, d, d_ff = 4, 64, 128
    assert states["exact"] == projections * (3 + 2) * d * 2  # two moments of (N + M) rows of d
    assert states["shared"] == projections * d_ff * d * 2  # two moments of every whole matrix
