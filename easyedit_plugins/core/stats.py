"""Second moments ``C0 = E[k k^T]`` of module inputs, for every requested module in ONE pass.

EasyEdit runs one full pass over its corpus per layer (five layers, five passes) and lets the
sequence length default to the model's maximum, which exhausts memory on Llama-3.1 (131072
positions). Here one forward pass feeds hooks on all requested modules at once, sequences are
capped at ``max_length`` tokens, and the pass stops as soon as the last requested module has
seen its input (the layers above it and the LM head never run).

The statistic is uncentred, like EasyEdit's: the sum of ``k k^T`` over all non-padding token
positions divided by their count. :class:`SecondMomentAccumulator` keeps the count and the
sum, so shards computed separately merge exactly.
"""

from __future__ import annotations

import logging
from itertools import islice
from typing import Any, Iterable, Iterator, Sequence

import torch
from torch import nn

from ..progress import progress_bar
from .hooks import forward_until, observe_inputs

log = logging.getLogger(__name__)

#: Default cap on tokens per sequence (EasyEdit's uncapped default exhausts memory on Llama-3.1).
DEFAULT_MAX_LENGTH = 256
#: Texts tokenised together and sorted by length before batching, so batches pad little.
_SORT_WINDOW_BATCHES = 16
#: Row blocks of the upper-triangle update: more blocks, fewer wasted multiply-adds below the
#: diagonal ((blocks + 1) / (2 * blocks) of a full product), but smaller matrix products.
_MAX_ROW_BLOCKS = 8
_MIN_ROW_BLOCK = 256


class SecondMomentAccumulator:
    """Running ``count`` and ``sum of x x^T`` of ``dim``-wide vectors, in ``dtype``.

    Mergeable: accumulating shard A and shard B separately and merging gives the statistics of
    A and B together (up to floating-point summation order).

    The sum is symmetric, so :meth:`add` computes only its upper triangle, a band of row blocks
    at a time (about 55-60% of the multiply-adds of a full ``x^T x``: on a 7B model the outer
    products cost about as much as the forward pass through a layer). :attr:`sum` mirrors the
    upper triangle into a full, exactly symmetric matrix when read.
    """

    def __init__(self, dim: int, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> None:
        self.dim = dim
        self.dtype = dtype
        self.count = 0
        self._upper = torch.zeros(dim, dim, dtype=dtype, device=device)
        blocks = max(1, min(_MAX_ROW_BLOCKS, dim // _MIN_ROW_BLOCK))
        bounds = [round(index * dim / blocks) for index in range(blocks + 1)]
        self._row_blocks = list(zip(bounds[:-1], bounds[1:]))

    @classmethod
    def from_state(cls, count: int, total: torch.Tensor) -> "SecondMomentAccumulator":
        """An accumulator holding ``count`` vectors whose outer products sum to ``total``."""
        if total.ndim != 2 or total.shape[0] != total.shape[1]:
            raise ValueError(f"the sum of outer products must be square, got {tuple(total.shape)}")
        accumulator = cls(total.shape[0], total.dtype, total.device)
        accumulator.count = int(count)
        accumulator._upper = total.triu()
        return accumulator

    @property
    def sum(self) -> torch.Tensor:
        """The full ``sum of x x^T`` (``dim x dim``), a new tensor.

        Only the upper triangle of the internal matrix is kept up to date (the diagonal blocks
        also fill a little of the lower one, which is ignored).
        """
        return self._upper.triu() + self._upper.triu(1).T

    def to(self, device: torch.device | str) -> "SecondMomentAccumulator":
        """Move the accumulator to ``device`` (in place); returns ``self``."""
        self._upper = self._upper.to(device)
        return self

    def add(self, vectors: torch.Tensor) -> None:
        """Add the rows of ``vectors`` (``n x dim``)."""
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected rows of width {self.dim}, got shape {tuple(vectors.shape)}")
        if vectors.shape[0] == 0:
            return
        rows = vectors.to(device=self._upper.device, dtype=self.dtype)
        for start, stop in self._row_blocks:
            # rows start:stop of the upper triangle, from the diagonal block to the last column
            self._upper[start:stop, start:].addmm_(rows[:, start:stop].T, rows[:, start:])
        self.count += rows.shape[0]

    def merge(self, other: "SecondMomentAccumulator") -> "SecondMomentAccumulator":
        """Add ``other``'s vectors to this accumulator (in place); returns ``self``."""
        if other.dim != self.dim:
            raise ValueError(f"cannot merge statistics of width {other.dim} into width {self.dim}")
        self._upper += other._upper.to(device=self._upper.device, dtype=self.dtype)
        self.count += other.count
        return self

    def mean(self) -> torch.Tensor:
        """``E[x x^T]`` (``dim x dim``, in the accumulator's dtype)."""
        if self.count == 0:
            raise ValueError("no vectors were added; the second moment is undefined")
        return self.sum / self.count


def collect_second_moments(
    model: nn.Module,
    tokenizer: Any,
    texts: Iterable[str],
    module_names: Sequence[str],
    *,
    n_samples: int | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    batch_size: int = 16,
    dtype: torch.dtype = torch.float64,
    progress: bool = True,
) -> dict[str, SecondMomentAccumulator]:
    """Accumulate ``k k^T`` of the first input of each named module over ``texts``, in one pass.

    Reads at most ``n_samples`` texts (all if None), each truncated to ``max_length`` tokens;
    padding positions are excluded through the attention mask. Accumulators live on the
    device of each module's activations (so a model spread over GPUs accumulates where it
    computes) and are moved to the CPU at the end.
    """
    names = list(dict.fromkeys(module_names))
    if not names:
        raise ValueError("no module names given")
    if max_length < 1 or batch_size < 1:
        raise ValueError("max_length and batch_size must be positive")
    last_name = _last_in_execution_order(model, names)
    accumulators: dict[str, SecondMomentAccumulator] = {}
    seen_in_batch: set[str] = set()
    mask_holder: dict[str, torch.Tensor] = {}

    def observe(name: str, inputs: torch.Tensor) -> None:
        mask = mask_holder["mask"].to(inputs.device)
        keys = inputs.detach()[mask]
        if name not in accumulators:
            accumulators[name] = SecondMomentAccumulator(keys.shape[-1], dtype, keys.device)
        accumulators[name].add(keys)
        seen_in_batch.add(name)

    samples = texts if n_samples is None else islice(texts, n_samples)
    device = _input_device(model)
    bar = progress_bar(total=n_samples, unit="sample", desc="second moments", disable=not progress)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), observe_inputs(model, names, observe):
            for input_ids, attention_mask, count in padded_batches(tokenizer, samples, max_length, batch_size):
                mask_holder["mask"] = attention_mask.bool()
                seen_in_batch.clear()
                # Stop once the last module's input was observed (the observer's pre-hook runs first).
                inputs = {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device), "use_cache": False}
                forward_until(model, last_name, inputs, before=True)
                missing = [name for name in names if name not in seen_in_batch]
                if missing:
                    raise RuntimeError(f"modules {missing} were not reached before {last_name!r}; check the module names")
                bar.update(count)
    finally:
        bar.close()
        model.train(was_training)
    if not accumulators:
        raise ValueError("the corpus yielded no text samples")
    for accumulator in accumulators.values():
        accumulator.to("cpu")
    log.info("second moments of %d module(s) over %d tokens", len(names), accumulators[last_name].count)
    return {name: accumulators[name] for name in names}


def _last_in_execution_order(model: nn.Module, names: Sequence[str]) -> str:
    """The requested module registered last; decoder stacks register modules in execution order.

    Should an architecture run them in another order, the per-batch check in
    :func:`collect_second_moments` notices a module that was never reached.
    """
    order = {name: index for index, (name, _) in enumerate(model.named_modules())}
    unknown = [name for name in names if name not in order]
    if unknown:
        raise KeyError(f"the model has no module(s) {unknown}")
    return max(names, key=order.__getitem__)


def _input_device(model: nn.Module) -> torch.device:
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if embeddings is not None and hasattr(embeddings, "weight"):
        return embeddings.weight.device
    return next(model.parameters()).device


def _pad_id(tokenizer: Any) -> int:
    for candidate in (getattr(tokenizer, "pad_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if candidate is not None:
            return int(candidate)
    return 0  # any valid id will do: padded positions are masked out of the statistics


def padded_batches(
    tokenizer: Any, texts: Iterable[str], max_length: int, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """Right-padded ``(input_ids, attention_mask, texts consumed)`` batches.

    Texts are tokenised a window at a time and sorted by length inside the window, so a batch
    holds sequences of similar length and little compute goes to padding. Padding is done here,
    not by the tokenizer, because many causal-LM tokenizers have no pad token.
    """
    pad_id = _pad_id(tokenizer)
    iterator = iter(texts)
    while True:
        window = list(islice(iterator, batch_size * _SORT_WINDOW_BATCHES))
        if not window:
            return
        encoded = tokenizer(window, truncation=True, max_length=max_length, add_special_tokens=True)["input_ids"]
        ordered = sorted((ids for ids in encoded if ids), key=len, reverse=True)
        skipped = len(window) - len(ordered)
        for start in range(0, len(ordered), batch_size):
            chunk = ordered[start:start + batch_size]
            width = len(chunk[0])
            input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            attention_mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, ids in enumerate(chunk):
                input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
                attention_mask[row, : len(ids)] = 1
            consumed = len(chunk) + (skipped if start == 0 else 0)
            yield input_ids, attention_mask, consumed
