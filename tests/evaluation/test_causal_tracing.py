"""Causal tracing on a tiny random model: shapes, positions and the exact recovery at the end."""

from __future__ import annotations

import pytest

from easyedit_plugins.evaluation.causal_tracing import TracingCase, causal_trace, subject_span
from easyedit_plugins.testing import tiny_model

CASES = [
    TracingCase("The mother tongue of Danielle Darrieux is", "Danielle Darrieux", "French"),
    TracingCase("Toko Yasuda plays the", "Toko Yasuda", "guitar"),
    TracingCase("The capital of France", "France", "is"),
]


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def model_and_tok(request):
    return tiny_model(request.param, layers=3, width=32)


def test_subject_span_finds_the_subject_tokens(model_and_tok):
    _, tok = model_and_tok
    for case in CASES:
        first, end = subject_span(tok, case.prompt, case.subject)
        ids = tok(case.prompt)["input_ids"]
        assert tok.decode(ids[first:end]).strip() == case.subject
    assert subject_span(tok, "Paris is big", "Paris")[0] == 0


def test_trace_has_one_effect_per_layer_and_position(model_and_tok):
    model, tok = model_and_tok
    result = causal_trace(model, tok, CASES, samples=3)
    assert result.layers == 3 and len(result.subject_last) == 3 and result.cases == len(CASES)
    assert 0.0 <= result.corrupted <= 1.0 and 0.0 <= result.clean <= 1.0


def test_restoring_the_last_layer_at_the_final_token_recovers_the_clean_run(model_and_tok):
    model, tok = model_and_tok
    result = causal_trace(model, tok, CASES, samples=4, noise_factor=5.0)
    assert result.last[-1] == pytest.approx(result.clean - result.corrupted, abs=1e-6)
    ends_with_subject = causal_trace(model, tok, CASES[2:], samples=4)
    assert ends_with_subject.subject_last == pytest.approx(ends_with_subject.last)


def test_without_noise_nothing_changes_and_a_seed_fixes_the_noise(model_and_tok):
    model, tok = model_and_tok
    silent = causal_trace(model, tok, CASES, samples=2, noise_factor=0.0)
    assert silent.corrupted == pytest.approx(silent.clean, abs=1e-6)
    assert silent.subject_last == pytest.approx([0.0] * 3, abs=1e-6)
    assert causal_trace(model, tok, CASES, samples=2, seed=1) == causal_trace(model, tok, CASES, samples=2, seed=1)
