"""The FFN projections PAC edits, seen neuron by neuron.

A hidden neuron ``i`` of a layer's FFN owns a *key* (row ``i`` of the input projection, what
the neuron reads from the residual stream) and a *value* (column ``i`` of the output
projection, what it writes back). PAC traces, selects and trains keys and values per neuron, so
everything downstream works on a *neuron-major* ``[d_ff, d]`` view of either matrix: row ``i``
is neuron ``i``'s key or value. The view hides the storage layout (``nn.Linear`` is
``(out, in)``, GPT-2's ``Conv1D`` is ``(in, out)``) and, being a view, writes through to the
live weight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from ...core.archspec import arch_spec, num_layers
from ...core.validation import check_layers
from ...core.weights import is_transposed_linear

Role = Literal["key", "value"]


@dataclass(frozen=True)
class Projection:
    """One FFN input (``role='key'``) or output (``role='value'``) projection of one layer."""

    name: str
    layer: int
    role: Role
    module: nn.Module = field(compare=False, repr=False)

    @property
    def weight_name(self) -> str:
        return f"{self.name}.weight"

    @property
    def bias_name(self) -> str:
        return f"{self.name}.bias"

    @property
    def bias(self) -> torch.Tensor | None:
        return getattr(self.module, "bias", None)

    @property
    def num_neurons(self) -> int:
        return self.neuron_major(self.module.weight).shape[0]

    @property
    def device(self) -> torch.device:
        return self.module.weight.device

    def neuron_major(self, tensor: torch.Tensor) -> torch.Tensor:
        """A ``[d_ff, d]`` view of ``tensor`` (the weight or its gradient, stored like the weight)."""
        out_in = tensor.T if is_transposed_linear(self.module) else tensor
        return out_in if self.role == "key" else out_in.T


def ffn_projections(model: nn.Module, layers: list[int] | None, overrides: dict[str, str]) -> list[Projection]:
    """The key and value projections of ``layers`` (all layers when None), layer by layer.

    Gated FFNs (Llama, Qwen, Mistral) also have a ``gate_proj``; PAC keeps it frozen, so it is
    not listed.
    """
    spec = arch_spec(model, overrides)
    count = num_layers(model, spec)
    chosen = list(range(count)) if layers is None else sorted(set(layers))
    check_layers("key 'layers'", chosen, count)
    projections = []
    for layer in chosen:
        for role, name in (("key", spec.mlp_in_name(layer)), ("value", spec.mlp_out_name(layer))):
            projections.append(Projection(name, layer, role, model.get_submodule(name)))
    return projections
