"""Architecture table and hook utilities."""

from __future__ import annotations

import pytest
import torch

from easyedit_plugins.core.archspec import UnsupportedArchitecture, arch_spec, num_layers
from easyedit_plugins.core.hooks import capture_inputs, capture_outputs, edit_outputs, first_tensor, forward_until, with_first_tensor
from easyedit_plugins.testing import available_architectures, tiny_model


@pytest.mark.parametrize("arch", available_architectures())
def test_every_architecture_resolves_and_its_modules_have_the_expected_shapes(arch):
    model, _ = tiny_model(arch, layers=2)
    spec = arch_spec(model)
    assert num_layers(model, spec) == 2
    width = model.config.hidden_size
    out_proj = model.get_submodule(spec.mlp_out_name(1))
    in_proj = model.get_submodule(spec.mlp_in_name(1))
    out_features = out_proj.weight.shape[1] if type(out_proj).__name__ == "Conv1D" else out_proj.weight.shape[0]
    in_features = in_proj.weight.shape[0] if type(in_proj).__name__ == "Conv1D" else in_proj.weight.shape[1]
    assert out_features == width and in_features == width
    assert (spec.gate is not None) == (arch in {"llama", "mistral", "qwen2", "qwen3", "gemma"})
    assert model.get_submodule(spec.lm_head) is model.get_output_embeddings()


def test_easyedit_module_templates_override_the_table():
    model, _ = tiny_model("gpt2", layers=2)
    spec = arch_spec(model, {"rewrite_module_tmp": "transformer.h.{}.mlp.c_fc", "ln_f_module": "transformer.ln_f"})
    assert spec.mlp_out_name(0) == "transformer.h.0.mlp.c_fc"


def test_wrong_module_template_is_named():
    model, _ = tiny_model("gpt2", layers=2)
    with pytest.raises(UnsupportedArchitecture, match=r"transformer\.h\.0\.mlp\.down_proj"):
        arch_spec(model, {"rewrite_module_tmp": "transformer.h.{}.mlp.down_proj"})


def test_unknown_architecture_asks_for_module_names():
    model, _ = tiny_model("gpt2", layers=1)
    model.config.model_type = "mystery"
    with pytest.raises(UnsupportedArchitecture, match="'mystery' is not known"):
        arch_spec(model)


def test_first_tensor_round_trip():
    hidden = torch.ones(2, 3)
    assert first_tensor(hidden) is hidden
    out = (hidden, "cache")
    replaced = with_first_tensor(out, hidden * 2)
    assert isinstance(replaced, tuple) and replaced[1] == "cache" and torch.equal(replaced[0], hidden * 2)


@pytest.mark.parametrize("arch", ["gpt2", "gptj", "llama"])
def test_capture_matches_output_hidden_states_and_editing_changes_logits(arch):
    model, tok = tiny_model(arch, layers=3)
    spec = arch_spec(model)
    inputs = tok("The capital of France is", return_tensors="pt")
    with torch.no_grad(), capture_outputs(model, [spec.layer_name(1)]) as outputs:
        reference = model(**inputs, output_hidden_states=True)
    assert torch.allclose(outputs[spec.layer_name(1)], reference.hidden_states[2])
    with torch.no_grad(), edit_outputs(model, [spec.layer_name(1)], lambda name, h: h * 0):
        edited = model(**inputs).logits
    assert not torch.allclose(edited, reference.logits)


def test_forward_until_skips_later_modules():
    model, tok = tiny_model("llama", layers=3)
    spec = arch_spec(model)
    inputs = tok("hello world", return_tensors="pt")
    with torch.no_grad(), capture_inputs(model, [spec.mlp_out_name(0), spec.mlp_out_name(2)]) as captured:
        forward_until(model, spec.layer_name(0), dict(inputs))
    assert spec.mlp_out_name(0) in captured and spec.mlp_out_name(2) not in captured
