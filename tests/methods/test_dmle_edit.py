"""DMLE's edit on a tiny GPT-2: routing to layer groups, stage order, atomicity, the host wrapper."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import torch

from easyedit_plugins import LayerSelection, hookimpl
from easyedit_plugins.core.locate_edit import EngineOptions, locate_and_edit
from easyedit_plugins.core.requests import to_edit_requests
from easyedit_plugins.core.weights import WeightBackup
from easyedit_plugins.host import get_registry, register_plugin, unregister_plugin
from easyedit_plugins.host.install import apply_function
from easyedit_plugins.methods.dmle import DMLEHyperParams, dmle_edit
from easyedit_plugins.methods.dmle import edit as dmle_edit_module
from easyedit_plugins.testing import tiny_model
from easyedit_plugins.world.tokenizer import training_corpus

FORMULA = {"prompt": "The formula for the area of a circle", "subject": "circle", "target_new": "Rome", "form": "formula"}
DESCRIPTION = {"prompt": "The mother tongue of Danielle Darrieux", "subject": "Danielle Darrieux",
               "target_new": "Tokyo", "form": "description"}
INSTANCE = {"prompt": "Toko Yasuda plays the piano and Toko Yasuda", "subject": "Toko Yasuda",
            "target_new": "Berlin", "form": "instance"}
STAGE_LAYERS = {"f_d": [0, 1], "ins": [3]}


def c_proj(layer: int) -> str:
    return f"transformer.h.{layer}.mlp.c_proj.weight"


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def stats(tmp_path_factory) -> dict[str, str]:
    """A corpus and a statistics folder shared by the module (C0 is computed once per model)."""
    folder = tmp_path_factory.mktemp("dmle-stats")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(training_corpus() * 3), encoding="utf-8")
    return {"stats_dir": str(folder / "stats"), "stats_corpus": str(corpus)}


@pytest.fixture
def model_tok():
    return tiny_model("gpt2", layers=4)


def make_hparams(stats: dict[str, str], **changes: Any) -> DMLEHyperParams:
    settings: dict[str, Any] = dict(
        model_name="tiny", device="cpu", mom2_n_samples=200, mom2_update_weight=1.0, v_num_grad_steps=10,
        stages=[{"name": "f_d", "forms": ["formula", "description"], "layers": STAGE_LAYERS["f_d"]},
                {"name": "ins", "forms": ["instance"], "layers": STAGE_LAYERS["ins"]}],
        **stats,
    )
    settings.update(changes)
    return DMLEHyperParams(**settings)


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def changed(model: torch.nn.Module, before: dict[str, torch.Tensor]) -> set[str]:
    return {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}


@torch.no_grad()
def predicts_target(model: torch.nn.Module, tok: Any, request: dict[str, Any]) -> bool:
    prompt = tok(request["prompt"])["input_ids"]
    first = tok(request["prompt"] + " " + request["target_new"])["input_ids"][len(prompt)]
    return int(model(torch.tensor([prompt])).logits[0, -1].argmax()) == first


@pytest.mark.parametrize(
    "requests, layers",
    [
        ([FORMULA, DESCRIPTION], STAGE_LAYERS["f_d"]),
        ([INSTANCE], STAGE_LAYERS["ins"]),
        ([{k: v for k, v in INSTANCE.items() if k != "form"}], STAGE_LAYERS["ins"]),  # untagged: instance
        ([INSTANCE, FORMULA, DESCRIPTION], STAGE_LAYERS["f_d"] + STAGE_LAYERS["ins"]),
    ],
    ids=["formula+description", "instance", "untagged", "all three"],
)
def test_each_form_changes_only_its_stages_layers(model_tok, stats, requests, layers):
    model, tok = model_tok
    before = snapshot(model)
    outcome = dmle_edit(model, tok, requests, make_hparams(stats))
    assert changed(model, before) == {c_proj(layer) for layer in layers}
    assert set(outcome.originals) == {c_proj(layer) for layer in layers}
    assert all(torch.equal(value, before[name]) for name, value in outcome.originals.items())


def test_the_edit_makes_each_prompt_predict_its_target(model_tok, stats):
    model, tok = model_tok
    requests = [FORMULA, DESCRIPTION, INSTANCE]
    assert not any(predicts_target(model, tok, r) for r in requests)
    # 25 steps (MEMIT's): transformers versions initialise the random model differently, and
    # with some of them 10 steps are not enough for every prompt.
    outcome = dmle_edit(model, tok, requests, make_hparams(stats, v_num_grad_steps=25))
    assert all(predicts_target(model, tok, r) for r in requests)
    # Each stage reports the final target loss of each of its requests, per edited layer.
    for stage, count in zip(outcome.info["stages"], (2, 1)):
        for report in stage["reports"]:
            assert len(report["target_loss"]) == len(report["target_steps"]) == count
            assert all(0 <= loss < 10 for loss in report["target_loss"])


def test_stage_two_is_computed_on_the_model_carrying_stage_one(model_tok, stats, monkeypatch):
    model, tok = model_tok
    before = snapshot(model)
    calls = []

    def spy(model, tok, spec, requests, templates, options, *args, **kwargs):
        calls.append({"prompts": [r.prompt for r in requests], "layers": options.layers,
                      "stage_one_applied": {c_proj(l) for l in STAGE_LAYERS["f_d"]} <= changed(model, before)})
        return locate_and_edit(model, tok, spec, requests, templates, options, *args, **kwargs)

    monkeypatch.setattr(dmle_edit_module, "locate_and_edit", spy)
    dmle_edit(model, tok, [INSTANCE, FORMULA, DESCRIPTION], make_hparams(stats))
    assert calls == [
        {"prompts": [FORMULA["prompt"], DESCRIPTION["prompt"]], "layers": (0, 1), "stage_one_applied": False},
        {"prompts": [INSTANCE["prompt"]], "layers": (3,), "stage_one_applied": True},
    ]


def test_dmle_equals_two_engine_batch_edits_in_a_row(stats):
    """Each stage is one MEMIT batch edit of the shared engine, the second on the edited model."""
    hparams = make_hparams(stats)
    model, tok = tiny_model("gpt2", layers=4)
    dmle_edit(model, tok, [FORMULA, DESCRIPTION, INSTANCE], hparams)

    reference, tok = tiny_model("gpt2", layers=4)
    spec = hparams.arch(reference)
    moments = hparams.second_moment_source(reference, tok, spec, [0, 1, 3])
    backup = WeightBackup(reference)
    for layers, batch in (((0, 1), [FORMULA, DESCRIPTION]), ((3,), [INSTANCE])):
        options = EngineOptions(layers=layers, schedule="distributed", targets=hparams.target_options(reference, spec),
                                solver=hparams.solver_options("memit"))
        locate_and_edit(reference, tok, spec, to_edit_requests(batch), hparams.templates(reference, tok), options,
                        moments, backup)
    assert all(torch.equal(p, reference.get_parameter(n)) for n, p in model.named_parameters())


def test_per_stage_boundary_schedule_and_alphaedit(model_tok, stats):
    model, tok = model_tok
    before = snapshot(model)
    hparams = make_hparams(
        stats, nullspace_threshold=None, nullspace_relative_threshold=1e-2, L2=1.0,
        stages=[{"name": "f_d", "forms": ["formula", "description"], "layers": [0, 1, 2], "schedule": "boundary"},
                {"name": "ins", "forms": ["instance"], "layers": [3], "base_method": "AlphaEdit"}],
    )
    outcome = dmle_edit(model, tok, [FORMULA, INSTANCE], hparams)
    assert changed(model, before) == {c_proj(0), c_proj(2), c_proj(3)}
    assert [stage["layers"] for stage in outcome.info["stages"]] == [[0, 2], [3]]


def test_a_failing_stage_leaves_the_model_untouched(model_tok, stats, monkeypatch):
    model, tok = model_tok
    before = snapshot(model)
    calls = []

    def fail_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("stage two broke")
        return locate_and_edit(*args, **kwargs)

    monkeypatch.setattr(dmle_edit_module, "locate_and_edit", fail_second)
    with pytest.raises(RuntimeError, match="stage two broke"):
        dmle_edit(model, tok, [FORMULA, INSTANCE], make_hparams(stats))
    assert changed(model, before) == set()


def test_layers_beyond_the_model_are_named(model_tok, stats):
    model, tok = model_tok
    hparams = make_hparams(stats, stages=[{"name": "f_d", "forms": ["formula", "description"], "layers": [1]},
                                          {"name": "ins", "forms": ["instance"], "layers": [12, 13]}])
    with pytest.raises(ValueError, match=r"stage 'ins' key 'layers' names layer\(s\) \[12, 13\] outside the model: it has 4 layers"):
        dmle_edit(model, tok, [FORMULA], hparams)


class StageSelector:
    @hookimpl
    def easyedit_select_layers(self, selector, model, tok, requests, hparams):
        return LayerSelection(selector, {"f_d": [1], "ins": [2]}) if selector == "per-form" else None


def test_through_the_hosts_apply_wrapper_with_a_layer_selector(model_tok, stats):
    model, tok = model_tok
    tok.padding_side = "left"  # what EasyEdit's editor sets for methods it does not know
    before = snapshot(model)
    plugin = StageSelector()
    register_plugin(plugin, name="per-form-selector")
    try:
        apply = apply_function(get_registry().method("DMLE"))
        hparams = make_hparams(stats, layer_selection="per-form")
        edited, weights_copy = apply(model, tok, [FORMULA, DESCRIPTION, INSTANCE], hparams,
                                     return_orig_weights=True, keep_original_weight=True, train_ds=None)
    finally:
        unregister_plugin(plugin)
    assert edited is model and tok.padding_side == "left"
    assert set(weights_copy) == changed(model, before) == {c_proj(1), c_proj(2)}
    with torch.no_grad():
        for name, value in weights_copy.items():
            model.get_parameter(name).copy_(value)
    assert changed(model, before) == set()
