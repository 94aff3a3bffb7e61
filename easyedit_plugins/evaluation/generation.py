"""Greedy generation in batches, for the generation-based metrics of rule editing.

The DMLE authors generate one prompt at a time, greedily, with a budget of three times the
target's token count, and stop at the end-of-sequence token. Greedy decoding is deterministic
and each step depends only on the tokens before it, so generating a batch with the largest
budget and cutting every row to its own budget gives the same continuations, far faster.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from .batching import chunks, input_device, left_padding

#: DMLE's budget: three times the target's token count.
BUDGET_FACTOR = 3


def generation_budget(tok: Any, target: str, factor: int = BUDGET_FACTOR) -> int:
    """``factor`` times the number of tokens of ``target`` (without special tokens)."""
    return factor * len(tok.encode(target, add_special_tokens=False))


def _cut(tokens: list[int], budget: int, eos_id: int | None) -> list[int]:
    tokens = tokens[:budget]
    if eos_id is not None and eos_id in tokens:
        tokens = tokens[: tokens.index(eos_id)]
    return tokens


@torch.no_grad()
def greedy_generate(
    model: Any,
    tok: Any,
    prompts: Sequence[str],
    max_new_tokens: int | Sequence[int],
    *,
    batch_size: int = 8,
) -> list[str]:
    """The greedy continuation of each prompt (without the prompt), decoded without special
    tokens and cut at the end-of-sequence token.

    ``max_new_tokens`` is one budget for all prompts or one per prompt. Padding is on the left
    while generating; the tokenizer's padding side and padding token are restored afterwards.
    """
    prompts = list(prompts)
    budgets = [max_new_tokens] * len(prompts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    if len(budgets) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(budgets)} token budgets")
    device = input_device(model)
    eos_id = tok.eos_token_id
    outputs: list[str] = []
    for batch in chunks(list(zip(prompts, budgets)), batch_size):
        largest = max(budget for _, budget in batch)
        if largest <= 0:
            outputs.extend("" for _ in batch)
            continue
        with left_padding(tok):
            encoded = tok([prompt for prompt, _ in batch], padding=True, return_tensors="pt")
            pad_id = tok.pad_token_id
        generated = model.generate(
            input_ids=encoded["input_ids"].to(device),
            attention_mask=encoded["attention_mask"].to(device),
            max_new_tokens=largest,
            do_sample=False,
            num_beams=1,
            pad_token_id=pad_id,
            eos_token_id=eos_id,
        )
        continuations = generated[:, encoded["input_ids"].shape[1] :].cpu().tolist()
        for (_, budget), tokens in zip(batch, continuations):
            outputs.append(tok.decode(_cut(tokens, budget, eos_id), skip_special_tokens=True))
    return outputs
