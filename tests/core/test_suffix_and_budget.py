"""Cutting target optimisation down: the cached prefix and the memory budget change no result."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from easyedit_plugins.core import targets as targets_module
from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.held_memory import SavedBytes, requests_within
from easyedit_plugins.core.locate_edit import EngineOptions, SolverOptions, locate_and_edit
from easyedit_plugins.core.requests import to_edit_requests
from easyedit_plugins.core.suffix import prefix_cache_supported, split_rows
from easyedit_plugins.core.targets import TargetOptions, compute_targets
from easyedit_plugins.core.weights import WeightBackup, restore_weights
from easyedit_plugins.testing import tiny_model

from engine_support import SECOND, SUBJECT_FINAL

#: transformers 4.x (the 2023 EasyEdit's environment) recomputes every position instead.
needs_prefix_cache = pytest.mark.skipif(not prefix_cache_supported(), reason="no per-layer KV cache in this transformers")

TEMPLATES = [["{}"], ["Because of that. {}", "I think. {}"]]
#: A multi-token target: the suffix is longer than one position.
LONG_TARGET = dict(SUBJECT_FINAL, target_new="the big city of Paris")
#: Nothing before the subject (without a BOS token): a row with an empty prefix among others.
SUBJECT_FIRST = {"prompt": "I is the capital of", "subject": "I", "target_new": "Tokyo"}


@pytest.fixture(scope="module")
def llama():
    return tiny_model("llama", layers=4)


@needs_prefix_cache
def test_split_rows_layout():
    model, _ = tiny_model("gpt2", layers=2)
    split = split_rows(model, [[5, 6, 7, 8], [9, 10, 11]], starts=[2, 1], ends=[4, 2], padding_id=0, device="cpu")
    assert split.prefix is not None
    assert split.prefix["input_ids"].tolist() == [[5, 6], [0, 9]]  # left-padded to a common length
    assert split.prefix["position_ids"].tolist() == [[0, 1], [0, 0]]
    assert split.suffix["input_ids"].tolist() == [[7, 8], [10, 0]]  # row 1 cut after position 1
    assert split.suffix["position_ids"].tolist() == [[2, 3], [1, 2]]
    assert split.suffix["attention_mask"].tolist() == [[1, 1, 1, 1], [0, 1, 1, 0]]
    assert split.column(0, 3) == 1 and split.column(1, 1) == 0
    nothing_cached = split_rows(model, [[5, 6, 7]], starts=[0], ends=[3], padding_id=0, device="cpu")
    assert nothing_cached.prefix is None and nothing_cached.cache is None


@needs_prefix_cache
@pytest.mark.parametrize("arch", ["gpt2", "gptj", "llama", "qwen2"])
@pytest.mark.parametrize("layer", [1, 3])
def test_cached_prefix_gives_the_targets_of_the_full_recomputation(arch, layer):
    model, tok = tiny_model(arch, layers=4)
    spec = arch_spec(model)
    requests = to_edit_requests([SUBJECT_FINAL, SECOND, LONG_TARGET, SUBJECT_FIRST])
    options = TargetOptions(loss_layer=3, steps=8)
    cached = compute_targets(model, tok, spec, requests, layer, TEMPLATES, options)
    full = compute_targets(model, tok, spec, requests, layer, TEMPLATES, dataclasses.replace(options, cache_prefix=False))
    assert torch.allclose(cached.initial, full.initial, rtol=1e-5, atol=1e-4)
    assert torch.allclose(cached.targets, full.targets, rtol=1e-4, atol=1e-4)
    assert cached.steps_taken == full.steps_taken
    assert cached.final_loss == pytest.approx(full.final_loss, rel=1e-4, abs=1e-5)
    if layer < 3:
        assert cached.held_bytes < full.held_bytes  # the point of it
    else:  # at the loss layer no step runs a layer: nothing to cache
        assert cached.held_bytes == full.held_bytes


def test_budgeted_batches_give_the_targets_of_one_batch(llama, monkeypatch):
    model, tok = llama
    spec = arch_spec(model)
    requests = to_edit_requests([SUBJECT_FINAL, SECOND, LONG_TARGET, SECOND])
    together = compute_targets(model, tok, spec, requests, 1, TEMPLATES, TargetOptions(loss_layer=3, steps=8, requests_per_batch=4))
    sizes: list[int] = []
    original = targets_module._compute_batch

    def record(model, tok, spec, batch, *rest):
        sizes.append(len(batch))
        return original(model, tok, spec, batch, *rest)

    monkeypatch.setattr(targets_module, "_compute_batch", record)
    one_request = together.held_bytes / 4 / 2**20
    budgeted = compute_targets(model, tok, spec, requests, 1, TEMPLATES,
                               TargetOptions(loss_layer=3, steps=8, memory_budget_mib=one_request * 0.5))
    assert sizes == [1, 1, 1, 1]  # a budget below one request's needs: one at a time
    assert torch.allclose(budgeted.targets, together.targets, rtol=1e-4, atol=1e-4)
    assert budgeted.steps_taken == together.steps_taken
    sizes.clear()
    compute_targets(model, tok, spec, requests, 1, TEMPLATES, TargetOptions(loss_layer=3, steps=8, memory_budget_mib=1e6))
    assert sizes == [1, 3]  # the first request is measured, the rest fit in one batch


def test_early_stop_triggers_once_the_loss_is_below_the_threshold(llama):
    model, tok = llama
    spec = arch_spec(model)
    request = to_edit_requests([SUBJECT_FINAL])
    options = TargetOptions(loss_layer=3, steps=40, lr=1.0)
    run_out = compute_targets(model, tok, spec, request, 2, [["{}"]], dataclasses.replace(options, early_stop_loss=0.0))
    threshold = 0.5
    assert run_out.final_loss[0] < threshold  # the loss does fall below it...
    stopped = compute_targets(model, tok, spec, request, 2, [["{}"]], dataclasses.replace(options, early_stop_loss=threshold))
    assert stopped.final_loss[0] < threshold
    assert stopped.steps_taken[0] < run_out.steps_taken[0]  # ...and the optimisation stops there


def test_saved_bytes_counts_what_autograd_keeps_but_not_parameters():
    layer = torch.nn.Linear(64, 64)
    x = torch.randn(32, 64, requires_grad=True)
    with SavedBytes(layer) as held:
        y = torch.tanh(layer(x)).sum()
    y.backward()
    # x (saved for the weight's gradient) and tanh's output; the weight is not counted.
    assert held.bytes == 2 * 32 * 64 * 4
    assert requests_within(100, 30) == 3 and requests_within(10, 30) == 1


@needs_prefix_cache
def test_boundary_edit_is_the_same_with_and_without_the_prefix_cache():
    """BLUE end to end: both boundary layers' updates agree whichever way targets are computed."""
    model, tok = tiny_model("gpt2", layers=5)
    spec = arch_spec(model)
    generator = torch.Generator().manual_seed(0)
    moments = {}
    for layer in (1, 3):
        width = model.get_submodule(spec.mlp_out_name(layer)).weight.shape[0]  # GPT-2's Conv1D: (in, out)
        basis = torch.randn(width, 3 * width, generator=generator, dtype=torch.float64)
        moments[layer] = basis @ basis.T / (3 * width)
    requests = to_edit_requests([SUBJECT_FINAL, LONG_TARGET])
    updates = []
    for cache_prefix in (True, False):
        options = EngineOptions((1, 2, 3), "boundary", TargetOptions(loss_layer=4, steps=6, cache_prefix=cache_prefix),
                                SolverOptions("memit", mom2_update_weight=0.5))
        backup = WeightBackup(model)
        locate_and_edit(model, tok, spec, requests, TEMPLATES, options, moments.__getitem__, backup)
        updates.append({name: model.get_parameter(name).detach() - original for name, original in backup.originals.items()})
        restore_weights(model, backup.originals)
    assert updates[0].keys() == updates[1].keys() and len(updates[0]) == 2
    for name in updates[0]:
        assert torch.allclose(updates[0][name], updates[1][name], rtol=1e-3, atol=1e-4), name
