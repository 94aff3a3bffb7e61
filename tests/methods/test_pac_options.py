"""PAC's own options beyond the paper: ``lr: auto`` and the key-drift remedies.

Each test would fail if its option did nothing or the wrong thing: the drift-budget rule's value
and its use in an edit, values-only training leaving keys bit-exact, the key bound holding where
unbounded training breaks it, the retention step needing a corpus and changing the edit, and the
fine-tuning baseline (every neuron critical, nothing negative, no contrastive step) moving every
neuron.
"""

from __future__ import annotations

import math

import pytest
import torch
from pac_support import REQUESTS, quick_hparams, snapshot

from easyedit_plugins.hparams import HyperParamsError
from easyedit_plugins.methods.pac import PACHyperParams, pac_joint_edit
from easyedit_plugins.methods.pac.hparams import PAPER_DRIFT_BUDGET
from easyedit_plugins.methods.pac.projections import ffn_projections
from easyedit_plugins.testing import tiny_model


def neuron_rows(model, role):
    """name -> neuron-major ``[d_ff, d]`` copy of every key or value projection."""
    return {p.name: p.neuron_major(p.module.weight).detach().clone()
            for p in ffn_projections(model, None, {}) if p.role == role}


@pytest.mark.parametrize("requests, expected", [(3000, 1e-5), (40, 0.18 / (12 * 20)), (41, 0.18 / (12 * 21))])
def test_auto_lr_spends_the_papers_drift_budget(requests, expected):
    hparams = PACHyperParams(model_name="tiny", lr="auto", num_epochs=12, mini_batch_size=2)
    assert hparams.drift_budget == PAPER_DRIFT_BUDGET == 0.18
    assert math.isclose(hparams.learning_rate(requests), expected, rel_tol=1e-12)


def test_a_fixed_lr_is_used_as_given_and_stays_the_default():
    assert PACHyperParams(model_name="tiny").lr == 1e-5
    assert PACHyperParams(model_name="tiny", lr=3e-3).learning_rate(40) == 3e-3


def test_auto_lr_loads_from_a_file_and_bad_values_name_their_key():
    assert PACHyperParams.from_dict({"model_name": "tiny", "lr": "auto"}, source="pac.yaml").lr == "auto"
    for changes, key in [({"lr": "fast"}, "lr"), ({"lr": 0}, "lr"), ({"drift_budget": 0}, "drift_budget"),
                         ({"key_max_drift": -1}, "key_max_drift"), ({"retain_weight": 1.0}, "retain_corpus"),
                         ({"retain_per_step": 0}, "retain_per_step")]:
        with pytest.raises(HyperParamsError, match=key):
            PACHyperParams.from_dict({"model_name": "tiny", **changes}, source="pac.yaml")


def test_an_auto_edit_is_the_fixed_edit_at_the_resolved_lr():
    budget = 0.2
    auto_model, tok = tiny_model("llama", layers=2)
    fixed_model, _ = tiny_model("llama", layers=2)
    outcome = pac_joint_edit(auto_model, tok, REQUESTS, quick_hparams(lr="auto", drift_budget=budget))
    lr = budget / (4 * 2)  # 4 epochs, 3 requests in mini-batches of 2
    assert math.isclose(outcome.info["lr"], lr)
    pac_joint_edit(fixed_model, tok, REQUESTS, quick_hparams(lr=lr))
    for name, parameter in auto_model.named_parameters():
        assert torch.equal(parameter, fixed_model.get_parameter(name)), name


def test_values_only_leaves_every_key_bit_exact_and_moves_values():
    model, tok = tiny_model("llama", layers=2)
    keys, values = neuron_rows(model, "key"), neuron_rows(model, "value")
    pac_joint_edit(model, tok, REQUESTS, quick_hparams(train_keys=False, contrastive_weight=0.5))
    for name, rows in neuron_rows(model, "key").items():
        assert torch.equal(rows, keys[name]), name
    assert any(not torch.equal(rows, values[name]) for name, rows in neuron_rows(model, "value").items())


def largest_relative_key_drift(model, keys):
    return max(float(((rows - keys[name]).norm(dim=1) / keys[name].norm(dim=1)).max())
               for name, rows in neuron_rows(model, "key").items())


def test_key_max_drift_bounds_every_key_where_unbounded_training_exceeds_it():
    radius = 0.01
    drifts = {}
    for bound in (None, radius):
        model, tok = tiny_model("llama", layers=2)
        keys = neuron_rows(model, "key")
        pac_joint_edit(model, tok, REQUESTS, quick_hparams(key_max_drift=bound, num_epochs=6))
        drifts[bound] = largest_relative_key_drift(model, keys)
    assert drifts[None] > 2 * radius  # the check has teeth
    assert 0 < drifts[radius] <= radius * (1 + 1e-5)


def test_retention_step_runs_on_the_corpus_and_changes_the_edit(tmp_path):
    corpus = tmp_path / "unrelated.txt"
    corpus.write_text("The weather today is mild\n\nA river runs through the old town\n", encoding="utf-8")
    results = {}
    for weight in (0.0, 1.0):
        model, tok = tiny_model("llama", layers=2)
        outcome = pac_joint_edit(model, tok, REQUESTS,
                                 quick_hparams(retain_weight=weight, retain_corpus=str(corpus), retain_per_step=2))
        results[weight] = (outcome.info["retain_losses"], snapshot(model))
    assert results[0.0][0] == [] and len(results[1.0][0]) == 4  # one mean per epoch
    assert any(not torch.equal(tensor, results[0.0][1][name]) for name, tensor in results[1.0][1].items())


def test_missing_retain_corpus_is_an_error_naming_the_key(tmp_path):
    model, tok = tiny_model("llama", layers=2)
    hparams = quick_hparams(retain_weight=1.0, retain_corpus=str(tmp_path / "absent.txt"))
    with pytest.raises(HyperParamsError, match="retain_corpus"):
        pac_joint_edit(model, tok, REQUESTS, hparams)


def test_fine_tuning_baseline_changes_every_neuron():
    model, tok = tiny_model("llama", layers=2)
    keys, values = neuron_rows(model, "key"), neuron_rows(model, "value")
    width = model.config.intermediate_size
    pac_joint_edit(model, tok, REQUESTS, quick_hparams(n_critical=width, n_negative=0, contrastive_weight=0.0))
    for before, after in ((keys, neuron_rows(model, "key")), (values, neuron_rows(model, "value"))):
        for name, rows in after.items():
            assert bool((rows != before[name]).any(dim=1).all()), name
