"""How well a model knows the miniature world: greedy accuracy on whole objects.

A prompt counts as known when greedy decoding after it reproduces EVERY token of the answer.
Read teacher-forced, that is: the argmax at each answer position equals the answer's token (if
all of them match, greedy decoding walks exactly that path). One forward pass per batch, no
generation loop.
"""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .data import World
from .natural import NaturalWorld


@torch.no_grad()
def greedy_hits(model: PreTrainedModel, tok: PreTrainedTokenizerBase, pairs: Sequence[tuple[str, str]],
                batch_size: int = 256) -> list[bool]:
    """For each ``(prompt, answer)``: does greedy decoding after ``prompt`` produce `` answer``?

    The answer is tokenized with a leading space, separately from the prompt, the way EasyEdit
    tokenizes targets.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    hits: list[bool] = []
    try:
        for start in range(0, len(pairs), batch_size):
            batch = pairs[start:start + batch_size]
            prompts = [tok(prompt, add_special_tokens=False)["input_ids"] for prompt, _ in batch]
            answers = [tok(" " + answer, add_special_tokens=False)["input_ids"] for _, answer in batch]
            rows = [p + a for p, a in zip(prompts, answers)]
            width = max(len(row) for row in rows)
            ids = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for i, row in enumerate(rows):
                ids[i, :len(row)] = torch.tensor(row)
                mask[i, :len(row)] = 1
            predicted = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.argmax(-1).cpu()
            for i, (prompt, answer) in enumerate(zip(prompts, answers)):
                positions = slice(len(prompt) - 1, len(prompt) + len(answer) - 1)
                hits.append(predicted[i, positions].tolist() == answer)
    finally:
        model.train(was_training)
    return hits


def _accuracy(model: PreTrainedModel, tok: PreTrainedTokenizerBase, pairs: Sequence[tuple[str, str]]) -> float:
    hits = greedy_hits(model, tok, pairs)
    return sum(hits) / len(hits) if hits else float("nan")


def accuracy_report(model: PreTrainedModel, tok: PreTrainedTokenizerBase,
                    world: World | NaturalWorld) -> dict[str, float]:
    """Accuracy per category of ``world.evaluation_sets()``: trained facts, held-out pairs, each rule form."""
    return {name: _accuracy(model, tok, pairs) for name, pairs in world.evaluation_sets().items()}
