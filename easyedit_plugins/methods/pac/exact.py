"""PAC's exact optimiser: only the currently selected keys and values ever move.

Each objective (``critical`` for the edit loss, ``negative`` for the contrastive loss) has its
own per-neuron Adam state (:class:`~.adam.RowMoments`), so the moments of one loss never push
the entries of the other. At a re-trace the moments follow the neurons: kept for neurons that
stay in the same set, fresh for new ones, dropped for the rest (see :mod:`.adam`). Optimiser
memory is therefore ``2 x (N + M) x d`` floats per projection, not two copies of every matrix.

With :class:`~.anchors.KeyAnchors` (``key_max_drift``), every new key value is pulled back into
its ball around the pre-edit key before it is written.
"""

from __future__ import annotations

import torch
from torch import nn

from .adam import AdamSettings, RowMoments
from .anchors import KeyAnchors
from .objective import MiniBatch, answer_nll
from .projections import Projection
from .slices import NeuronSlice, gather_slice, slices_in_graph, write_back
from .tracing import Objective, PathSelection

OBJECTIVES: tuple[Objective, ...] = ("critical", "negative")


class ExactPathOptimizer:
    """Adam on gathered slices of the selected neurons, written back after every step."""

    def __init__(
        self,
        projections: list[Projection],
        settings: AdamSettings,
        train_biases: bool,
        anchors: KeyAnchors | None = None,
    ) -> None:
        self._projections = projections
        self._settings = settings
        self._train_biases = train_biases
        self._anchors = anchors
        self._indices: dict[str, dict[str, torch.Tensor]] = {objective: {} for objective in OBJECTIVES}
        self._moments: dict[tuple[str, str], RowMoments] = {}

    def select(self, selection: PathSelection) -> None:
        """Train ``selection``'s neurons from now on; the moments follow the neurons."""
        for objective in OBJECTIVES:
            chosen = self._indices[objective] = selection.of(objective)
            for projection in self._projections:
                ids = chosen[projection.name]
                if self._anchors is not None and projection.role == "key":
                    self._anchors.remember(projection, ids)
                width = projection.neuron_major(projection.module.weight).shape[1]
                self._follow((objective, projection.weight_name), ids, (width,), projection.device)
                if self._train_biases and projection.bias is not None:
                    key = (objective, projection.bias_name)
                    if projection.role == "key":
                        self._follow(key, ids, (), projection.device)
                    else:  # the whole output bias: one row, always the same
                        single_row = torch.zeros(1, dtype=torch.long)
                        self._follow(key, single_row, tuple(projection.bias.shape), projection.device)

    def _follow(
        self, key: tuple[str, str], ids: torch.Tensor, row_shape: tuple[int, ...], device: torch.device
    ) -> None:
        current = self._moments.get(key)
        self._moments[key] = RowMoments.fresh(ids, row_shape, device) if current is None else current.follow(ids)

    def state_numel(self) -> int:
        """Floats held in Adam moments (first and second) right now."""
        return sum(m.exp_avg.numel() + m.exp_avg_sq.numel() for m in self._moments.values())

    def step(
        self, model: nn.Module, batch: MiniBatch, labels: torch.Tensor, objective: Objective, weight: float
    ) -> float:
        """One Adam step of ``weight`` x the NLL of ``labels`` on the ``objective`` set; returns the NLL."""
        slices = [
            gather_slice(projection, self._indices[objective][projection.name], self._train_biases)
            for projection in self._projections
            if len(self._indices[objective][projection.name])
        ]
        with slices_in_graph(slices), torch.enable_grad():
            loss = answer_nll(model, batch, labels)
            trainable = [tensor for neuron_slice in slices for tensor in neuron_slice.trainable()]
            grads = iter(torch.autograd.grad(loss * weight, trainable))
        for neuron_slice in slices:
            self._apply(objective, neuron_slice, next(grads), next(grads) if neuron_slice.bias is not None else None)
        return loss.item()

    @torch.no_grad()
    def _apply(
        self, objective: Objective, neuron_slice: NeuronSlice, rows_grad: torch.Tensor, bias_grad: torch.Tensor | None
    ) -> None:
        projection = neuron_slice.projection
        rows = self._moments[(objective, projection.weight_name)].update(neuron_slice.rows, rows_grad, self._settings)
        if self._anchors is not None and projection.role == "key":
            rows = self._anchors.bound(projection, neuron_slice.indices, rows)
        bias = None
        if neuron_slice.bias is not None and bias_grad is not None:
            moments = self._moments[(objective, projection.bias_name)]
            if projection.role == "key":
                bias = moments.update(neuron_slice.bias, bias_grad, self._settings)
            else:
                bias = moments.update(neuron_slice.bias[None], bias_grad[None], self._settings)[0]
        write_back(neuron_slice, rows, bias)
