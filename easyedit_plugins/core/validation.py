"""One check of layer indices against the model, shared by every method that edits layers.

A layer index reaches the model as part of a module name (``transformer.h.{}.mlp.c_proj``), so
an index the model does not have surfaces as ``AttributeError: ModuleList has no attribute 99``
from deep inside torch, and a negative one either fails the same way or silently means "count
from the end" where an index is used directly. Methods call :func:`check_layers` with the
hyperparameter key the indices came from before they touch the model, so the error names the
key, the bad indices and the model's layer count.
"""

from __future__ import annotations

from typing import Iterable

from torch import nn

from .archspec import ArchSpec, num_layers


class LayerIndexError(ValueError):
    """A hyperparameter names a layer the model does not have (the message names the key)."""


def check_layers(key: str, layers: Iterable[int], total: int) -> None:
    """Raise :class:`LayerIndexError` unless every index in ``layers`` is in ``0..total-1``.

    ``key`` names where the indices come from in words a user can find in their file:
    ``'layers'``, ``'v_loss_layer'``, ``stage 'ins' 'layers'``.
    """
    indices = list(layers)
    outside = sorted({layer for layer in indices if isinstance(layer, bool) or not isinstance(layer, int)
                      or not 0 <= layer < total}, key=repr)
    if outside:
        raise LayerIndexError(
            f"{key} names layer(s) {outside} outside the model: it has {total} layers (0-{total - 1})"
        )


def check_model_layers(model: nn.Module, spec: ArchSpec, checks: dict[str, Iterable[int]]) -> int:
    """Check every ``{key: indices}`` against ``model``; returns its layer count."""
    total = num_layers(model, spec)
    for key, layers in checks.items():
        check_layers(key, layers, total)
    return total
