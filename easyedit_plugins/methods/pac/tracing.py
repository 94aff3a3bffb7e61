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
gives the output gradients, and the neuron-major gradient is ``G = A^T B`` over every token of
the edit set, with ``A`` the neuron-side rows (``[tokens, d_ff]``: a key's output gradients, a
value's inputs) and ``B`` the hidden-side rows (``[tokens, d]``). Only ``A`` and ``B`` are kept
(float32, on the weight's device); :func:`importance_from_factors` forms ``G`` a block of hidden
dimensions at a time, because the z-score of a hidden dimension needs only its own column. A
full float32 ``G`` per projection would be a copy of every traced FFN matrix (15 GiB at
Llama-3-8B's size, next to the weights); the factors of a short edit set are a few MiB. No
parameter ever holds a ``.grad``.
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


#: Hidden dimensions per block when the importance is formed from the gradient's factors.
IMPORTANCE_BLOCK = 512


def _absolute_z_score_sums(gradient_columns: torch.Tensor) -> torch.Tensor:
    """Per neuron (row), the sum over the given columns of ``|z|``, z-scored within each column."""
    mean = gradient_columns.mean(dim=0, keepdim=True)
    std = gradient_columns.std(dim=0, keepdim=True)
    z_scores = torch.where(std > 0, (gradient_columns - mean) / std, torch.zeros_like(gradient_columns))
    return z_scores.abs().sum(dim=1)


def neuron_importance(gradient: torch.Tensor) -> torch.Tensor:
    """Importance of each neuron from a neuron-major ``[d_ff, d]`` gradient.

    Column ``j`` of the neuron-major matrix is row ``j`` of the paper's ``[d, d_ff]`` layout. The
    standard deviation is the unbiased one (``torch.std``'s default, as in the authors' code); a
    hidden dimension whose gradient is the same for every neuron has no ranking to give and
    contributes z-scores of 0 instead of the authors' NaN.
    """
    return _absolute_z_score_sums(gradient) / gradient.shape[1]


def importance_from_factors(
    neuron_rows: torch.Tensor, hidden_rows: torch.Tensor, block: int = IMPORTANCE_BLOCK
) -> torch.Tensor:
    """:func:`neuron_importance` of ``neuron_rows^T @ hidden_rows`` without forming it whole.

    ``neuron_rows`` is ``[tokens, d_ff]`` and ``hidden_rows`` ``[tokens, d]``; the gradient is
    built ``block`` hidden dimensions at a time, so the memory is ``d_ff x block`` instead of
    ``d_ff x d``. Equal to the whole-matrix result up to floating-point summation order.
    """
    if neuron_rows.shape[0] != hidden_rows.shape[0]:
        raise ValueError(f"factors of {neuron_rows.shape[0]} and {hidden_rows.shape[0]} tokens")
    if block < 1:
        raise ValueError(f"block must be positive, got {block}")
    width = hidden_rows.shape[1]
    total = torch.zeros(neuron_rows.shape[1], dtype=torch.float32, device=neuron_rows.device)
    for start in range(0, width, block):
        total += _absolute_z_score_sums(neuron_rows.T @ hidden_rows[:, start : start + block])
    return total / width


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


@dataclass
class GradientFactors:
    """The neuron-major weight gradient ``neuron_rows^T @ hidden_rows`` of one projection, unformed."""

    neuron_rows: torch.Tensor
    hidden_rows: torch.Tensor

    def importance(self) -> torch.Tensor:
        return importance_from_factors(self.neuron_rows, self.hidden_rows)


def edit_loss_gradient_factors(
    model: nn.Module, projections: list[Projection], batches: Iterable[MiniBatch]
) -> dict[str, GradientFactors]:
    """The factors of each projection's edit-loss gradient, summed over ``batches``.

    Summing the gradients over the mini-batches is stacking their token rows: ``sum_b A_b^T B_b
    = [A_1; A_2; ...]^T [B_1; B_2; ...]``. Rows of padding carry zero output gradients and add
    nothing.
    """
    names = [p.name for p in projections]
    neuron_side: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    hidden_side: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    for batch in batches:
        with ExitStack() as stack:
            stack.enter_context(graph_from_embeddings(model))
            inputs = stack.enter_context(capture_inputs(model, names))
            outputs = stack.enter_context(capture_outputs(model, names))
            with torch.enable_grad():
                loss = answer_nll(model, batch, batch.edit_labels)
                output_grads = torch.autograd.grad(loss, [outputs[name] for name in names])
        for p, output_grad in zip(projections, output_grads):
            x = inputs[p.name].detach().to(p.device).reshape(-1, inputs[p.name].shape[-1]).float()
            g = output_grad.to(p.device).reshape(-1, output_grad.shape[-1]).float()
            # key: dL/dW_in[i, :] = sum_t g_t[i] x_t; value: dL/dW_out[:, i] = sum_t x_t[i] g_t.
            neuron, hidden = (g, x) if p.role == "key" else (x, g)
            neuron_side[p.name].append(neuron)
            hidden_side[p.name].append(hidden)
    return {name: GradientFactors(torch.cat(neuron_side[name]), torch.cat(hidden_side[name])) for name in names}


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
    factors = edit_loss_gradient_factors(model, projections, batches)
    importance = {name: factor.importance() for name, factor in factors.items()}
    return select_paths(importance, n_critical, n_negative)
