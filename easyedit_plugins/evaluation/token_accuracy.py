"""Teacher-forced token accuracy, the metric behind EasyEdit's ``rewrite_acc``,
``rephrase_acc`` and ``portability.<key>_acc``.

It reproduces ``test_prediction_acc`` in ``easyeditor/evaluate/evaluate_utils.py`` (the
default path: not ``vanilla_generation``, not ``use_chat_template``, ``locality=False``; with
``locality=True`` EasyEdit returns the predicted tokens, :func:`target_token_predictions`
here), the same in the 2023 PyPI release and the 2026 source tree apart from truncation:

1. each pair is written ``prompt + " " + target`` and the batch is tokenised with LEFT padding
   (the 2026 tree sets it; the 2023 release relies on its editor having set it); the prompts
   alone are tokenised as well;
2. the target starts at ``pads + prompt tokens`` in each row, where ``pads`` counts padding-id
   tokens of the prompt+target row and ``prompt tokens`` the non-padding tokens of the
   prompt's row (so the prompt's tokens are assumed to be a prefix of the pair's);
3. the argmax of the logits at positions ``start - 1 ... length - 2`` is compared with the
   tokens at ``start ... length - 1``: every target token is predicted from what precedes it;
4. a pair scores the fraction of its target tokens predicted right.

Truncation: the 2026 tree truncates at ``max(hparams.max_length, longest pair + 1)``, that is
never, which is ``max_length=None`` here; the 2023 release truncates both tokenisations at
``hparams.max_length`` (40 by default, cutting long rule prompts), which is
``max_length=<that value>``.

Two deliberate differences, both in how results are returned or computed rather than what
they mean: every row gets position ids counted from its own first token (EasyEdit passes none,
so in its batched calls a padded row is scored with shifted positions and the score depends
on what else is in the batch; for one prompt at a time, and for rows of equal length, the
results are the same), and a pair whose target is empty after truncation scores ``nan`` in
place, where EasyEdit drops it from the list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from .batching import chunks, forward_inputs, input_device, left_padding


@dataclass(frozen=True)
class TargetTokens:
    """The target's tokens and what the model predicted for each, teacher-forced."""

    predicted: tuple[int, ...]
    expected: tuple[int, ...]

    @property
    def accuracy(self) -> float:
        if not self.expected:
            return math.nan
        return sum(p == e for p, e in zip(self.predicted, self.expected)) / len(self.expected)


def _as_lists(prompts: str | Sequence[str], targets: str | Sequence[str]) -> tuple[list[str], list[str]]:
    prompt_list = [prompts] if isinstance(prompts, str) else list(prompts)
    target_list = [targets] if isinstance(targets, str) else list(targets)
    if len(prompt_list) != len(target_list):
        raise ValueError(f"{len(prompt_list)} prompts but {len(target_list)} targets")
    return prompt_list, target_list


@torch.no_grad()
def target_token_predictions(
    model: Any,
    tok: Any,
    prompts: str | Sequence[str],
    targets: str | Sequence[str],
    *,
    max_length: int | None = None,
    batch_size: int = 8,
) -> list[TargetTokens]:
    """Teacher-forced predictions of every target token (EasyEdit's ``locality=True`` output
    is ``[t.predicted for t in ...]``). See the module docstring for the exact procedure."""
    prompt_list, target_list = _as_lists(prompts, targets)
    options: dict[str, Any] = {"padding": True, "return_tensors": "pt"}
    if max_length is not None:
        options.update(truncation=True, max_length=max_length)
    device = input_device(model)
    results: list[TargetTokens] = []
    for batch in chunks(list(zip(prompt_list, target_list)), batch_size):
        with left_padding(tok):
            pairs = tok([f"{prompt} {target}" for prompt, target in batch], **options)
            prompts_only = tok([prompt for prompt, _ in batch], **options)
            pad_id = tok.pad_token_id
        input_ids = pairs["input_ids"]
        starts = (input_ids == pad_id).sum(1) + (prompts_only["input_ids"] != pad_id).sum(1)
        logits = model(**forward_inputs(model, input_ids.to(device), pairs["attention_mask"].to(device))).logits
        predicted = logits.argmax(-1).cpu()
        width = input_ids.shape[1]
        for row, start in enumerate(starts.tolist()):
            start = max(start, 1)
            predicted_tokens = tuple(predicted[row, start - 1 : width - 1].tolist())
            results.append(TargetTokens(predicted_tokens, tuple(input_ids[row, start:].tolist())))
    return results


def token_accuracy(
    model: Any,
    tok: Any,
    prompts: str | Sequence[str],
    targets: str | Sequence[str],
    *,
    max_length: int | None = None,
    batch_size: int = 8,
) -> list[float]:
    """EasyEdit's teacher-forced token accuracy of each (prompt, target) pair, in order."""
    predictions = target_token_predictions(model, tok, prompts, targets, max_length=max_length, batch_size=batch_size)
    return [p.accuracy for p in predictions]


def prediction_agreement(before: Sequence[int], after: Sequence[int]) -> float:
    """EasyEdit's locality score of one prompt: the share of target positions where the
    edited model predicts the same token as before the edit."""
    if len(before) != len(after):
        raise ValueError(f"{len(before)} predictions before the edit but {len(after)} after")
    if not before:
        return math.nan
    return sum(b == a for b, a in zip(before, after)) / len(before)
