"""State an editing method keeps about one model between calls.

Sequential AlphaEdit needs the running ``sum K K^T`` of everything edited so far and the
null-space projectors of its layers. EasyEdit keeps both in process-wide globals (and writes the
projector to ``./null_space_project.pt`` for every model), so a second model inherits the first
one's state. Here the state belongs to the model object (its slot in :mod:`.model_store`), and it is
checked against the weights: when an editor restores the original weights after an edit (the
2026 editor does so unless ``sequential_edit=True``), the running sum describes edits that no
longer exist, and it is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable

import torch
from torch import nn

from .model_store import model_slot
from .solvers import EditedKeyMoments, NullSpaceProjection

logger = logging.getLogger(__name__)

_SAMPLE = 4096


def weight_signature(model: nn.Module, names: Iterable[str]) -> tuple[float, ...]:
    """A cheap fingerprint of some parameters: a strided sample of each, summed in float64."""
    values = []
    for name in sorted(names):
        flat = model.get_parameter(name).detach().reshape(-1)
        step = max(flat.numel() // _SAMPLE, 1)
        sample = flat[::step].double()
        values.append(float((sample * torch.arange(1, sample.numel() + 1, dtype=torch.float64, device=sample.device)).sum()))
    return tuple(values)


@dataclass
class ModelEditState:
    """Per-model memory of AlphaEdit: projectors by key, running key moments, and the weights'
    signature right after the last edit."""

    projectors: dict[tuple, NullSpaceProjection] = field(default_factory=dict)
    moments: EditedKeyMoments = field(default_factory=EditedKeyMoments)
    edited_parameters: set[str] = field(default_factory=set)
    signature: tuple[float, ...] | None = None

    def check_weights(self, model: nn.Module) -> None:
        """Drop the running moments if the edited weights are no longer what we left."""
        if self.signature is None:
            return
        if weight_signature(model, self.edited_parameters) != self.signature:
            logger.info("edited weights were restored or changed since the last edit; starting a new edit sequence")
            self.moments.reset()
            self.edited_parameters.clear()
            self.signature = None

    def remember_weights(self, model: nn.Module, names: Iterable[str]) -> None:
        self.edited_parameters |= set(names)
        self.signature = weight_signature(model, self.edited_parameters)


def edit_state(model: nn.Module) -> ModelEditState:
    """The state of ``model`` (created on first use; it goes away with the model)."""
    return model_slot(model, "alphaedit", ModelEditState)
