"""Token accuracy against a brute-force reference computed one pair at a time, unpadded."""

from __future__ import annotations

import math

import pytest
import torch

from easyedit_plugins.evaluation import (
    TargetTokens,
    prediction_agreement,
    target_token_predictions,
    token_accuracy,
)
from easyedit_plugins.testing import tiny_model

PROMPTS = [
    "The capital of France is",
    "A rectangle has a length of 3 and a width of 4. Its area is",
    "Which city is the capital of Germany?",
    "Hi",
]
TARGETS = ["Paris", "A = 3 * 4 = 12.", "Berlin is the capital", "there"]


@pytest.fixture(scope="module")
def gpt2():
    return tiny_model("gpt2")


@torch.no_grad()
def reference(model, tok, prompt: str, target: str) -> tuple[list[int], list[int]]:
    """EasyEdit's definition on one unpadded sequence: predictions at the positions before
    each target token, against those tokens."""
    full = tok(f"{prompt} {target}")["input_ids"]
    start = len(tok(prompt)["input_ids"])
    argmax = model(torch.tensor([full])).logits[0].argmax(-1).tolist()
    return argmax[start - 1 : len(full) - 1], full[start:]


def own_next_word(model, tok, prompt: str) -> str:
    """The word the model predicts after ``prompt``, when that prediction is a whole word
    (a token with a leading space), so ``prompt + " " + word`` tokenizes as prompt + token."""
    ids = tok(prompt)["input_ids"]
    with torch.no_grad():
        token = int(model(torch.tensor([ids])).logits[0, -1].argmax())
    word = tok.decode([token]).lstrip()
    assert tok(f"{prompt} {word}")["input_ids"] == ids + [token], "the tiny model's prediction is not a word"
    return word


def test_batched_predictions_equal_the_unpadded_reference(gpt2):
    model, tok = gpt2

    found = target_token_predictions(model, tok, PROMPTS, TARGETS, batch_size=3)

    for tokens, prompt, target in zip(found, PROMPTS, TARGETS):
        predicted, expected = reference(model, tok, prompt, target)
        assert list(tokens.predicted) == predicted
        assert list(tokens.expected) == expected
        assert tokens.accuracy == pytest.approx(sum(p == e for p, e in zip(predicted, expected)) / len(expected))


def test_accuracy_is_one_for_the_models_own_prediction_and_a_fraction_otherwise(gpt2):
    model, tok = gpt2
    prompt = "The capital of France"
    word = own_next_word(model, tok, prompt)

    accuracies = token_accuracy(model, tok, [prompt, prompt, prompt], [word, f"{word} Paris is", "Paris"])

    assert accuracies[0] == 1.0
    predicted, expected = reference(model, tok, prompt, f"{word} Paris is")
    assert accuracies[1] == pytest.approx(sum(p == e for p, e in zip(predicted, expected)) / len(expected))
    assert 0.0 < accuracies[1] < 1.0 or len(expected) == 1
    assert accuracies[2] == 0.0


def test_target_tokens_accuracy():
    assert TargetTokens((1, 2, 3), (1, 0, 3)).accuracy == pytest.approx(2 / 3)
    assert math.isnan(TargetTokens((), ()).accuracy)


def test_single_strings_and_batch_size_do_not_change_results(gpt2):
    model, tok = gpt2
    together = token_accuracy(model, tok, PROMPTS, TARGETS)
    one_by_one = [token_accuracy(model, tok, p, t)[0] for p, t in zip(PROMPTS, TARGETS)]
    assert together == pytest.approx(one_by_one)
    assert token_accuracy(model, tok, PROMPTS, TARGETS, batch_size=1) == pytest.approx(together)


def test_tokenizer_state_is_restored(gpt2):
    model, tok = gpt2
    tok.padding_side = "right"
    token_accuracy(model, tok, PROMPTS, TARGETS)
    assert tok.padding_side == "right"


def test_max_length_truncates_like_the_2023_release(gpt2):
    model, tok = gpt2
    prompt, target = PROMPTS[1], TARGETS[1]
    prompt_tokens = len(tok(prompt)["input_ids"])

    cut = target_token_predictions(model, tok, prompt, target, max_length=prompt_tokens + 2)[0]
    nothing_left = target_token_predictions(model, tok, prompt, target, max_length=prompt_tokens)[0]

    full_predicted, full_expected = reference(model, tok, prompt, target)
    assert list(cut.expected) == full_expected[:2] and list(cut.predicted) == full_predicted[:2]
    assert nothing_left.expected == () and math.isnan(nothing_left.accuracy)


def test_mismatched_inputs_are_refused(gpt2):
    model, tok = gpt2
    with pytest.raises(ValueError, match="2 prompts but 1 targets"):
        token_accuracy(model, tok, PROMPTS[:2], TARGETS[:1])


def test_prediction_agreement_is_easyedits_locality_score():
    assert prediction_agreement([5, 6, 7, 8], [5, 0, 7, 8]) == 0.75
    assert math.isnan(prediction_agreement([], []))
    with pytest.raises(ValueError):
        prediction_agreement([1], [1, 2])
