"""PAC's documented special cases.

* lambda = 0: there is no contrastive step, so the negative keys/values never move.
* N = d_ff and M = 0: every neuron is critical at every trace and nothing is negative, so PAC is
  plain Adam fine-tuning of the FFN input/output projections (compared here with a reference loop
  written with ``torch.optim.Adam`` and Hugging Face's loss); the per-neuron moments carried over
  re-traces make it exact across re-traces too.
"""

from __future__ import annotations

import copy

import torch
from pac_support import REQUESTS, quick_hparams, snapshot  # noqa: F401

from easyedit_plugins.methods.pac import pac_joint_edit
from easyedit_plugins.testing import tiny_model


def negative_only_neurons(info):
    """(projection, neuron) pairs in the negative set but not the critical set."""
    return [
        (name, neuron)
        for name, neurons in info["negative"].items()
        for neuron in neurons
        if neuron not in info["critical"][name]
    ]


def neuron_vector(model, name, neuron):
    """Key ``neuron`` (row of up_proj) or value ``neuron`` (column of down_proj) of a Llama layer."""
    weight = model.get_parameter(f"{name}.weight")
    return weight[neuron] if name.endswith("up_proj") else weight[:, neuron]


def test_without_contrastive_loss_negative_entries_never_move():
    moved = {}
    for weight in (0.0, 0.5):
        model, tok = tiny_model("llama", layers=2)
        before = copy.deepcopy(model)
        settings = dict(n_critical=4, n_negative=2, contrastive_weight=weight, trace_interval=10, num_epochs=3)
        outcome = pac_joint_edit(model, tok, REQUESTS[:2], quick_hparams(**settings))
        pairs = negative_only_neurons(outcome.info)
        assert pairs
        moved[weight] = [
            not torch.equal(neuron_vector(model, name, neuron), neuron_vector(before, name, neuron))
            for name, neuron in pairs
        ]
    assert not any(moved[0.0])
    assert all(moved[0.5])  # the check has teeth: with lambda > 0 they do move


def reference_fine_tuning(model, tok, requests, lr, epochs, batch_size):
    """Plain Adam on every up_proj/down_proj weight, mean answer NLL from Hugging Face's loss."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    trainable = [p for name, p in model.named_parameters() if name.endswith(("up_proj.weight", "down_proj.weight"))]
    for parameter in trainable:
        parameter.requires_grad_(True)
    optimizer = torch.optim.Adam(trainable, lr=lr)
    tok.padding_side = "right"
    for _ in range(epochs):
        for start in range(0, len(requests), batch_size):
            chunk = requests[start:start + batch_size]
            encoded = tok([r["prompt"] + " " + r["target_new"] for r in chunk], padding=True, return_tensors="pt")
            labels = encoded["input_ids"].clone()
            for row, request in enumerate(chunk):
                labels[row, : len(tok(request["prompt"])["input_ids"])] = -100
            labels[encoded["attention_mask"] == 0] = -100
            optimizer.zero_grad()
            model(**encoded, labels=labels).loss.backward()
            optimizer.step()


def test_all_neurons_critical_and_none_negative_is_plain_adam_fine_tuning():
    model, tok = tiny_model("llama", layers=2)
    reference = copy.deepcopy(model)
    before = snapshot(model)
    width = model.config.intermediate_size
    hparams = quick_hparams(n_critical=width, n_negative=0, lr=1e-3, num_epochs=4, trace_interval=1, mini_batch_size=2)

    pac_joint_edit(model, tok, REQUESTS, hparams)
    reference_fine_tuning(reference, tok, REQUESTS, lr=1e-3, epochs=4, batch_size=2)

    for name, parameter in model.named_parameters():
        expected = reference.get_parameter(name)
        if name.endswith(("up_proj.weight", "down_proj.weight")):
            assert not torch.equal(parameter, before[name])
            torch.testing.assert_close(parameter, expected, rtol=0, atol=1e-6)
        else:
            assert torch.equal(parameter, before[name])
