"""What the model-running metrics share: left padding, the input device, position ids."""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from typing import Any, Iterator, Sequence, TypeVar

import torch

T = TypeVar("T")


@contextmanager
def left_padding(tok: Any) -> Iterator[Any]:
    """Pad on the left inside the block (generation and EasyEdit's token accuracy both need
    the last real token at the end of every row), then restore the tokenizer as it was.

    A tokenizer without a padding token borrows its end-of-sequence token, as EasyEdit's
    editor does for GPT-2 and Llama tokenizers.
    """
    previous_side = tok.padding_side
    previous_pad = tok.pad_token
    tok.padding_side = "left"
    if previous_pad is None:
        if tok.eos_token is None:
            raise ValueError("the tokenizer has neither a padding nor an end-of-sequence token")
        tok.pad_token = tok.eos_token
    try:
        yield tok
    finally:
        tok.padding_side = previous_side
        if previous_pad is None:
            tok.pad_token = None


def input_device(model: torch.nn.Module) -> torch.device:
    """Where the input ids go: the embedding's device, also under ``device_map="auto"``."""
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if embeddings is not None and getattr(embeddings, "weight", None) is not None:
        return embeddings.weight.device
    return next(model.parameters()).device


def forward_inputs(
    model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Forward arguments that give every left-padded row the positions 0, 1, 2, ... of its
    own tokens, so a row scores as it would alone.

    Hugging Face causal LMs number positions from the first column unless given
    ``position_ids``; a padded row would then be shifted by its padding.
    """
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if "position_ids" in inspect.signature(model.forward).parameters:
        inputs["position_ids"] = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    return inputs


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]
