"""Subject positions and the keys/outputs read at them."""

from __future__ import annotations

import pytest
import torch
from tokenizers import processors

from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.hooks import capture_inputs, capture_outputs
from easyedit_plugins.core.positions import subject_last_index, token_ids
from easyedit_plugins.core.readout import read_at_subject
from easyedit_plugins.core.requests import RequestError, to_edit_request
from easyedit_plugins.testing import tiny_model, train_tokenizer


def tokenizer_with_bos():
    tok = train_tokenizer()
    bos = tok.convert_tokens_to_ids("<|endoftext|>")
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", bos)]
    )
    return tok


@pytest.mark.parametrize("make_tok", [train_tokenizer, tokenizer_with_bos], ids=["plain", "bos"])
@pytest.mark.parametrize(
    "template, subject",
    [("The capital of {} is", "France"), ("{} was born in", "Ravel"), ("Where does {} live?", "Danielle Darrieux")],
)
def test_subject_last_index_points_at_the_subjects_last_token(make_tok, template, subject):
    tok = make_tok()
    ids = token_ids(tok, template.format(subject))
    index = subject_last_index(tok, template, subject)
    prefix_end = len(token_ids(tok, template[: template.index("{}")] + subject))
    assert index == prefix_end - 1
    decoded_upto = tok.decode(ids[: index + 1], skip_special_tokens=True)
    assert decoded_upto.endswith(subject)


def test_request_conversion_rules():
    request = to_edit_request({"prompt": "Paris is in {France} near France", "subject": "France", "target_new": "Italy"})
    assert request.template.format(request.subject) == "Paris is in {France} near France"
    assert request.target == " Italy"
    assert to_edit_request({"prompt": "{} speaks", "subject": "X", "target_new": {"str": " French"}}).target == " French"
    with pytest.raises(RequestError, match=r"request 3 \('Paris is'\): subject 'Rome' does not occur"):
        to_edit_request({"prompt": "Paris is", "subject": "Rome", "target_new": "x"}, index=3)
    with pytest.raises(RequestError, match="no 'subject'"):
        to_edit_request({"prompt": "Paris is", "target_new": "x"})


def test_keys_are_averaged_within_then_across_groups_and_outputs_come_from_the_bare_prompt():
    model, tok = tiny_model("gptj", layers=3)
    spec = arch_spec(model)
    request = to_edit_request({"prompt": "The capital of France is", "subject": "France", "target_new": "Rome"})
    templates = [["{}"], ["Because of that. {}", "I think. {}"]]
    readout = read_at_subject(model, tok, spec, key_layer=1, output_layer=2, requests=[request], templates=templates)

    def manual(text_template):
        text = text_template.format(request.template)
        position = subject_last_index(tok, text, request.subject)
        inputs = tok(text.format(request.subject), return_tensors="pt")
        with torch.no_grad(), capture_inputs(model, [spec.mlp_out_name(1)]) as keys, capture_outputs(model, [spec.layer_name(2)]) as outs:
            model(**inputs)
        return keys[spec.mlp_out_name(1)][0, position], outs[spec.layer_name(2)][0, position]

    bare_key, bare_out = manual("{}")
    k1, _ = manual("Because of that. {}")
    k2, _ = manual("I think. {}")
    expected = (bare_key + (k1 + k2) / 2) / 2
    assert torch.allclose(readout.keys[0], expected, atol=1e-5)
    assert torch.allclose(readout.outputs[0], bare_out, atol=1e-5)
