"""LGA's per-layer scores: ``S_l = sum_i <g_old_i, g_new_i>`` over the proxy items.

``g_old_i`` is the gradient of item ``i``'s answer-only NLL (mean over the answer's tokens) of
its original answer, ``g_new_i`` of its new target, both with respect to the MLP weights of
layer ``l``: by default the output projection (``c_proj``/``fc_out``/``down_proj``), the matrix
MEMIT-style methods write; with ``weights: mlp_all`` the sum over every MLP weight matrix of
the layer (input, gate, output projections). Biases are never scored. The raw inner products
are summed, not normalised, as the paper's score is described.

Per-item scores are kept, so the scores of any subset of the proxy set (the formula and
description items of one DMLE stage, the instance items of another) are sums of rows, with no
further backward pass.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import torch

from ...progress import progress_bar
from ...core.archspec import ArchSpec, arch_spec, num_layers
from .answers import answer_pairs
from .gradients import check_factorable, item_inner_products
from .hparams import OriginalAnswer, ScoredWeights
from .proxy import ProxyItem

logger = logging.getLogger(__name__)


def scored_modules(spec: ArchSpec, layer: int, weights: ScoredWeights) -> list[str]:
    """The modules whose weights make up layer ``layer``'s score."""
    if weights == "mlp_out":
        return [spec.mlp_out_name(layer)]
    gate = spec.gate_name(layer)
    return [spec.mlp_in_name(layer)] + ([gate] if gate else []) + [spec.mlp_out_name(layer)]


@dataclass
class LayerScores:
    """Per-item, per-layer inner products and what they were computed from."""

    #: ``n_items x n_layers`` float64.
    per_item: torch.Tensor
    forms: list[str | None]
    #: Whether each item's original answer is the model's prediction.
    predicted: list[bool]
    weights: str
    seconds: float = 0.0
    modules: list[list[str]] = field(default_factory=list)

    @property
    def num_layers(self) -> int:
        return int(self.per_item.shape[1])

    def total(self, forms: Iterable[str | None] | None = None) -> list[float]:
        """``S_l`` summed over every item, or over the items of ``forms``."""
        if forms is None:
            rows = self.per_item
        else:
            wanted = set(forms)
            mask = torch.tensor([form in wanted for form in self.forms], dtype=torch.bool)
            rows = self.per_item[mask]
        return rows.sum(0).tolist()

    def count(self, forms: Iterable[str | None] | None = None) -> int:
        if forms is None:
            return len(self.forms)
        wanted = set(forms)
        return sum(form in wanted for form in self.forms)


def lga_scores(
    model: torch.nn.Module,
    tok: Any,
    items: Sequence[ProxyItem],
    *,
    weights: ScoredWeights = "mlp_out",
    original_answer: OriginalAnswer = "ground_truth",
    batch_size: int = 8,
    spec: ArchSpec | None = None,
    progress: bool = False,
) -> LayerScores:
    """Score every layer of ``model`` on ``items`` (two backward passes per batch of items).

    Deterministic for given items: no sampling happens here (the proxy sample is seeded in
    :func:`~.proxy.proxy_items`) and the model runs in eval mode.
    """
    if not items:
        raise ValueError("LGA needs at least one proxy item")
    started = time.perf_counter()
    spec = spec or arch_spec(model)
    layers = num_layers(model, spec)
    modules = [scored_modules(spec, layer, weights) for layer in range(layers)]
    flat = [name for names in modules for name in names]
    check_factorable(model, flat)
    was_training = model.training
    model.eval()
    try:
        pairs = answer_pairs(model, tok, items, original_answer, batch_size)
        parts = []
        starts = range(0, len(pairs), batch_size)
        for start in progress_bar(starts, desc="LGA scores", unit="batch", disable=not progress):
            parts.append(item_inner_products(pairs[start : start + batch_size], model, tok, flat))
    finally:
        model.train(was_training)
    per_module = torch.cat(parts)
    per_layer = torch.zeros(len(items), layers, dtype=torch.float64)
    column = 0
    for layer, names in enumerate(modules):
        per_layer[:, layer] = per_module[:, column : column + len(names)].sum(1)
        column += len(names)
    seconds = time.perf_counter() - started
    logger.info("LGA scored %d layers on %d proxy items in %.1f s", layers, len(items), seconds)
    return LayerScores(
        per_item=per_layer,
        forms=[item.form for item in items],
        predicted=[pair.predicted for pair in pairs],
        weights=weights,
        seconds=seconds,
        modules=modules,
    )
