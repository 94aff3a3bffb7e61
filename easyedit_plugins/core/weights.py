"""Reading, writing and backing up the weights an edit changes.

Editing methods change a handful of parameters in place. EasyEdit expects the originals back as
``weights_copy`` (parameter name -> pre-edit tensor) so it can undo the edit; the
:class:`WeightBackup` takes that copy the first time a method is about to touch a parameter, so
no method has to know in advance which parameters it will change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


def get_parameter(model: nn.Module, name: str) -> nn.Parameter:
    """The parameter called ``name`` (as in ``model.named_parameters()``)."""
    try:
        return model.get_parameter(name)
    except AttributeError as error:
        raise KeyError(f"the model has no parameter {name!r}") from error


class WeightBackup:
    """Pre-edit copies of parameters, taken on first use.

    ``offload=True`` keeps the copies in CPU memory, which is what a 7-8B model on one GPU can
    afford; restoring moves them back to each parameter's own device.
    """

    def __init__(self, model: nn.Module, offload: bool = False) -> None:
        self._model = model
        self._offload = offload
        self._originals: dict[str, torch.Tensor] = {}

    def save(self, name: str) -> nn.Parameter:
        """Copy parameter ``name`` unless it was copied before; return the live parameter."""
        parameter = get_parameter(self._model, name)
        if name not in self._originals:
            copy = parameter.detach().clone()
            self._originals[name] = copy.cpu() if self._offload else copy
        return parameter

    @property
    def originals(self) -> dict[str, torch.Tensor]:
        return dict(self._originals)

    def restore(self) -> None:
        """Write every saved copy back (bit for bit)."""
        restore_weights(self._model, self._originals)


def restore_weights(model: nn.Module, originals: dict[str, torch.Tensor]) -> None:
    """Write ``originals`` (name -> tensor) back into ``model``'s parameters."""
    with torch.no_grad():
        for name, value in originals.items():
            parameter = get_parameter(model, name)
            parameter.copy_(value.to(device=parameter.device, dtype=parameter.dtype))


@dataclass
class EditOutcome:
    """What an editing method reports back to the host.

    ``originals`` maps every parameter the edit changed to its pre-edit value; ``info`` holds
    diagnostics worth logging or saving (chosen layers, residual norms, timings).
    """

    originals: dict[str, torch.Tensor]
    info: dict[str, Any] = field(default_factory=dict)


def is_transposed_linear(module: nn.Module) -> bool:
    """True for GPT-2's ``Conv1D``, which stores its weight as (in, out) instead of (out, in)."""
    return type(module).__name__ == "Conv1D"


def weight_out_in(module: nn.Module) -> torch.Tensor:
    """The module's weight as an (out_features, in_features) view, whatever its storage."""
    weight = module.weight
    return weight.T if is_transposed_linear(module) else weight


def add_to_weight(module: nn.Module, delta_out_in: torch.Tensor) -> None:
    """Add an (out, in)-shaped update to a Linear or Conv1D weight, in its dtype and device."""
    weight = module.weight
    delta = delta_out_in.T if is_transposed_linear(module) else delta_out_in
    if delta.shape != weight.shape:
        raise ValueError(f"update of shape {tuple(delta_out_in.shape)} does not fit weight {tuple(weight.shape)}")
    with torch.no_grad():
        weight.add_(delta.to(device=weight.device, dtype=weight.dtype))
