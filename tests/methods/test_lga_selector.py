"""The ``lga`` layer selector through the host: a BLUE edit, proxy sources, DMLE stage groups."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from easyedit_plugins import BLUEHyperParams
from easyedit_plugins.host import get_plugin_manager, get_registry
from easyedit_plugins.host.apply import make_easyedit_apply
from easyedit_plugins.plugin import BLUE_METHOD
from easyedit_plugins.methods.dmle import DMLEHyperParams
from easyedit_plugins.selectors.lga import (
    LGAHyperParams,
    ProxyDataError,
    choose_layers,
    lga_select_layers,
    load_proxy_requests,
)
from easyedit_plugins.testing import tiny_model

# On random weights, attention does not carry a mid-prompt subject to the answer position:
# every subject ends its prompt.
FACTS = [
    ("The mother tongue of Danielle Darrieux", "Danielle Darrieux", "English", "French"),
    ("The home town of Toko Yasuda", "Toko Yasuda", "Berlin", "Tokyo"),
    ("The instrument played by Ravel", "Ravel", "trumpet", "piano"),
]


def fact_requests():
    return [{"prompt": p, "subject": s, "target_new": new, "ground_truth": old} for p, s, new, old in FACTS]


def rule_requests():
    forms = ["formula", "description", "instance"]
    return [{"prompt": f"The {form} of the blend rule for blend{n}", "subject": f"blend{n}",
             "target_new": f"W = p + {n}", "ground_truth": f"W = p * {n}", "form": form}
            for n in range(2) for form in forms]


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def blue_settings(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"{p} is {old}." for p, _, _, old in FACTS * 10), encoding="utf-8")
    return {"model_name": "tiny-gpt2", "device": "cpu", "stats_dir": str(tmp_path / "stats"),
            "stats_corpus": str(corpus), "mom2_n_samples": 30, "mom2_update_weight": 0.01,
            "v_num_grad_steps": 10, "context_templates": ["{}"]}


def test_lga_is_a_registered_layer_selector():
    spec = get_registry().layer_selectors["lga"].spec
    assert spec.hparams_class is LGAHyperParams and LGAHyperParams.ALG_NAME == "LGA"
    hook = get_plugin_manager().hook.easyedit_select_layers
    assert hook(selector="other", model=None, tok=None, requests=[], hparams=None) is None


def test_the_selector_drives_a_blue_edit_and_saves_its_choice(tmp_path, blue_settings):
    model, tok = tiny_model("gpt2", layers=6)
    config = {"selection": "window", "num_layers": 3, "output_dir": str(tmp_path / "lga")}
    hparams = BLUEHyperParams(layers=[0, 5], layer_selection="lga", layer_selection_config=config, **blue_settings)
    expected = lga_select_layers(model, tok, fact_requests(), hparams)
    assert expected.selector == "lga" and len(expected.layers) == 3

    # keep_original_weight: the 2023 editor's methods return originals only when asked to keep them
    _, weights_copy = make_easyedit_apply(BLUE_METHOD)(model, tok, fact_requests(), hparams, return_orig_weights=True,
                                                       keep_original_weight=True)

    first, last = expected.layers[0], expected.layers[-1]
    assert sorted(weights_copy) == [f"transformer.h.{first}.mlp.c_proj.weight", f"transformer.h.{last}.mlp.c_proj.weight"]
    (saved,) = (tmp_path / "lga").glob("lga-*.json")
    record = json.loads(saved.read_text())
    assert record["layers"] == expected.layers and len(record["scores"]["all"]) == 6
    assert record["details"]["groups"]["all"]["best"] in expected.layers


def test_settings_from_a_yaml_file_with_a_json_proxy_set(tmp_path):
    model, tok = tiny_model("gpt2", layers=4)
    proxy = tmp_path / "proxy.json"
    proxy.write_text(json.dumps(fact_requests()), encoding="utf-8")
    settings = tmp_path / "lga.yaml"
    settings.write_text(yaml.safe_dump({"proxy_data": str(proxy), "selection": "topk", "num_layers": 2}))
    hparams = BLUEHyperParams(model_name="m", layers=[1, 2], layer_selection="lga",
                              layer_selection_config=str(settings))
    selection = lga_select_layers(model, tok, [], hparams)
    assert selection.details["proxy_source"] == str(proxy) and selection.details["proxy_items"] == 3
    defaults = LGAHyperParams()
    assert selection.layers == choose_layers(selection.scores["all"], "topk", 2, tukey_k=defaults.tukey_k,
                                             rank_by=defaults.rank_by).layers


def test_stage_groups_are_keyed_by_stage_name_and_scored_on_their_forms():
    model, tok = tiny_model("gpt2", layers=6)
    stages = [{"name": "f_d", "forms": ["formula", "description"], "layers": [0, 1]},
              {"name": "ins", "forms": ["instance"], "layers": [2, 3, 4]}]
    hparams = DMLEHyperParams(model_name="m", stages=stages, layer_selection="lga",
                              layer_selection_config={"tukey_k": None})
    selection = get_plugin_manager().hook.easyedit_select_layers(
        selector="lga", model=model, tok=tok, requests=rule_requests(), hparams=hparams
    )
    assert sorted(selection.layers) == ["f_d", "ins"]
    assert len(selection.layers["f_d"]) == 2 and len(selection.layers["ins"]) == 3
    assert selection.details["groups"]["f_d"]["proxy_items"] == 4
    assert selection.details["groups"]["ins"]["proxy_items"] == 2
    for name, size in (("f_d", 2), ("ins", 3)):
        assert selection.layers[name] == choose_layers(selection.scores[name], "window", size, tukey_k=None,
                                                       rank_by=LGAHyperParams().rank_by).layers
    edited = hparams.with_layer_selection(selection)
    assert [stage["layers"] for stage in edited.stages] == [selection.layers["f_d"], selection.layers["ins"]]


def test_stage_groups_need_form_tagged_requests():
    model, tok = tiny_model("gpt2", layers=3)
    stages = [{"name": "f_d", "forms": ["formula", "description"], "layers": [0]},
              {"name": "ins", "forms": ["instance"], "layers": [1]}]
    hparams = DMLEHyperParams(model_name="m", stages=stages, untagged_form=None, layer_selection="lga")
    with pytest.raises(ProxyDataError, match="empty for the forms"):
        lga_select_layers(model, tok, fact_requests(), hparams)


def _rule_case(case_id, form, n):
    case = {
        "case_id": case_id, "subject": f"blend{n}", "rule": f"weight of blend{n}",
        "prompt": f"The {form} of the weight of blend{n}", "target_new": "W = p + q.",
        "rephrase_prompt": f"Say the {form} of the weight of blend{n}.",
        "Rule_Understanding": {"prompt": "The weight is", "target_new": "W = p + q."},
        "Instance": {"prompt": [f"blend{n} of 1 and 2 weighs"], "target_new": ["3"]},
        "locality": {"neighborhood": {"prompt": ["The sky is"], "ground_truth": ["blue."]},
                     "distracting": {"prompt": ["Grass is"], "ground_truth": ["green."]}},
    }
    if form == "instance":
        case["Rule_Understanding"] = {"prompt": ["The weight is"], "target_new": ["W = p + q."]}
    else:
        case["ground_truth"] = ["W = p * q."]
    return case


def test_ruleedit_folders_are_a_proxy_source_and_instances_without_ground_truth_are_predicted(tmp_path):
    for n in (1, 2):
        folder = tmp_path / "RuleEdit-200" / str(n)
        folder.mkdir(parents=True)
        cases = [_rule_case(0, "formula", n), _rule_case(1, "description", n)]
        (folder / "f_d.json").write_text(json.dumps(cases), encoding="utf-8")
        (folder / "ins.json").write_text(json.dumps([_rule_case(0, "instance", n)]), encoding="utf-8")
    requests = load_proxy_requests(str(tmp_path / "RuleEdit-200"))
    assert [r["form"] for r in requests] == ["formula", "description", "instance"] * 2
    model, tok = tiny_model("gpt2", layers=3)
    hparams = DMLEHyperParams(model_name="m", stages=[{"name": "f_d", "forms": ["formula", "description"], "layers": [0]},
                                                      {"name": "ins", "forms": ["instance"], "layers": [1]}],
                              layer_selection="lga", layer_selection_config={"proxy_data": str(tmp_path / "RuleEdit-200")})
    selection = lga_select_layers(model, tok, [], hparams)
    assert selection.details["predicted_original_answers"] == 2  # the two instance cases
    assert all(len(layers) == 1 for layers in selection.layers.values())


def test_bad_proxy_sources_are_named():
    with pytest.raises(ProxyDataError, match="missing.json: proxy data file not found"):
        load_proxy_requests("missing.json")
    with pytest.raises(ProxyDataError, match="expected world:<preset>/<arch>"):
        load_proxy_requests("world:test")
