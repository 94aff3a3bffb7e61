"""Replaying the layers below an edit: same outputs, less work."""

from __future__ import annotations

import pytest
import torch

from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.positions import pad_id, right_padded
from easyedit_plugins.core.prefix import replay_prefix
from easyedit_plugins.testing import tiny_model


@pytest.mark.parametrize("arch", ["gpt2", "gptj", "gpt_neox", "llama", "qwen2"])
def test_replayed_forward_is_bit_for_bit_the_full_one_and_skips_the_prefix(arch):
    model, tok = tiny_model(arch, layers=4)
    spec = arch_spec(model)
    sequences = [tok(t)["input_ids"] for t in ("The capital of France is", "Danielle Darrieux speaks", "I")]
    inputs = right_padded(sequences, pad_id(tok), "cpu").as_kwargs()
    with torch.no_grad():
        full = model(**inputs).logits
    calls = []
    handles = [model.get_submodule(spec.layer_name(i)).register_forward_hook(lambda *a, i=i: calls.append(i)) for i in range(4)]
    try:
        with replay_prefix(model, spec, 2, inputs) as top:
            assert top.shape[:2] == inputs["input_ids"].shape
            calls.clear()
            with torch.no_grad():
                replayed = model(**inputs).logits
            assert calls == [3]  # layers 0-2 were not run again
    finally:
        for handle in handles:
            handle.remove()
    assert torch.equal(full, replayed)
    assert all(type(module).__name__ != "_ReplayedLayer" for module in model.get_submodule(spec.layers_container))
