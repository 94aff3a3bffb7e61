"""The authors' optimiser, kept for comparison: one Adam over the whole FFN matrices.

In ``SonglinZhai/PAC`` a single ``torch.optim.Adam`` holds every trainable FFN matrix; each step
computes the full gradient and zeroes it outside the selected keys/values before stepping. The
zeroed entries still have Adam momentum from earlier steps (the edit step's critical entries
during the contrastive step, previously selected neurons after a re-trace), so they keep moving.
This mode reproduces that, with its cost: full-matrix gradients and two full-matrix moment
buffers per trainable projection.
"""

from __future__ import annotations

import torch
from torch import nn

from .adam import AdamSettings
from .objective import MiniBatch, answer_nll
from .projections import Projection
from .tracing import Objective, PathSelection


class SharedPathOptimizer:
    """``torch.optim.Adam`` over the full projections, gradients masked to the selected set."""

    def __init__(self, projections: list[Projection], settings: AdamSettings, train_biases: bool) -> None:
        self._projections = projections
        self._train_biases = train_biases
        parameters = []
        for projection in projections:
            parameters.append(projection.module.weight)
            if train_biases and projection.bias is not None:
                parameters.append(projection.bias)
        for parameter in parameters:
            parameter.requires_grad_(True)
        self._optimizer = torch.optim.Adam(
            parameters, lr=settings.lr, betas=settings.betas, eps=settings.eps, weight_decay=0.0
        )
        self._selection: PathSelection | None = None

    def select(self, selection: PathSelection) -> None:
        self._selection = selection

    def state_numel(self) -> int:
        """Floats held in Adam moments (first and second) right now."""
        return sum(
            tensor.numel()
            for state in self._optimizer.state.values()
            for key, tensor in state.items()
            if key in ("exp_avg", "exp_avg_sq")
        )

    def step(
        self, model: nn.Module, batch: MiniBatch, labels: torch.Tensor, objective: Objective, weight: float
    ) -> float:
        """Backward through the full matrices, mask to the ``objective`` set, step Adam."""
        if self._selection is None:
            raise RuntimeError("select() must come before the first step()")
        chosen = self._selection.of(objective)
        self._optimizer.zero_grad(set_to_none=True)
        with torch.enable_grad():
            loss = answer_nll(model, batch, labels)
            (loss * weight).backward()
        with torch.no_grad():
            for projection in self._projections:
                keep = torch.zeros(projection.num_neurons, dtype=torch.bool, device=projection.device)
                keep[chosen[projection.name].to(projection.device)] = True
                projection.neuron_major(projection.module.weight.grad).masked_fill_(~keep[:, None], 0.0)
                bias = projection.bias
                if self._train_biases and bias is not None and projection.role == "key":
                    bias.grad.masked_fill_(~keep, 0.0)  # the output bias is left whole, as the authors do
        self._optimizer.step()
        return loss.item()
