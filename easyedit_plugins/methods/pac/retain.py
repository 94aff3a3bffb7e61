"""The retention step (``retain_weight``): keep the unedited model's behaviour on unrelated text.

PAC's own contrastive step pulls the *negative* neurons toward the unedited predictions on the
*edit* prompts; nothing tells the critical neurons what to leave alone, so their keys drift until
they fire on every prompt. The retention step trains the critical keys and values on lines of an
unrelated corpus (one prompt per line, e.g. the statistics corpus) toward the unedited model's
greedy predictions at every position after the first token, weighted by ``retain_weight``.

The predictions are taken once, before the first update, like the contrastive labels; the lines
of each step are drawn from a generator seeded by ``seed``, so a run is reproducible. The step
trains the same neurons as the edit step and shares their Adam moments (one optimiser state per
neuron), so Adam normalises the two losses' gradients together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...hparams import HyperParamsError
from .objective import EncodedRequest, MiniBatch, collate, unedited_predictions

#: Longer lines are cut: the step is about what the keys respond to, not about long contexts.
MAX_TOKENS = 32


def read_corpus(path: str) -> list[str]:
    """The non-empty lines of ``path``; errors name the key and the file."""
    try:
        lines = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    except OSError as error:
        raise HyperParamsError(f"key 'retain_corpus': cannot read {path}: {error}") from error
    lines = [line for line in lines if line]
    if not lines:
        raise HyperParamsError(f"key 'retain_corpus': {path} has no non-empty line")
    return lines


class RetentionSet:
    """Encoded corpus lines with the unedited model's predictions, sampled per step."""

    def __init__(self, model: nn.Module, tok: Any, lines: list[str], batch_size: int, pad_id: int,
                 device: torch.device, generator: torch.Generator) -> None:
        encoded = [list(tok(line)["input_ids"])[:MAX_TOKENS] for line in lines]
        self._items = [EncodedRequest(ids, 1) for ids in encoded if len(ids) > 1]
        if not self._items:
            raise HyperParamsError("key 'retain_corpus': every line is a single token")
        self._labels = unedited_predictions(model, self._items, batch_size, pad_id)
        self._pad_id = pad_id
        self._device = device
        self._generator = generator

    def sample(self, count: int) -> MiniBatch:
        """``count`` random lines (without replacement), labels in ``contrast_labels``."""
        chosen = torch.randperm(len(self._items), generator=self._generator)[:count].tolist()
        return collate([self._items[i] for i in chosen], [self._labels[i] for i in chosen], self._pad_id, self._device)
