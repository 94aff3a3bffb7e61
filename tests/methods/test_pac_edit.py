"""PAC through the host: registration, YAML files, EasyEdit's apply contract, both regimes."""

from __future__ import annotations

import pytest
import torch
from pac_support import (  # noqa: F401 (fixture)
    HPARAMS_DIR,
    REQUESTS,
    changed_parameters,
    predicts_target,
    quick_hparams,
    snapshot,
)

from easyedit_plugins.core.weights import restore_weights
from easyedit_plugins.hparams import HyperParamsError
from easyedit_plugins.host import get_registry
from easyedit_plugins.host.apply import make_easyedit_apply
from easyedit_plugins.plugin import PAC_METHOD
from easyedit_plugins.methods.pac import PACHyperParams, pac_joint_edit, pac_sequential_edit
from easyedit_plugins.methods.pac.projections import ffn_projections
from easyedit_plugins.testing import tiny_model


def test_pac_is_registered_as_a_batchable_method():
    entry = get_registry().methods["PAC"]
    assert entry.spec is PAC_METHOD
    assert PAC_METHOD.batchable and PAC_METHOD.hparams_class is PACHyperParams


@pytest.mark.parametrize(
    "file, arch, biases",
    [("gpt-j-6B", "gptj", True), ("llama2-7b", "llama", False), ("llama3-8b", "llama", False),
     ("tiny-gptj", "gptj", True), ("tiny-llama", "llama", False)],
)
def test_yaml_files_load_and_name_the_right_modules(file, arch, biases):
    hparams = PACHyperParams.from_hparams(HPARAMS_DIR / f"{file}.yaml")
    assert (hparams.n_critical, hparams.n_negative, hparams.contrastive_weight) == (15, 1, 0.1)
    assert (hparams.trace_interval, hparams.num_epochs, hparams.mini_batch_size) == (2, 12, 2)
    assert hparams.lr == (1e-2 if file.startswith("tiny") else 1e-5)
    assert hparams.batch_size == 1 and hparams.layers is None and hparams.train_biases is biases
    model, _ = tiny_model(arch, layers=2, width=16)
    projections = ffn_projections(model, None, hparams.module_overrides())
    assert [p.name for p in projections][:2] == [
        hparams.mlp_in_module_tmp.format(0), hparams.mlp_out_module_tmp.format(0)
    ]


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"n_critical": 0}, "n_critical"),
        ({"n_negative": -1}, "n_negative"),
        ({"trace_interval": 0}, "trace_interval"),
        ({"contrastive_weight": -0.1}, "contrastive_weight"),
        ({"layers": []}, "layers"),
        ({"optimizer_mode": "adam"}, "optimizer_mode"),
    ],
)
def test_invalid_values_name_their_key(changes, key):
    with pytest.raises(HyperParamsError, match=key):
        PACHyperParams.from_dict({"model_name": "tiny", **changes}, source="pac.yaml")


@pytest.mark.parametrize("arch, file", [("gptj", "tiny-gptj"), ("llama", "tiny-llama")])
def test_apply_wrapper_makes_the_target_the_argmax_and_weights_copy_restores(arch, file):
    model, tok = tiny_model(arch)
    tok.padding_side = "left"  # what EasyEdit sets for algorithms it does not know
    hparams = PACHyperParams.from_hparams(HPARAMS_DIR / f"{file}.yaml")
    request = REQUESTS[0]
    before = snapshot(model)
    assert not predicts_target(model, tok, request)

    apply = make_easyedit_apply(PAC_METHOD)
    edited, weights_copy = apply(model, tok, [request], hparams, return_orig_weights=True, keep_original_weight=True)

    assert edited is model and tok.padding_side == "left"
    assert predicts_target(model, tok, request)
    assert set(weights_copy) == changed_parameters(model, before)
    restore_weights(model, weights_copy)
    assert not changed_parameters(model, before)


def test_joint_edit_of_several_requests():
    model, tok = tiny_model("llama")
    assert not any(predicts_target(model, tok, r) for r in REQUESTS)
    outcome = pac_joint_edit(model, tok, REQUESTS, quick_hparams(num_epochs=8, shuffle=True))
    assert all(predicts_target(model, tok, r) for r in REQUESTS)
    assert outcome.info["edit_losses"][-1] < outcome.info["edit_losses"][0]


def test_sequential_edits_build_on_each_other():
    model, tok = tiny_model("llama")
    before = snapshot(model)
    apply = make_easyedit_apply(PAC_METHOD)
    hparams = quick_hparams(num_epochs=8)
    apply(model, tok, [REQUESTS[0]], hparams)
    after_first = snapshot(model)
    _, weights_copy = apply(model, tok, [REQUESTS[1]], hparams, return_orig_weights=True, keep_original_weight=True)
    for name, tensor in weights_copy.items():
        assert torch.equal(tensor, after_first[name])  # the second edit started from the first's result
    assert predicts_target(model, tok, REQUESTS[1])
    after_second = snapshot(model)

    restore_weights(model, before)
    outcome = pac_sequential_edit(model, tok, REQUESTS[:2], hparams)
    assert len(outcome.info["edits"]) == 2
    assert not changed_parameters(model, after_second)  # the same two consecutive edits
    restore_weights(model, outcome.originals)
    assert not changed_parameters(model, before)
