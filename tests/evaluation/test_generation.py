"""greedy_generate: batched, budgets per prompt, same text as one prompt at a time."""

from __future__ import annotations

import pytest
import torch

from easyedit_plugins.evaluation import generation_budget, greedy_generate
from easyedit_plugins.testing import tiny_model

PROMPTS = ["The capital of France is", "A rectangle has a length of 3 and a width of 4. Its area is", "Hi"]


@pytest.fixture(scope="module")
def gpt2():
    return tiny_model("gpt2")


@torch.no_grad()
def unpadded_greedy(model, tok, prompt: str, steps: int) -> str:
    ids = tok(prompt)["input_ids"]
    new: list[int] = []
    for _ in range(steps):
        token = int(model(torch.tensor([ids + new])).logits[0, -1].argmax())
        if token == tok.eos_token_id:
            break
        new.append(token)
    return tok.decode(new, skip_special_tokens=True)


def test_batch_equals_one_prompt_at_a_time_with_own_budgets(gpt2):
    model, tok = gpt2
    budgets = [4, 7, 2]

    batched = greedy_generate(model, tok, PROMPTS, budgets, batch_size=3)

    assert batched == [unpadded_greedy(model, tok, p, n) for p, n in zip(PROMPTS, budgets)]


def test_one_budget_for_all_and_zero_budget(gpt2):
    model, tok = gpt2
    assert greedy_generate(model, tok, PROMPTS, 3) == greedy_generate(model, tok, PROMPTS, [3, 3, 3], batch_size=1)
    assert greedy_generate(model, tok, PROMPTS[:2], 0) == ["", ""]


def test_padding_side_and_missing_pad_token_are_restored(gpt2):
    model, tok = gpt2
    tok.padding_side = "right"
    expected = greedy_generate(model, tok, PROMPTS, 2)
    assert tok.padding_side == "right"
    pad = tok.pad_token
    tok.pad_token = None  # like GPT-2's own tokenizer: generation borrows the EOS token
    try:
        assert greedy_generate(model, tok, PROMPTS, 2) == expected
        assert tok.pad_token is None
    finally:
        tok.pad_token = pad


def test_budget_is_three_times_the_target_tokens(gpt2):
    _, tok = gpt2
    tokens = len(tok.encode("A = 3 * 4 = 12.", add_special_tokens=False))
    assert generation_budget(tok, "A = 3 * 4 = 12.") == 3 * tokens
    assert generation_budget(tok, "A = 3 * 4 = 12.", factor=1) == tokens


def test_budgets_must_match_prompts(gpt2):
    model, tok = gpt2
    with pytest.raises(ValueError, match="3 prompts but 2 token budgets"):
        greedy_generate(model, tok, PROMPTS, [1, 2])
