"""The engine's two schedules, checked against re-derivations written out in the test."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from easyedit_plugins.core import locate_edit
from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.hooks import capture_inputs, capture_outputs
from easyedit_plugins.core.locate_edit import EngineOptions, SolverOptions, locate_and_edit
from easyedit_plugins.core.model_state import ModelEditState
from easyedit_plugins.core.positions import subject_last_index
from easyedit_plugins.core.requests import to_edit_requests
from easyedit_plugins.core.targets import TargetOptions, compute_targets
from easyedit_plugins.core.weights import WeightBackup, restore_weights, weight_out_in
from easyedit_plugins.testing import tiny_model

from engine_support import SECOND, SUBJECT_FINAL

TEMPLATES = [["{}"], ["Because of that. {}", "I think. {}"]]
LAYERS = (1, 2, 3)


def random_second_moments(model, spec, layers, seed=0):
    generator = torch.Generator().manual_seed(seed)
    moments = {}
    for layer in layers:
        width = weight_out_in(model.get_submodule(spec.mlp_out_name(layer))).shape[1]
        basis = torch.randn(width, 3 * width, generator=generator, dtype=torch.float64)
        moments[layer] = basis @ basis.T / (3 * width)
    return moments


def activations_by_hand(model, tok, spec, request, layer, output_layer, templates):
    """Keys at ``layer`` (group-averaged) and the bare prompt's output at ``output_layer``."""
    group_means = []
    bare_output = None
    for group in templates:
        keys = []
        for context in group:
            text = context.format(request.template)
            position = subject_last_index(tok, text, request.subject)
            inputs = tok(text.format(request.subject), return_tensors="pt")
            with torch.no_grad(), capture_inputs(model, [spec.mlp_out_name(layer)]) as k, capture_outputs(model, [spec.layer_name(output_layer)]) as h:
                model(**inputs)
            keys.append(k[spec.mlp_out_name(layer)][0, position].double())
            if context == "{}":
                bare_output = h[spec.layer_name(output_layer)][0, position].double()
        group_means.append(torch.stack(keys).mean(0))
    return torch.stack(group_means).mean(0).numpy(), bare_output.numpy()


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_distributed_memit_matches_a_float64_rederivation(arch):
    """EasyEdit's MEMIT loop written out with numpy: same keys, targets and statistics."""
    model, tok = tiny_model(arch, layers=5)
    spec = arch_spec(model)
    requests = to_edit_requests([SUBJECT_FINAL, SECOND])
    target_options = TargetOptions(loss_layer=4, steps=6)
    moments = random_second_moments(model, spec, LAYERS)
    lam = 0.5
    targets = compute_targets(model, tok, spec, requests, LAYERS[-1], TEMPLATES, target_options).targets.double().numpy()

    reference, _ = tiny_model(arch, layers=5)
    expected = {}
    for i, layer in enumerate(LAYERS):
        pairs = [activations_by_hand(reference, tok, spec, r, layer, LAYERS[-1], TEMPLATES) for r in requests]
        K = np.stack([p[0] for p in pairs], axis=1)
        H = np.stack([p[1] for p in pairs], axis=1)
        R = (targets.T - H) / (len(LAYERS) - i)
        update = R @ np.linalg.solve(lam * moments[layer].numpy() + K @ K.T, K).T
        module = reference.get_submodule(spec.mlp_out_name(layer))
        with torch.no_grad():
            weight_out_in(module).add_(torch.from_numpy(update).float())
        expected[layer] = weight_out_in(module).detach().clone()

    options = EngineOptions(LAYERS, "distributed", target_options, SolverOptions("memit", mom2_update_weight=lam))
    backup = WeightBackup(model)
    locate_and_edit(model, tok, spec, requests, TEMPLATES, options, moments.__getitem__, backup)
    for layer in LAYERS:
        actual = weight_out_in(model.get_submodule(spec.mlp_out_name(layer))).detach()
        assert torch.allclose(actual, expected[layer], rtol=1e-4, atol=1e-5), layer
    assert sorted(backup.originals) == sorted(f"{spec.mlp_out_name(l)}.weight" for l in LAYERS)


def test_boundary_edits_only_the_first_and_last_layer_each_with_its_own_target(monkeypatch):
    model, tok = tiny_model("gptj", layers=5)
    spec = arch_spec(model)
    first_weight = f"{spec.mlp_out_name(1)}.weight"
    calls = []
    real = locate_edit.compute_targets

    def spy(model_, tok_, spec_, requests_, layer, templates_, options_):
        already_edited = not torch.equal(model_.get_parameter(first_weight), originals[first_weight])
        calls.append((layer, already_edited))
        return real(model_, tok_, spec_, requests_, layer, templates_, options_)

    originals = {name: p.detach().clone() for name, p in model.named_parameters()}
    monkeypatch.setattr(locate_edit, "compute_targets", spy)
    options = EngineOptions(LAYERS, "boundary", TargetOptions(loss_layer=4, steps=5), SolverOptions("memit", mom2_update_weight=0.5))
    backup = WeightBackup(model)
    reports = locate_and_edit(model, tok, spec, to_edit_requests([SUBJECT_FINAL]), TEMPLATES, options,
                              random_second_moments(model, spec, LAYERS).__getitem__, backup)
    assert calls == [(1, False), (3, True)]  # the last layer's target sees the first layer's edit
    assert [r.layer for r in reports] == [1, 3]
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, originals[name])}
    assert changed == {first_weight, f"{spec.mlp_out_name(3)}.weight"}


def test_boundary_solves_for_the_whole_residual(monkeypatch):
    model, tok = tiny_model("gpt2", layers=5)
    spec = arch_spec(model)
    requests = to_edit_requests([SUBJECT_FINAL])
    options = EngineOptions(LAYERS, "boundary", TargetOptions(loss_layer=4, steps=5), SolverOptions("memit", mom2_update_weight=0.5))
    target = compute_targets(model, tok, spec, requests, 1, TEMPLATES, options.targets).targets[0].double().numpy()
    _, output = activations_by_hand(model, tok, spec, requests[0], 1, 1, TEMPLATES)
    seen = []
    real = locate_edit._solve
    monkeypatch.setattr(locate_edit, "_solve", lambda o, layer, k, r, *a: seen.append(r) or real(o, layer, k, r, *a))
    locate_and_edit(model, tok, spec, requests, TEMPLATES, options, random_second_moments(model, spec, LAYERS).__getitem__, WeightBackup(model))
    assert np.allclose(seen[0][:, 0].double().numpy(), target - output, rtol=1e-4, atol=1e-4)  # not divided by 3


def test_alphaedit_leaves_preserved_keys_alone_and_resets_its_memory_after_a_restore():
    model, tok = tiny_model("gpt2", layers=5)
    spec = arch_spec(model)
    width = weight_out_in(model.get_submodule(spec.mlp_out_name(3))).shape[1]
    generator = torch.Generator().manual_seed(1)
    preserved = torch.randn(width, width // 2, generator=generator, dtype=torch.float64)  # rank width/2
    moment = preserved @ preserved.T / preserved.shape[1]
    options = EngineOptions((3,), "distributed", TargetOptions(loss_layer=4, steps=5),
                            SolverOptions("alphaedit", l2=1e-3, nullspace_threshold=1e-8))
    state = ModelEditState()
    before = weight_out_in(model.get_submodule(spec.mlp_out_name(3))).detach().double().clone()
    backup = WeightBackup(model)
    locate_and_edit(model, tok, spec, to_edit_requests([SUBJECT_FINAL]), TEMPLATES, options, lambda layer: moment, backup, state)
    after = weight_out_in(model.get_submodule(spec.mlp_out_name(3))).detach().double()
    change = after - before
    assert change.norm() > 1e-3
    assert (change @ preserved).norm() < 1e-4 * change.norm() * preserved.norm()
    assert state.moments.layers() == [3]

    restore_weights(model, backup.originals)  # what EasyEdit 2026 does after a non-sequential edit
    state.check_weights(model)
    assert state.moments.layers() == []
