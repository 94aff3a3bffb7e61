"""The token ids LGA differentiates: each proxy prompt with its original and its new answer.

Answers are tokenized the way the editing engine tokenizes targets: as a continuation of the
prompt with a leading space. The original answer is the dataset's (``ground_truth``) or the
model's own greedy continuation of the prompt, as many tokens long as the new answer
(``prediction``); a request without a usable ground truth (EasyEdit's ``<|endoftext|>``
placeholder, RuleEdit-200's instance cases) always gets the prediction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from ...core.positions import continuation_ids, input_device, pad_id, right_padded, token_ids
from .hparams import OriginalAnswer
from .proxy import ProxyItem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerPair:
    """A prompt and the two answers whose gradients are compared."""

    prompt_ids: list[int]
    old_ids: list[int]
    new_ids: list[int]
    #: Whether ``old_ids`` is the model's greedy prediction rather than the dataset's answer.
    predicted: bool


def answer_ids(tok: Any, answer: str) -> list[int]:
    """``answer`` as a continuation (with a leading space), like the engine's targets."""
    ids = continuation_ids(tok, answer if answer.startswith(" ") else " " + answer)
    if not ids:
        raise ValueError(f"the answer {answer!r} tokenizes to nothing")
    return ids


@torch.no_grad()
def greedy_continuations(
    model: torch.nn.Module, tok: Any, prompts: Sequence[list[int]], lengths: Sequence[int], batch_size: int
) -> list[list[int]]:
    """The greedy continuation of each prompt, ``lengths[i]`` tokens long (right-padded batches)."""
    device = input_device(model)
    continuations: list[list[int]] = []
    for start in range(0, len(prompts), batch_size):
        rows = [list(p) for p in prompts[start : start + batch_size]]
        wanted = list(lengths[start : start + batch_size])
        for step in range(max(wanted)):
            batch = right_padded(rows, pad_id(tok), device)
            logits = model(**batch.as_kwargs()).logits
            last = (batch.lengths - 1).to(logits.device)
            chosen = logits[torch.arange(len(rows), device=logits.device), last].argmax(-1).tolist()
            for row, token, count in zip(rows, chosen, wanted):
                if step < count:
                    row.append(int(token))
        continuations.extend(row[len(prompt) :] for row, prompt in zip(rows, prompts[start : start + batch_size]))
    return continuations


def answer_pairs(
    model: torch.nn.Module, tok: Any, items: Sequence[ProxyItem], original_answer: OriginalAnswer, batch_size: int
) -> list[AnswerPair]:
    """Tokenized prompts and answers; original answers predicted where asked or missing."""
    prompts = [token_ids(tok, item.prompt) for item in items]
    new = [answer_ids(tok, item.new_answer) for item in items]
    given = {
        i: answer_ids(tok, item.old_answer)
        for i, item in enumerate(items)
        if original_answer == "ground_truth" and item.old_answer is not None
    }
    to_predict = [i for i in range(len(items)) if i not in given]
    if to_predict and original_answer == "ground_truth":
        logger.info("LGA: %d proxy request(s) have no ground truth; using the model's prediction", len(to_predict))
    predicted = greedy_continuations(
        model, tok, [prompts[i] for i in to_predict], [len(new[i]) for i in to_predict], batch_size
    )
    old = {**given, **dict(zip(to_predict, predicted))}
    return [
        AnswerPair(prompt_ids=prompts[i], old_ids=old[i], new_ids=new[i], predicted=i not in given)
        for i in range(len(items))
    ]
