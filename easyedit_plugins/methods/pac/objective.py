"""PAC's two losses, and the tokenised requests they are computed on.

Both losses are the mean negative log-likelihood of the *answer tokens* of ``prompt + " " +
target_new`` (teacher-forced, averaged over every answer token of the mini-batch, as Hugging
Face's causal-LM loss does); they differ only in the labels:

* the edit loss uses the target's own tokens;
* the contrastive loss uses the argmax predictions the *unedited* model made at the same
  positions of the same input, so it pulls the model back toward its old behaviour. They are
  computed once, before the first update, by :func:`unedited_predictions`.

As in the authors' code the prompt length is the length of the prompt tokenised on its own, and
the target is prefixed with a space (unless it already starts with one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

IGNORED = -100


@dataclass(frozen=True)
class EncodedRequest:
    """A request's tokens; ``token_ids[prompt_length:]`` are its answer tokens."""

    token_ids: list[int]
    prompt_length: int

    @property
    def answer_ids(self) -> list[int]:
        return self.token_ids[self.prompt_length:]


@dataclass(frozen=True)
class MiniBatch:
    """Right-padded inputs and, per objective, labels (``IGNORED`` outside the answers)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    edit_labels: torch.Tensor
    contrast_labels: torch.Tensor | None


def encode_request(tok: Any, request: dict[str, Any], index: int) -> EncodedRequest:
    """Tokenise one EasyEdit request (``prompt`` and ``target_new``)."""
    for key in ("prompt", "target_new"):
        if not isinstance(request.get(key), str) or not request[key].strip():
            raise ValueError(f"request {index}: key {key!r} must be a non-empty string")
    target = request["target_new"]
    text = request["prompt"] + (target if target.startswith(" ") else " " + target)
    prompt_length = len(tok(request["prompt"])["input_ids"])
    token_ids = list(tok(text)["input_ids"])
    if len(token_ids) <= prompt_length:
        raise ValueError(f"request {index}: target_new {target!r} adds no token after the prompt")
    return EncodedRequest(token_ids, prompt_length)


def encode_requests(tok: Any, requests: Sequence[dict[str, Any]]) -> list[EncodedRequest]:
    return [encode_request(tok, request, index) for index, request in enumerate(requests)]


def input_device(model: nn.Module) -> torch.device:
    """Where token ids go: the input embedding's device (the first GPU of a split model)."""
    return model.get_input_embeddings().weight.device


def collate(
    items: Sequence[EncodedRequest],
    contrast_ids: Sequence[list[int]] | None,
    pad_id: int,
    device: torch.device,
) -> MiniBatch:
    """Pad ``items`` on the right and build the labels of both objectives.

    ``contrast_ids[i]`` holds the unedited model's predictions for the answer tokens of
    ``items[i]`` (None when the contrastive loss is off).
    """
    length = max(len(item.token_ids) for item in items)
    shape = (len(items), length)
    input_ids = torch.full(shape, pad_id, dtype=torch.long)
    attention_mask = torch.zeros(shape, dtype=torch.long)
    edit_labels = torch.full(shape, IGNORED, dtype=torch.long)
    contrast_labels = torch.full(shape, IGNORED, dtype=torch.long) if contrast_ids is not None else None
    for row, item in enumerate(items):
        end = len(item.token_ids)
        input_ids[row, :end] = torch.tensor(item.token_ids)
        attention_mask[row, :end] = 1
        edit_labels[row, item.prompt_length:end] = torch.tensor(item.answer_ids)
        if contrast_labels is not None:
            contrast_labels[row, item.prompt_length:end] = torch.tensor(contrast_ids[row])
    return MiniBatch(
        input_ids.to(device),
        attention_mask.to(device),
        edit_labels.to(device),
        None if contrast_labels is None else contrast_labels.to(device),
    )


def answer_logits(model: nn.Module, batch: MiniBatch, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The logits that predict each answer token (``[n_answer, vocab]``) and those tokens."""
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    next_labels = labels[:, 1:].to(logits.device)
    answer = next_labels != IGNORED
    return logits[:, :-1][answer], next_labels[answer]


def answer_nll(model: nn.Module, batch: MiniBatch, labels: torch.Tensor) -> torch.Tensor:
    """Mean NLL of ``labels`` over the answer positions of ``batch`` (computed in float32)."""
    logits, targets = answer_logits(model, batch, labels)
    return F.cross_entropy(logits.float(), targets)


@torch.no_grad()
def unedited_predictions(
    model: nn.Module, items: Sequence[EncodedRequest], batch_size: int, pad_id: int
) -> list[list[int]]:
    """The model's argmax at every answer position of every request (its pre-edit behaviour)."""
    device = input_device(model)
    predictions: list[list[int]] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        batch = collate(chunk, None, pad_id, device)
        logits, _ = answer_logits(model, batch, batch.edit_labels)
        flat = logits.argmax(-1).tolist()
        for item in chunk:
            count = len(item.answer_ids)
            predictions.append(flat[:count])
            flat = flat[count:]
    return predictions


def pad_token_id(tok: Any) -> int:
    """The id padding uses (its value never matters: padded positions are masked and ignored)."""
    for candidate in (getattr(tok, "pad_token_id", None), getattr(tok, "eos_token_id", None)):
        if candidate is not None:
            return int(candidate)
    return 0
