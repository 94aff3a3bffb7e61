"""Replaying the layers below an edit instead of recomputing them.

While a target ``z`` at layer ``l`` is optimised, nothing below ``l`` changes: the same prompts
go through the same unchanged layers at every step. EasyEdit runs the whole model at every step
anyway. :func:`replay_prefix` runs layers ``0..l`` once and then, for the duration of the block,
swaps them for stand-ins that hand back the recorded output, so each step computes only the
layers above ``l``. For MEMIT's ``z`` at the last critical layer, and for BLUE's two targets,
that removes most of the forward pass when the critical layers sit high in the model.

The stand-ins return exactly what the real layers returned (same tensors, same tuple shape), so
the result is bit-for-bit the same as a full forward pass.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn

from .archspec import ArchSpec
from .hooks import first_tensor, forward_until, with_first_tensor


class _ReplayedLayer(nn.Module):
    """Stands in for a decoder layer: passes its input on, or returns a recorded output."""

    def __init__(self, recorded: Any, replace_hidden: torch.Tensor | None) -> None:
        super().__init__()
        self._recorded = recorded
        self._hidden = replace_hidden

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        hidden = self._hidden
        if hidden is None:
            hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        return with_first_tensor(self._recorded, hidden)


@contextmanager
def replay_prefix(model: nn.Module, spec: ArchSpec, layer: int, inputs: dict[str, torch.Tensor]) -> Iterator[torch.Tensor]:
    """Run layers ``0..layer`` on ``inputs`` once; inside the block, forward passes replay them.

    Yields the recorded output hidden states of ``layer``. Forward passes inside the block must
    use the same ``inputs``. Hooks on ``spec.layer_name(layer)`` must be registered inside the
    block (they then attach to the stand-in, whose output they see and may change).
    """
    container = model.get_submodule(spec.layers_container)
    recorded: dict[int, Any] = {}
    handles = []
    for index in range(layer + 1):

        def record(_module: nn.Module, _args: Any, output: Any, _index: int = index) -> None:
            recorded[_index] = output

        handles.append(container[index].register_forward_hook(record))
    try:
        with torch.no_grad():
            forward_until(model, spec.layer_name(layer), inputs)
    finally:
        for handle in handles:
            handle.remove()
    originals = [container[index] for index in range(layer + 1)]
    top = first_tensor(recorded[layer])
    try:
        for index in range(layer + 1):
            container[index] = _ReplayedLayer(recorded[index], top if index == layer else None)
        yield top
    finally:
        for index, module in enumerate(originals):
            container[index] = module
