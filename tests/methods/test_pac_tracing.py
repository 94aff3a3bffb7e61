"""PAC's traced critical and negative sets against a brute-force reference.

The reference is written out here independently of the package: Hugging Face's own causal-LM
loss (labels -100 on the prompt and padding), ``.grad`` of the full FFN weights accumulated over
the mini-batches, and the z-score formula spelled out on the paper's ``[d, d_ff]`` layout.
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pac_support import REQUESTS, quick_hparams

from easyedit_plugins.methods.pac import pac_joint_edit, neuron_importance
from easyedit_plugins.methods.pac.tracing import importance_from_factors
from easyedit_plugins.testing import tiny_model

# Per architecture: (key module, value module, key weight stored [d_ff, d]?, value weight stored [d_ff, d]?)
FFN_LAYOUT = {
    "llama": ("model.layers.{}.mlp.up_proj", "model.layers.{}.mlp.down_proj", True, False),
    "gpt2": ("transformer.h.{}.mlp.c_fc", "transformer.h.{}.mlp.c_proj", False, True),  # Conv1D: (in, out)
    "gptj": ("transformer.h.{}.mlp.fc_in", "transformer.h.{}.mlp.fc_out", True, False),
}


def reference_gradients(model, tok, requests, batch_size, names):
    """``.grad`` of the named weights, summed over mini-batches of HF's mean answer NLL."""
    model = copy.deepcopy(model)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    weights = {name: model.get_parameter(f"{name}.weight").requires_grad_(True) for name in names}
    tok.padding_side = "right"
    for start in range(0, len(requests), batch_size):
        chunk = requests[start:start + batch_size]
        encoded = tok([r["prompt"] + " " + r["target_new"] for r in chunk], padding=True, return_tensors="pt")
        labels = encoded["input_ids"].clone()
        for row, request in enumerate(chunk):
            labels[row, : len(tok(request["prompt"])["input_ids"])] = -100
        labels[encoded["attention_mask"] == 0] = -100
        model(**encoded, labels=labels).loss.backward()
    return {name: weight.grad for name, weight in weights.items()}


def paper_importance(gradient_d_by_dff: torch.Tensor) -> torch.Tensor:
    """z-score each row across the d_ff neurons (unbiased std), |.|, mean over rows."""
    n = gradient_d_by_dff.shape[1]
    mean = gradient_d_by_dff.sum(dim=1, keepdim=True) / n
    std = (((gradient_d_by_dff - mean) ** 2).sum(dim=1, keepdim=True) / (n - 1)).sqrt()
    return ((gradient_d_by_dff - mean) / std).abs().mean(dim=0)


@pytest.mark.parametrize("arch, batch_size", [("llama", 2), ("gpt2", 1), ("gptj", 3)])
def test_traced_paths_match_brute_force(arch, batch_size):
    model, tok = tiny_model(arch, layers=2)
    key_tmp, value_tmp, key_dff_first, value_dff_first = FFN_LAYOUT[arch]
    stored_dff_first = {key_tmp.format(layer): key_dff_first for layer in range(2)}
    stored_dff_first.update({value_tmp.format(layer): value_dff_first for layer in range(2)})
    gradients = reference_gradients(model, tok, REQUESTS, batch_size, list(stored_dff_first))
    n_critical, n_negative = 15, 3

    outcome = pac_joint_edit(
        model, tok, REQUESTS,
        quick_hparams(num_epochs=1, n_critical=n_critical, n_negative=n_negative, mini_batch_size=batch_size),
    )

    for name, gradient in gradients.items():
        arranged = gradient.T if stored_dff_first[name] else gradient  # the paper's [d, d_ff]
        importance = paper_importance(arranged)
        ranking = torch.argsort(importance, descending=True).tolist()
        assert set(outcome.info["critical"][name]) == set(ranking[:n_critical]), name
        assert set(outcome.info["negative"][name]) == set(ranking[-n_negative:]), name


def test_importance_of_a_constant_dimension_is_zero_not_nan():
    gradient = torch.randn(6, 4)
    gradient[:, 2] = 3.0  # one hidden dimension with the same gradient for every neuron
    importance = neuron_importance(gradient)
    assert torch.isfinite(importance).all()
    expected = paper_importance(gradient[:, [0, 1, 3]].T) * 3 / 4
    torch.testing.assert_close(importance, expected)


@settings(max_examples=30)
@given(tokens=st.integers(2, 9), neurons=st.integers(2, 12), hidden=st.integers(1, 10), block=st.integers(1, 12),
       seed=st.integers(0, 2**16))
def test_importance_from_factors_equals_the_whole_matrix(tokens, neurons, hidden, block, seed):
    generator = torch.Generator().manual_seed(seed)
    neuron_rows = torch.randn(tokens, neurons, generator=generator)
    hidden_rows = torch.randn(tokens, hidden, generator=generator)
    hidden_rows[:, 0] = 0.0  # a hidden dimension with no gradient: z-scores 0, as in the whole matrix
    whole = neuron_importance(neuron_rows.T @ hidden_rows)
    torch.testing.assert_close(importance_from_factors(neuron_rows, hidden_rows, block=block), whole,
                               rtol=1e-4, atol=1e-5)
