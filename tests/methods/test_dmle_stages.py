"""DMLE's hyperparameters: stage validation, routing by form, and the layer-selection contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from easyedit_plugins import HyperParamsError, LayerSelection
from easyedit_plugins.methods.dmle import DEFAULT_STAGES, DMLEHyperParams, RoutingError, route_requests

HPARAMS_DIR = Path(__file__).resolve().parents[2] / "hparams" / "DMLE"

F_D = {"name": "f_d", "forms": ["formula", "description"], "layers": [3, 4, 5]}
INS = {"name": "ins", "forms": ["instance"], "layers": [12, 13, 14]}


def hparams(**changes) -> DMLEHyperParams:
    return DMLEHyperParams.from_dict({"model_name": "m", **changes}, source="dmle.yaml")


def test_defaults_are_the_papers_two_stages():
    plan = hparams().stage_plan
    assert [(s.name, s.forms, s.layers) for s in plan] == [
        ("f_d", ("formula", "description"), (3, 4, 5)),
        ("ins", ("instance",), (12, 13, 14)),
    ]
    assert all(s.schedule == "distributed" and s.base_method == "MEMIT" for s in plan)
    assert hparams().stages == list(DEFAULT_STAGES) and hparams().stages is not hparams().stages


@pytest.mark.parametrize("path", sorted(HPARAMS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_file_loads(path):
    loaded = DMLEHyperParams.from_hparams(path)
    assert [stage.name for stage in loaded.stage_plan] == ["f_d", "ins"]


def test_per_stage_schedule_and_base_method():
    plan = hparams(stages=[{**F_D, "schedule": "boundary"}, {**INS, "base_method": "AlphaEdit"}]).stage_plan
    assert (plan[0].schedule, plan[0].solver_kind) == ("boundary", "memit")
    assert (plan[1].schedule, plan[1].solver_kind) == ("distributed", "alphaedit")


@pytest.mark.parametrize(
    "stages, message",
    [
        ([{**F_D, "forms": ["formula", "formulas"]}], r"stages\[0\] \('f_d'\): unknown form\(s\) \['formulas'\]"),
        ([F_D, {**INS, "layers": []}], r"stages\[1\] \('ins'\): layers must be a non-empty list"),
        ([F_D, {**INS, "forms": ["instance", "formula"]}], r"form 'formula' is edited by two stages \('f_d' and 'ins'\)"),
        ([F_D, {**INS, "name": "f_d"}], r"stage names must be distinct"),
        ([{**F_D, "layer": [1]}], r"stages\[0\]: unknown key\(s\) \['layer'\]"),
        ([{"name": "f_d", "forms": ["formula"]}], r"stages\[0\]: missing key\(s\) \['layers'\]"),
        ([{**F_D, "schedule": "uniform"}], r"schedule must be one of distributed, boundary"),
        ([{**F_D, "base_method": "ROME"}], r"base_method must be one of MEMIT, AlphaEdit"),
        ([{**F_D, "layers": [5, 4]}], r"layers must be increasing and distinct"),
        ([{**F_D, "forms": "formula"}], r"forms must be a non-empty list"),
        ([], r"stages must list at least one stage"),
    ],
)
def test_bad_stages_are_refused_with_the_file_the_stage_and_the_key(stages, message):
    with pytest.raises(HyperParamsError, match=message) as caught:
        hparams(stages=stages)
    assert str(caught.value).startswith("dmle.yaml: ")


def test_untagged_form_must_be_a_form_some_stage_edits():
    with pytest.raises(HyperParamsError, match="untagged_form is 'instance' but no stage edits that form"):
        hparams(stages=[F_D])
    with pytest.raises(HyperParamsError, match="untagged_form must be one of"):
        hparams(untagged_form="fact")
    assert hparams(stages=[F_D], untagged_form="formula").untagged_form == "formula"


def test_routing_by_form_keeps_the_order_inside_each_stage():
    plan = hparams().stage_plan
    requests = [{"prompt": "i", "form": "instance"}, {"prompt": "d", "form": "description"},
                {"prompt": "f", "form": "formula"}, {"prompt": "u"}]
    routed = route_requests(requests, plan, untagged_form="instance")
    assert [(stage.name, [r["prompt"] for r in batch]) for stage, batch in routed] == [
        ("f_d", ["d", "f"]), ("ins", ["i", "u"]),
    ]


@pytest.mark.parametrize(
    "request_, untagged, message",
    [
        ({"prompt": "p"}, None, r"request 0 \('p'\) has no 'form' tag and untagged_form is null"),
        ({"prompt": "p", "form": "Formula"}, "instance", r"has form 'Formula'; forms are formula, description, instance"),
    ],
)
def test_unroutable_requests_are_named(request_, untagged, message):
    with pytest.raises(RoutingError, match=message):
        route_requests([request_], hparams().stage_plan, untagged_form=untagged)


def test_a_form_no_stage_edits_is_an_error_not_a_silent_skip():
    plan = hparams(stages=[F_D], untagged_form="formula").stage_plan
    with pytest.raises(RoutingError, match="has form 'instance', which no stage edits"):
        route_requests([{"prompt": "p", "form": "instance"}], plan, untagged_form="formula")


def test_selection_by_stage_name_or_form_alias_replaces_those_stages_only():
    selected = hparams(layer_selection="lga").with_layer_selection(
        LayerSelection(selector="lga", layers={"ins": [9, 8]})
    )
    assert [s.layers for s in selected.stage_plan] == [(3, 4, 5), (8, 9)]
    assert selected.layer_selection is None
    by_forms = hparams().with_layer_selection(
        LayerSelection(selector="lga", layers={"formula+description": [1, 2], "instance": [7]})
    )
    assert [s.layers for s in by_forms.stage_plan] == [(1, 2), (7,)]


@pytest.mark.parametrize(
    "layers, message",
    [
        ({"middle": [7]}, r"returned a group 'middle' that names no stage; accepted names: f_d, formula\+description, ins, instance"),
        ({"ins": [7], "instance": [8]}, r"returned two groups for stage 'ins'"),
        ([4, 5], r"returned one list of layers \[4, 5\], but DMLE has stages \['f_d', 'ins'\]"),
        ({"ins": []}, r"stages\[1\] \('ins'\): layers must be a non-empty list"),
    ],
)
def test_selections_that_do_not_fit_the_stages_are_refused(layers, message):
    with pytest.raises(HyperParamsError, match=message):
        hparams().with_layer_selection(LayerSelection(selector="lga", layers=layers))


def test_a_flat_selection_goes_to_the_only_stage_or_to_flat_selection_stage():
    one = hparams(stages=[F_D], untagged_form="formula").with_layer_selection(LayerSelection("lga", [6, 2]))
    assert one.stage_plan[0].layers == (2, 6)
    chosen = hparams(flat_selection_stage="ins").with_layer_selection(LayerSelection("lga", [10]))
    assert [s.layers for s in chosen.stage_plan] == [(3, 4, 5), (10,)]
    with pytest.raises(HyperParamsError, match="flat_selection_stage 'mid' is not a stage"):
        hparams(flat_selection_stage="mid")
