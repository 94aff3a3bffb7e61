"""Target optimisation: batched equals one-by-one, constraints hold, the target is reached."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.hooks import edit_outputs
from easyedit_plugins.core.requests import to_edit_requests
from easyedit_plugins.core.targets import TargetOptions, compute_targets
from easyedit_plugins.testing import tiny_model

from engine_support import SECOND, SUBJECT_FINAL

TEMPLATES = [["{}"], ["Because of that. {}", "I think. {}"]]


@pytest.fixture(scope="module")
def llama():
    return tiny_model("llama", layers=4)


def test_batched_optimisation_equals_one_request_at_a_time(llama):
    model, tok = llama
    spec = arch_spec(model)
    requests = to_edit_requests([SUBJECT_FINAL, SECOND])
    options = TargetOptions(loss_layer=3, steps=8)
    together = compute_targets(model, tok, spec, requests, 1, TEMPLATES, options)
    for index, request in enumerate(requests):
        alone = compute_targets(model, tok, spec, [request], 1, TEMPLATES, options)
        assert torch.allclose(together.targets[index], alone.targets[0], rtol=1e-4, atol=1e-4)
        assert together.steps_taken[index] == alone.steps_taken[0]


def test_clamp_bounds_the_change(llama):
    model, tok = llama
    spec = arch_spec(model)
    result = compute_targets(model, tok, spec, to_edit_requests([SUBJECT_FINAL]), 1, TEMPLATES,
                             TargetOptions(loss_layer=3, steps=15, lr=5.0, clamp_norm_factor=0.1))
    change = (result.targets - result.initial).norm(dim=-1)
    assert torch.all(change <= 0.1 * result.initial.norm(dim=-1) * (1 + 1e-5))


def test_target_makes_the_model_predict_the_new_object_and_leaves_parameters_frozen_state(llama):
    model, tok = llama
    spec = arch_spec(model)
    flags = [p.requires_grad for p in model.parameters()]
    request = to_edit_requests([SUBJECT_FINAL])
    result = compute_targets(model, tok, spec, request, 2, [["{}"]], TargetOptions(loss_layer=3, steps=30, lr=1.0))
    assert [p.requires_grad for p in model.parameters()] == flags  # EasyEdit leaves them False
    assert result.final_loss[0] < 0.5
    inputs = tok(request[0].prompt, return_tensors="pt")
    position = inputs["input_ids"].shape[1] - 1

    def put_target(name, hidden):
        hidden = hidden.clone()
        hidden[0, position] = result.targets[0]
        return hidden

    with torch.no_grad(), edit_outputs(model, [spec.layer_name(2)], put_target):
        logits = model(**inputs).logits[0, -1]
    assert int(logits.argmax()) == tok(" Tokyo", add_special_tokens=False)["input_ids"][0]


def test_early_stop_before_the_step(llama):
    model, tok = llama
    spec = arch_spec(model)
    loose = dataclasses.replace(TargetOptions(loss_layer=3, steps=10), early_stop_loss=1e9)
    result = compute_targets(model, tok, spec, to_edit_requests([SUBJECT_FINAL]), 1, TEMPLATES, loose)
    assert result.steps_taken == [0]
    assert torch.equal(result.targets, result.initial)
