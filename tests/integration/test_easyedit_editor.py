"""Edits through EasyEdit's own ``BaseEditor`` (2023 release or 2026 source tree).

The 2023 release hard-codes ``cuda:{device}``; the ``easyedit_on_cpu`` fixture redirects it
to the CPU (see ``LegacyCudaToCpu`` in conftest.py) and tells which ``device`` to set.
"""

from __future__ import annotations

import pytest
import torch

from easyedit_plugins.testing import save_tiny_model, tiny_model

PROMPT = "The mother tongue of Danielle Darrieux"
SUBJECT = "Danielle Darrieux"
TARGET = "Tokyo"


def snapshot(model):
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def same_weights(model, reference):
    return all(torch.equal(reference[name], value) for name, value in model.state_dict().items())


def top_token(model, tok, prompt=PROMPT):
    inputs = tok(prompt, return_tensors="pt").to(model.device)
    with torch.no_grad():
        return int(model(**inputs).logits[0, -1].argmax())


def target_id(tok):
    return tok(" " + TARGET, add_special_tokens=False)["input_ids"][0]


def make_editor(easyedit, hparams):
    editor = easyedit.base_editor.from_hparams(hparams)
    if not isinstance(hparams.model_name, str):
        editor.model_name = "tiny-model"  # EasyEdit's evaluation calls model_name.lower()
    return editor


def edit(editor, **options):
    return editor.edit(prompts=[PROMPT], target_new=[TARGET], ground_truth=["French"], subject=[SUBJECT], **options)


def test_third_party_method_edits_a_model_loaded_by_path(easyedit, easyedit_on_cpu, toy_plugin, tmp_path):
    from easyedit_toy_plugin import ToyHeadHyperParams

    path = save_tiny_model("gpt2", tmp_path / "models")
    editor = make_editor(easyedit, ToyHeadHyperParams(model_name=str(path), device=easyedit_on_cpu))
    before = snapshot(editor.model)
    kwargs = {"sequential_edit": True} if easyedit.generation == "2026" else {"keep_original_weight": False}
    metrics, model, _ = edit(editor, **kwargs)
    assert metrics[0]["post"]["rewrite_acc"] == [1.0] or metrics[0]["post"]["rewrite_acc"] == 1.0
    assert top_token(model, editor.tok) == target_id(editor.tok)
    assert not same_weights(editor.model, before)  # the edit was kept, as asked


def test_edits_are_restored_when_the_editor_restores(easyedit, easyedit_on_cpu, toy_plugin):
    from easyedit_toy_plugin import ToyHeadHyperParams

    model, tok = tiny_model("gpt2")
    editor = make_editor(easyedit, ToyHeadHyperParams(model_name=(model, tok), device=easyedit_on_cpu))
    before = snapshot(editor.model)
    kwargs = {} if easyedit.generation == "2026" else {"keep_original_weight": True}
    metrics, _, weights_copy = edit(editor, **kwargs)
    post = metrics[0]["post"]["rewrite_acc"]
    assert (post if isinstance(post, float) else post[0]) == 1.0
    head = model.get_output_embeddings().weight
    assert [editor.model.get_parameter(name) is head for name in weights_copy] == [True]  # tied to wte on GPT-2
    assert same_weights(editor.model, before)  # restored bit for bit


def test_legacy_editor_keeps_edits_by_default(easyedit, easyedit_on_cpu, toy_plugin):
    if easyedit.generation != "2023":
        pytest.skip("the 2026 editor restores unless sequential_edit=True (tested above)")
    from easyedit_toy_plugin import ToyHeadHyperParams

    model, tok = tiny_model("gpt2")
    editor = make_editor(easyedit, ToyHeadHyperParams(model_name=(model, tok), device=easyedit_on_cpu))
    _, _, weights_copy = edit(editor)
    assert weights_copy == {}
    assert top_token(editor.model, tok) == target_id(tok)


@pytest.fixture
def corpus(tmp_path):
    from easyedit_plugins.world.tokenizer import training_corpus

    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(training_corpus() * 3), encoding="utf-8")
    return path


@pytest.mark.parametrize("arch", ["gpt2", "gptj", "llama", "qwen2"])
@pytest.mark.parametrize("base", ["MEMIT", "AlphaEdit"])
def test_blue_edits_through_base_editor_and_restores(easyedit, easyedit_on_cpu, arch, base, corpus, tmp_path):
    from easyedit_plugins import BLUEHyperParams

    model, tok = tiny_model(arch, layers=6)
    hparams = BLUEHyperParams(
        # The last critical layer is the model's last: on random weights an update further down
        # also shifts the other prompt positions that later attention layers read.
        model_name=(model, tok), device=easyedit_on_cpu, layers=[3, 4, 5], base_method=base,
        stats_dir=str(tmp_path / "stats"), stats_corpus=str(corpus), mom2_n_samples=200,
        mom2_update_weight=1.0, L2=1e-2, nullspace_threshold=None, nullspace_relative_threshold=0.05,
        # keys averaged over sampled contexts transfer unreliably on random weights; the
        # averaging itself is tested in tests/core
        context_templates=["{}"],
    )
    editor = make_editor(easyedit, hparams)
    before = snapshot(model)
    kwargs = {} if easyedit.generation == "2026" else {"keep_original_weight": True}
    metrics, edited, weights_copy = edit(editor, **kwargs)
    post = metrics[0]["post"]["rewrite_acc"]
    assert (post if isinstance(post, float) else post[0]) == 1.0
    assert sorted(weights_copy) == sorted(
        f"{name}.weight" for name in (hparams.arch(model).mlp_out_name(3), hparams.arch(model).mlp_out_name(5))
    )
    assert same_weights(model, before)


@pytest.mark.parametrize("arch", ["gptj", "llama"])
def test_pac_edits_through_base_editor_and_restores(easyedit, easyedit_on_cpu, arch):
    from pathlib import Path

    from easyedit_plugins import PACHyperParams

    model, tok = tiny_model(arch)
    file = Path(__file__).resolve().parents[2] / "hparams" / "PAC" / f"tiny-{arch}.yaml"
    hparams = PACHyperParams.from_hparams(file).replace(model_name=(model, tok), device=easyedit_on_cpu)
    editor = make_editor(easyedit, hparams)
    before = snapshot(model)
    kwargs = {} if easyedit.generation == "2026" else {"keep_original_weight": True}
    metrics, _, weights_copy = editor.edit(
        prompts=["The capital of France is"], target_new=["Rome"], ground_truth=["Paris"], subject=["France"], **kwargs
    )
    post = metrics[0]["post"]["rewrite_acc"]
    assert (post if isinstance(post, float) else post[0]) == 1.0
    assert weights_copy and all("mlp" in name for name in weights_copy)
    assert same_weights(model, before)
