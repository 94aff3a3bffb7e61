"""Training only the selected keys and values: gathered slices, zero-valued deltas, write-back.

PAC's exact mode never gives a whole weight matrix a gradient or an optimiser state. Before a
step the selected neurons' rows of the neuron-major view are copied into a small leaf tensor
(``[n, d]``); forward hooks add ``f(slice - slice.detach())`` to the projection's output, which
is zero in value (the forward pass is the model's own, bit for bit) but passes the gradient of
the loss to the slice exactly as autograd would give it to those rows of the full weight:

* key slice (rows of the input projection): ``out[..., idx] += x @ delta.T``;
* value slice (columns of the output projection): ``out += h[..., idx] @ delta``.

After the optimiser step the new rows are written back with ``index_copy_`` through the same
view, so every other entry of the weight -- and every other parameter -- stays bit-exact.
Slices live on their weight's device; hook inputs are moved there and results moved back to the
output's device, which is all a model split over several GPUs needs.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .projections import Projection


@dataclass(frozen=True)
class NeuronSlice:
    """Trainable copies of some neurons of one projection.

    ``rows`` is ``[n, d]`` (neuron-major). ``bias`` is ``None`` unless biases are trained: then
    it holds the input-bias entries ``[n]`` of a key slice, or the whole output bias ``[d]`` of
    a value slice (the output bias belongs to no single neuron).
    """

    projection: Projection
    indices: torch.Tensor
    rows: torch.Tensor
    bias: torch.Tensor | None

    def trainable(self) -> list[torch.Tensor]:
        return [self.rows] if self.bias is None else [self.rows, self.bias]


def gather_slice(projection: Projection, indices: torch.Tensor, with_bias: bool) -> NeuronSlice:
    """Copy the current rows ``indices`` of ``projection`` into fresh leaves that require grad."""
    indices = indices.to(projection.device)
    rows = projection.neuron_major(projection.module.weight).detach().index_select(0, indices)
    bias = projection.bias if with_bias else None
    if bias is not None:
        bias = bias.detach().index_select(0, indices) if projection.role == "key" else bias.detach().clone()
        bias.requires_grad_(True)
    return NeuronSlice(projection, indices, rows.requires_grad_(True), bias)


@torch.no_grad()
def write_back(neuron_slice: NeuronSlice, rows: torch.Tensor, bias: torch.Tensor | None) -> None:
    """Write new values of ``neuron_slice``'s entries into the live weight (and bias)."""
    projection = neuron_slice.projection
    projection.neuron_major(projection.module.weight).index_copy_(0, neuron_slice.indices, rows)
    if bias is not None:
        if projection.role == "key":
            projection.bias.index_copy_(0, neuron_slice.indices, bias)
        else:
            projection.bias.copy_(bias)


def _zero_delta(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """Zero in value, identity in gradient."""
    return None if tensor is None else tensor - tensor.detach()


def _key_hook(neuron_slice: NeuronSlice) -> Any:
    def hook(_module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
        x = args[0].to(neuron_slice.rows.device)
        delta = F.linear(x, _zero_delta(neuron_slice.rows), _zero_delta(neuron_slice.bias))
        return output.index_add(-1, neuron_slice.indices.to(output.device), delta.to(output.device))

    return hook


def _value_hook(neuron_slice: NeuronSlice) -> Any:
    def hook(_module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
        hidden = args[0].to(neuron_slice.rows.device).index_select(-1, neuron_slice.indices)
        delta = hidden @ _zero_delta(neuron_slice.rows)
        if neuron_slice.bias is not None:
            delta = delta + _zero_delta(neuron_slice.bias)
        return output + delta.to(output.device)

    return hook


@contextmanager
def slices_in_graph(slices: Sequence[NeuronSlice]) -> Iterator[None]:
    """Inside the block, forward passes route the loss's gradient to ``slices``."""
    with ExitStack() as stack:
        for neuron_slice in slices:
            make_hook = _key_hook if neuron_slice.projection.role == "key" else _value_hook
            handle = neuron_slice.projection.module.register_forward_hook(make_hook(neuron_slice))
            stack.callback(handle.remove)
        yield
