"""Adam for a changing set of neurons: moments and step counts kept per row.

PAC's exact mode trains small gathered tensors whose rows are neurons (keys or values), and the
set of neurons changes at every re-trace. Plain ``torch.optim.Adam`` keeps one step count per
tensor and cannot follow rows that come and go, so the moments live here, keyed by neuron id:

* a neuron that stays selected across a re-trace keeps its first and second moments and its
  own step count (so bias correction stays right for it);
* a newly selected neuron starts from zero moments and step 0;
* a neuron that drops out loses its moments (if it comes back later it starts afresh), so it
  stops moving the moment it is deselected -- unlike a shared optimiser, whose stale momentum
  keeps moving it.

With every neuron always selected this is exactly ``torch.optim.Adam`` (same formula, same
order of operations). Moments are float32 whatever the weight dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AdamSettings:
    lr: float
    betas: tuple[float, float]
    eps: float


@dataclass
class RowMoments:
    """Adam state of the rows ``ids`` of one tensor: ``exp_avg``/``exp_avg_sq`` are ``[n, ...]``."""

    ids: torch.Tensor
    exp_avg: torch.Tensor
    exp_avg_sq: torch.Tensor
    steps: torch.Tensor

    @classmethod
    def fresh(cls, ids: torch.Tensor, row_shape: tuple[int, ...], device: torch.device) -> "RowMoments":
        shape = (len(ids), *row_shape)
        return cls(
            ids=ids.to(device),
            exp_avg=torch.zeros(shape, dtype=torch.float32, device=device),
            exp_avg_sq=torch.zeros(shape, dtype=torch.float32, device=device),
            steps=torch.zeros(len(ids), dtype=torch.float64, device=device),
        )

    def follow(self, ids: torch.Tensor) -> "RowMoments":
        """State for the rows ``ids``: carried over where a row was here before, fresh otherwise."""
        ids = ids.to(self.ids.device)
        moved = RowMoments.fresh(ids, tuple(self.exp_avg.shape[1:]), self.ids.device)
        if len(self.ids) == 0 or len(ids) == 0:
            return moved
        position = torch.full((int(max(self.ids.max(), ids.max())) + 1,), -1, device=ids.device)
        position[self.ids] = torch.arange(len(self.ids), device=ids.device)
        old = position[ids]
        kept = old >= 0
        moved.exp_avg[kept] = self.exp_avg[old[kept]]
        moved.exp_avg_sq[kept] = self.exp_avg_sq[old[kept]]
        moved.steps[kept] = self.steps[old[kept]]
        return moved

    def update(self, values: torch.Tensor, grad: torch.Tensor, settings: AdamSettings) -> torch.Tensor:
        """One Adam step of the rows ``values`` (``[n, ...]``, rows in the order of ``ids``).

        Returns the new values in the dtype of ``values``; the moments are updated in place.
        """
        beta1, beta2 = settings.betas
        grad = grad.float()
        self.steps += 1
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        per_row = (-1,) + (1,) * (values.dim() - 1)
        # Bias corrections in float64, like the Python floats torch.optim.Adam computes them in.
        step_size = (settings.lr / (1 - beta1**self.steps)).float().reshape(per_row)
        correction2_sqrt = ((1 - beta2**self.steps) ** 0.5).float().reshape(per_row)
        denom = (self.exp_avg_sq.sqrt() / correction2_sqrt).add_(settings.eps)
        return values.float().addcdiv(self.exp_avg * -step_size, denom).to(values.dtype)
