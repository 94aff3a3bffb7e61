"""Bounding how far PAC's trained keys move from where they started (``key_max_drift``).

Training a key changes which inputs its neuron responds to; unbounded, the critical keys of a
joint edit grow toward directions every prompt shares and their neurons fire everywhere
(``benchmarks/bench_pac_regimes.py`` measures this). The bound keeps each key within a ball of
radius ``key_max_drift * |k0|`` around its pre-edit value ``k0``: after every optimiser step a
key outside the ball is pulled back onto it along ``k - k0`` (a projection, so Adam's moments are
left as they are and the loss is free to use the movement the ball allows).

A neuron only moves while it is selected, so the first time it is selected (critical or
negative) its row is still the pre-edit one: that is when its anchor is taken. Memory is one row
per neuron ever selected, never a copy of the whole matrix.
"""

from __future__ import annotations

import torch

from .projections import Projection


class KeyAnchors:
    """The pre-edit rows of the keys selected so far, and the projection onto their balls."""

    def __init__(self, max_drift: float) -> None:
        self._max_drift = max_drift
        self._rows: dict[str, dict[int, torch.Tensor]] = {}

    @torch.no_grad()
    def remember(self, projection: Projection, indices: torch.Tensor) -> None:
        """Take the anchors of ``indices`` not seen before (call before they are ever stepped)."""
        known = self._rows.setdefault(projection.name, {})
        weight = projection.neuron_major(projection.module.weight)
        for neuron in indices.tolist():
            if neuron not in known:
                known[neuron] = weight[neuron].detach().float().clone()

    @torch.no_grad()
    def bound(self, projection: Projection, indices: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """``rows`` (the new values of keys ``indices``) pulled back into their balls."""
        known = self._rows[projection.name]
        anchors = torch.stack([known[neuron] for neuron in indices.tolist()]).to(rows.device)
        delta = rows.float() - anchors
        limit = self._max_drift * anchors.norm(dim=1, keepdim=True)
        scale = torch.clamp(limit / delta.norm(dim=1, keepdim=True).clamp_min(1e-12), max=1.0)
        return (anchors + delta * scale).to(rows.dtype)
