"""Recomputing only the part of each prompt that a target's ``delta`` can change.

A target's ``delta`` is added to the output of layer ``l`` at the subject's last token ``s``.
Under causal attention no position before ``s`` ever sees it: at every layer above ``l`` their
hidden states, keys and values are the same at every optimisation step, and positions after the
last one the loss reads do not matter at all. EasyEdit recomputes every position at every step.
Here each prompt is split at its ``s``: the prefix (positions ``< s``, left-padded to a common
length) runs once and leaves its keys and values in a KV cache, and each step runs only the
suffix (``s`` up to the last position read) against that cache, forward and backward.

The prompts of a target are mostly context template and subject, with the subject's last token
near the end, so a step touches a few positions per prompt instead of all of them: the same
loss and gradients (up to floating-point rounding), with a fraction of the work and of the
activations kept for the backward pass.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from transformers import DynamicCache

from .hooks import forward_until


@dataclass
class SplitRows:
    """Model inputs of the rows split at their first changing position.

    ``suffix`` holds positions ``starts[r] .. ends[r] - 1`` of row ``r`` from column 0 on (right
    padded); ``column(r, position)`` says where a position landed. ``prefix`` is None when no row
    has anything before its start (nothing to cache).
    """

    prefix: dict[str, Any] | None
    suffix: dict[str, Any]
    starts: list[int]
    cache: DynamicCache | None
    _prefix_states: list[tuple[torch.Tensor | None, torch.Tensor | None]] = field(default_factory=list)

    def column(self, row: int, position: int) -> int:
        return position - self.starts[row]

    def run_prefix(self, model: torch.nn.Module, last_module: str) -> None:
        """Fill the cache with the prefix's keys and values of every layer up to ``last_module``."""
        if self.prefix is None or self.cache is None:
            return
        with torch.no_grad():
            forward_until(model, last_module, self.prefix)
        self._prefix_states = [(getattr(layer, "keys", None), getattr(layer, "values", None)) for layer in self.cache.layers]

    @property
    def cache_bytes(self) -> int:
        """Size of the prefix's keys and values in the cache."""
        return sum(t.nbytes for pair in self._prefix_states for t in pair if t is not None)

    def rewind(self) -> None:
        """Put the cache back to the prefix alone (call before every suffix pass).

        A suffix pass appends its keys and values, which carry the step's autograd graph;
        restoring the recorded tensors (rather than cropping, which would keep views of them)
        leaves nothing of a finished step in the next one.
        """
        if self.cache is None:
            return
        for layer, (keys, values) in zip(self.cache.layers, self._prefix_states):
            if keys is not None:
                layer.keys, layer.values = keys, values


def prefix_cache_supported() -> bool:
    """Whether the installed transformers keeps a cache's keys and values per layer object
    (``DynamicCache().layers``, transformers 5), which :meth:`SplitRows.rewind` restores.

    Older releases (the 4.x line that EasyEdit's 2023 release needs) store them differently and
    pass caches to some architectures as tuples; there every position is recomputed, as EasyEdit
    does, with the same results.
    """
    return hasattr(DynamicCache(), "layers")


def split_rows(
    model: torch.nn.Module,
    sequences: Sequence[Sequence[int]],
    starts: Sequence[int],
    ends: Sequence[int],
    padding_id: int,
    device: torch.device | str,
) -> SplitRows:
    """Split row ``r`` at ``starts[r]`` and cut it at ``ends[r]`` (``starts`` all 0: no cache)."""
    n = len(sequences)
    prefix_width = max(starts)
    suffix_width = max(end - start for start, end in zip(starts, ends))
    suffix_ids = torch.full((n, suffix_width), padding_id, dtype=torch.long)
    suffix_mask = torch.zeros((n, suffix_width), dtype=torch.long)
    prefix_ids = torch.full((n, prefix_width), padding_id, dtype=torch.long)
    prefix_mask = torch.zeros((n, prefix_width), dtype=torch.long)
    prefix_positions = torch.zeros((n, prefix_width), dtype=torch.long)
    suffix_positions = torch.zeros((n, suffix_width), dtype=torch.long)
    for row, (sequence, start, end) in enumerate(zip(sequences, starts, ends)):
        if not 0 <= start < end <= len(sequence):
            raise ValueError(f"row {row}: cannot keep positions {start}..{end - 1} of {len(sequence)}")
        tokens = torch.tensor(list(sequence), dtype=torch.long)
        suffix_ids[row, : end - start] = tokens[start:end]
        suffix_mask[row, : end - start] = 1
        suffix_positions[row] = torch.arange(start, start + suffix_width)
        if start:
            prefix_ids[row, prefix_width - start :] = tokens[:start]
            prefix_mask[row, prefix_width - start :] = 1
            prefix_positions[row, prefix_width - start :] = torch.arange(start)
    if prefix_width == 0:
        suffix = {"input_ids": suffix_ids.to(device), "attention_mask": suffix_mask.to(device), "use_cache": False}
        return SplitRows(prefix=None, suffix=suffix, starts=list(starts), cache=None)
    cache = DynamicCache()  # plain full-length layers: sliding windows come from the masks
    cache_argument = _cache_argument(model)
    prefix = {
        "input_ids": prefix_ids.to(device),
        "attention_mask": prefix_mask.to(device),
        "position_ids": prefix_positions.to(device),
        cache_argument: cache,
        "use_cache": True,
    }
    suffix = {
        "input_ids": suffix_ids.to(device),
        "attention_mask": torch.cat([prefix_mask, suffix_mask], dim=1).to(device),
        "position_ids": suffix_positions.to(device),
        cache_argument: cache,
        "use_cache": True,
    }
    return SplitRows(prefix=prefix, suffix=suffix, starts=list(starts), cache=cache)


def _cache_argument(model: torch.nn.Module) -> str:
    """The forward argument that takes a KV cache: ``cache`` since transformers 5.2x, before
    that ``past_key_values`` (still accepted, with a deprecation warning)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
