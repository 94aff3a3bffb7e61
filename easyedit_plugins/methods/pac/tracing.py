"""Tracing PAC's critical transmission paths: which keys and values the edit depends on most.

For every traced projection the signed gradient of the edit loss with respect to its weight is
summed over the whole edit set (one gradient per mini-batch of the edit loss, as the authors'
assessment loop does). Arranged ``[d, d_ff]``, every row (one hidden dimension) is z-scored
across the ``d_ff`` neurons; the absolute z-scores averaged over the rows give one importance
per neuron. The z-score makes the ranking scale-free per hidden dimension, so a few dimensions
with large gradients do not decide alone. The ``N`` most important keys (and, independently,
values) of each layer form the critical set, the ``M`` least important the negative set.

The weight gradients are formed from activations rather than by ``requires_grad`` on the
weights: a forward hook keeps each projection's input and output, one ``autograd.grad`` call
gives the output gradients, and ``grad W = sum_t g_t x_t^T`` is accumulated in float32 in the
neuron-major layout. Only the float32 accumulators persist (one ``[d_ff, d]`` matrix per traced
projection, on its weight's device); no parameter ever holds a ``.grad``.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator, Literal

import torch
from torch import nn

from ...core.hooks import capture_inputs, capture_outputs
from .objective import MiniBatch, answer_nll
from .projections import Projection

#: The set each of PAC's two losses trains: the edit loss the critical keys/values, the
#: contrastive loss the negative ones.
Objective = Literal["critical", "negative"]


@dataclass(frozen=True)
class PathSelection:
    """Per projection name: the critical and negative neuron indices, and every importance."""

    critical: dict[str, torch.Tensor]
    negative: dict[str, torch.Tensor]
    importance: dict[str, torch.Tensor]

    def of(self, objective: Objective) -> dict[str, torch.Tensor]:
        return self.critical if objective == "critical" else self.negative


def neuron_importance(gradient: torch.Tensor) -> torch.Tensor:
    """Importance of each neuron from a neuron-major ``[d_ff, d]`` gradient.

    Column ``j`` of the neuron-major matrix is row ``j`` of the paper's ``[d, d_ff]`` layout. The
    standard deviation is the unbiased one (``torch.std``'s default, as in the authors' code); a
    hidden dimension whose gradient is the same for every neuron has no ranking to give and
    contributes z-scores of 0 instead of the authors' NaN.
    """
    mean = gradient.mean(dim=0, keepdim=True)
    std = gradient.std(dim=0, keepdim=True)
    z_scores = torch.where(std > 0, (gradient - mean) / std, torch.zeros_like(gradient))
    return z_scores.abs().mean(dim=1)


@contextmanager
def graph_from_embeddings(model: nn.Module) -> Iterator[None]:
    """Make the input embeddings a leaf that requires grad.

    With every weight frozen a forward pass builds no graph, so there would be nothing to
    differentiate; a leaf at the embeddings gives one without touching any parameter.
    """
    handle = model.get_input_embeddings().register_forward_hook(
        lambda _module, _args, output: output.detach().requires_grad_()
    )
    try:
        yield
    finally:
        handle.remove()


def edit_loss_gradients(
    model: nn.Module, projections: list[Projection], batches: Iterable[MiniBatch]
) -> dict[str, torch.Tensor]:
    """Neuron-major float32 gradients of the edit loss, summed over ``batches``."""
    totals = {
        p.name: torch.zeros(p.neuron_major(p.module.weight).shape, dtype=torch.float32, device=p.device)
        for p in projections
    }
    names = [p.name for p in projections]
    for batch in batches:
        with ExitStack() as stack:
            stack.enter_context(graph_from_embeddings(model))
            inputs = stack.enter_context(capture_inputs(model, names))
            outputs = stack.enter_context(capture_outputs(model, names))
            with torch.enable_grad():
                loss = answer_nll(model, batch, batch.edit_labels)
                output_grads = torch.autograd.grad(loss, [outputs[name] for name in names])
        for p, output_grad in zip(projections, output_grads):
            x = inputs[p.name].to(p.device).reshape(-1, inputs[p.name].shape[-1]).float()
            g = output_grad.to(p.device).reshape(-1, output_grad.shape[-1]).float()
            # key: dL/dW_in[i, :] = sum_t g_t[i] x_t; value: dL/dW_out[:, i] = sum_t x_t[i] g_t.
            totals[p.name] += g.T @ x if p.role == "key" else x.T @ g
    return totals


def select_paths(importance: dict[str, torch.Tensor], n_critical: int, n_negative: int) -> PathSelection:
    """The ``n_critical`` most and ``n_negative`` least important neurons of each projection.

    Stable sorting, so ties go to the lower neuron index (as in the authors' code).
    """
    critical, negative = {}, {}
    for name, scores in importance.items():
        if n_critical > scores.numel():
            raise ValueError(f"n_critical={n_critical} exceeds the {scores.numel()} neurons of {name}")
        critical[name] = torch.argsort(scores, descending=True, stable=True)[:n_critical]
        negative[name] = torch.argsort(scores, descending=False, stable=True)[:n_negative]
    return PathSelection(critical, negative, importance)


def trace_paths(
    model: nn.Module,
    projections: list[Projection],
    batches: Iterable[MiniBatch],
    n_critical: int,
    n_negative: int,
) -> PathSelection:
    """Trace the critical and negative paths of the edit set on the model as it is now."""
    gradients = edit_loss_gradients(model, projections, batches)
    importance = {name: neuron_importance(gradient) for name, gradient in gradients.items()}
    return select_paths(importance, n_critical, n_negative)
