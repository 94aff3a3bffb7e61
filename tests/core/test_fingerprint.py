"""Model fingerprints: stable for the same weights, different for different ones."""

from __future__ import annotations

import torch

from easyedit_plugins.core.fingerprint import model_fingerprint
from easyedit_plugins.testing import tiny_model


def test_fingerprint_follows_weights_not_names():
    model, _ = tiny_model("gpt2", seed=0, width=32, layers=2)
    again, _ = tiny_model("gpt2", seed=0, width=32, layers=2)
    other, _ = tiny_model("gpt2", seed=1, width=32, layers=2)
    fingerprint = model_fingerprint(model)
    again.config._name_or_path = "/somewhere/else/tiny-gpt2"
    assert model_fingerprint(again) == fingerprint
    assert model_fingerprint(other) != fingerprint
    with torch.no_grad():
        model.transformer.h[1].mlp.c_proj.weight.add_(1e-3)
    assert model_fingerprint(model) != fingerprint


def test_fingerprint_distinguishes_configurations():
    model, _ = tiny_model("llama", seed=0, width=32, layers=2)
    longer, _ = tiny_model("llama", seed=0, width=32, layers=2, rope_theta=500000.0)
    assert model_fingerprint(model) != model_fingerprint(longer)
