"""Tiny models: offline, deterministic, and with a non-flat output distribution."""

from __future__ import annotations

import pytest
import torch
import transformers

from easyedit_plugins.testing import available_architectures, save_tiny_model, tiny_model

REQUIRED = ["gpt2", "gptj", "llama", "qwen2"]


def next_token_distribution(model, tok, text="The capital of France is"):
    inputs = tok(text, return_tensors="pt")
    with torch.no_grad():
        return model(**inputs).logits[0, -1].softmax(-1)


@pytest.mark.parametrize("arch", available_architectures())
def test_same_seed_same_weights_other_seed_other_weights(arch):
    first, _ = tiny_model(arch, seed=3)
    again, _ = tiny_model(arch, seed=3)
    other, _ = tiny_model(arch, seed=4)
    pairs = list(zip(first.state_dict().values(), again.state_dict().values()))
    assert all(torch.equal(a, b) for a, b in pairs)
    assert not all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), other.state_dict().values()))


@pytest.mark.parametrize("arch", available_architectures())
def test_output_distribution_is_not_flat(arch):
    model, tok = tiny_model(arch)
    probs = next_token_distribution(model, tok)
    uniform = 1.0 / probs.numel()
    # With the default 0.02 initialisation the top token is within a factor ~2 of uniform.
    assert probs.max() > 20 * uniform


def test_required_architectures_are_available():
    assert set(REQUIRED) <= set(available_architectures())


def test_building_does_not_disturb_the_global_random_state():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_model("gpt2", seed=9, layers=1, width=16)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("arch, needle", [("gpt2", "gpt"), ("gptj", "gpt"), ("llama", "llama"), ("qwen2", "qwen2")])
def test_saved_model_loads_the_way_easyedit_loads_it(tmp_path, arch, needle):
    directory = save_tiny_model(arch, tmp_path)
    assert needle in directory.name.lower()
    model = transformers.AutoModelForCausalLM.from_pretrained(directory, local_files_only=True)
    tok = (transformers.GPT2Tokenizer if needle == "gpt" else transformers.AutoTokenizer).from_pretrained(
        directory, local_files_only=True
    )
    reference, reference_tok = tiny_model(arch)
    text = "Danielle Darrieux speaks French"
    assert tok(text)["input_ids"] == reference_tok(text)["input_ids"]
    assert torch.allclose(next_token_distribution(model, tok), next_token_distribution(reference, reference_tok))


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown architecture 'bert'"):
        tiny_model("bert")
