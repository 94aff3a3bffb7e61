"""Issue 10 §3: bad requests are a RequestError naming the request, before any tensor is built."""

from __future__ import annotations

import pytest

from easyedit_plugins.core.positions import subject_last_index
from easyedit_plugins.core.requests import RequestError, to_edit_request
from easyedit_plugins.methods.blue import BLUEHyperParams, blue_edit
from easyedit_plugins.methods.dmle import DMLEHyperParams, dmle_edit
from easyedit_plugins.selectors.lga.proxy import to_proxy_item
from easyedit_plugins.methods.pac import PACHyperParams, pac_joint_edit, pac_sequential_edit
from easyedit_plugins.testing import tiny_model

GOOD = {"prompt": "The mother tongue of Danielle Darrieux", "subject": "Danielle Darrieux", "target_new": "Tokyo"}
LONG = {"prompt": "The mother tongue of " + "very " * 600 + "Danielle Darrieux", "subject": "Danielle Darrieux",
        "target_new": "Tokyo"}
LONG_TARGET = {**GOOD, "target_new": "Tokyo " * 600}
TWO_PLACEHOLDERS = {"prompt": "{} was born in {}", "subject": "Danielle Darrieux", "target_new": "Tokyo"}


def _blue(stats):
    return BLUEHyperParams(model_name="tiny", device="cpu", layers=[1, 2], **stats)


def _dmle(stats):
    return DMLEHyperParams(model_name="tiny", device="cpu", **stats,
                           stages=[{"name": "all", "forms": ["formula", "description", "instance"], "layers": [1]}])


def _pac():
    return PACHyperParams(model_name="tiny", device="cpu", num_epochs=1)


EDITS = {
    "BLUE": lambda m, t, r, tmp: blue_edit(m, t, r, _blue(tmp)),
    "DMLE": lambda m, t, r, tmp: dmle_edit(m, t, r, _dmle(tmp)),
    "PAC": lambda m, t, r, tmp: pac_joint_edit(m, t, r, _pac()),
    "PAC sequential": lambda m, t, r, tmp: pac_sequential_edit(m, t, r, _pac()),
}


@pytest.mark.parametrize("method", EDITS)
@pytest.mark.parametrize("bad", [LONG, LONG_TARGET], ids=["long prompt", "long target"])
def test_a_request_longer_than_the_model_positions_is_a_request_error(model_tok, stats, method, bad):
    model, tok = model_tok
    with pytest.raises(RequestError, match=r"request 1 \('The mother tongue of.*512 positions"):
        EDITS[method](model, tok, [GOOD, bad], stats)


@pytest.mark.parametrize("method", EDITS)
def test_an_empty_request_list_is_a_request_error(model_tok, stats, method):
    model, tok = model_tok
    with pytest.raises(RequestError, match="no requests"):
        EDITS[method](model, tok, [], stats)


@pytest.mark.parametrize("method", ["BLUE", "DMLE"])
def test_two_placeholders_are_a_request_error_naming_the_request(model_tok, stats, method):
    model, tok = model_tok
    with pytest.raises(RequestError, match=r"request 1 \('\{\} was born in \{\}'\).*2 '\{\}' placeholders"):
        EDITS[method](model, tok, [GOOD, TWO_PLACEHOLDERS], stats)


def test_two_placeholders_in_a_proxy_request_are_an_error():
    with pytest.raises(ValueError, match=r"proxy request 3.*2 '\{\}' placeholders"):
        to_proxy_item(TWO_PLACEHOLDERS, 3)


LITERAL = {"prompt": "In Python, {} makes an empty dict, says Guido van Rossum", "subject": "Guido van Rossum",
           "target_new": "today"}


def test_a_literal_placeholder_in_a_prompt_is_kept(model_tok):
    _, tok = model_tok
    request = to_edit_request(LITERAL)
    assert request.prompt == LITERAL["prompt"]
    head = LITERAL["prompt"][: LITERAL["prompt"].index("Guido")]
    assert subject_last_index(tok, request.template, request.subject) == len(tok(head + "Guido van Rossum")["input_ids"]) - 1


def test_literal_braces_of_any_kind_survive_a_template(model_tok):
    request = to_edit_request({"prompt": "{x} and {0} and {{ near {}", "subject": "Paris", "target_new": "France"})
    assert request.prompt == "{x} and {0} and {{ near Paris"
    _, tok = model_tok
    assert subject_last_index(tok, request.template, "Paris") == len(tok("{x} and {0} and {{ near Paris")["input_ids"]) - 1


def test_a_literal_placeholder_in_a_proxy_prompt_is_kept():
    assert to_proxy_item({**LITERAL, "ground_truth": "x"}, 0).prompt == LITERAL["prompt"]


def test_a_counterfact_template_still_takes_the_subject():
    request = to_edit_request({"prompt": "{}, which is located in", "subject": "Eiffel Tower", "target_new": "Rome"})
    assert request.prompt == "Eiffel Tower, which is located in"


def test_blue_edits_a_prompt_with_literal_braces(stats):
    model, tok = tiny_model("gpt2", layers=4)
    outcome = blue_edit(model, tok, [GOOD, LITERAL], _blue(stats))
    assert set(outcome.originals) == {f"transformer.h.{layer}.mlp.c_proj.weight" for layer in (1, 2)}
