"""Token positions and right-padded batches built from token ids.

The engine reads and writes activations at the subject's LAST token. Its index is the number
of tokens of the text up to the end of the subject, minus one; tokenizing that prefix (rather
than the prefix and the subject separately, as EasyEdit does) also counts a BOS token once,
which EasyEdit's separate tokenization counts twice on tokenizers that add one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from .prompt_templates import split_template


def token_ids(tok: Any, text: str) -> list[int]:
    """``text`` tokenized the way the model sees a prompt (special tokens included)."""
    return list(tok(text)["input_ids"])


def continuation_ids(tok: Any, text: str) -> list[int]:
    """``text`` tokenized as a continuation: no special tokens, no leading BOS."""
    ids = list(tok(text, add_special_tokens=False)["input_ids"])
    if ids and getattr(tok, "bos_token_id", None) is not None and ids[0] == tok.bos_token_id and len(ids) > 1:
        ids = ids[1:]
    return ids


def subject_last_index(tok: Any, template: str, subject: str) -> int:
    """Index of the last token of ``subject`` in ``template.format(subject)``."""
    prefix, _ = split_template(template)  # the real placeholder, not a literal '{{}}'
    return len(token_ids(tok, prefix + subject)) - 1


@dataclass
class Batch:
    """Right-padded ``input_ids`` and ``attention_mask`` on a device."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor

    @property
    def lengths(self) -> torch.Tensor:
        return self.attention_mask.sum(dim=1)

    def as_kwargs(self) -> dict[str, Any]:
        """Model inputs; no KV cache, which nothing here reads."""
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask, "use_cache": False}


def pad_id(tok: Any) -> int:
    for candidate in (getattr(tok, "pad_token_id", None), getattr(tok, "eos_token_id", None)):
        if candidate is not None:
            return int(candidate)
    return 0


def right_padded(sequences: Sequence[Sequence[int]], padding_id: int, device: torch.device | str) -> Batch:
    """Stack token-id lists into a right-padded batch."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), padding_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(list(sequence), dtype=torch.long)
        mask[row, : len(sequence)] = 1
    return Batch(ids.to(device), mask.to(device))


def input_device(model: torch.nn.Module) -> torch.device:
    """Where input ids must go: the input embedding's device (first shard under device_map)."""
    return model.get_input_embeddings().weight.device
