"""Undoing a rule's edit and checking the model is the unedited one again.

Every rule of RuleEdit-200 is edited on the unedited model. The DMLE authors reload the model
from disk for each rule (a 6-8B model: tens of seconds, and the whole model's memory churned).
Here the edit's own pre-edit copies (``EditOutcome.originals`` / EasyEdit's ``weights_copy``)
are written back instead: a handful of matrices.

Writing back what the method reported cannot catch a method that changed a weight it did not
report, so after every rule the whole model is compared with a checksum taken before the first
edit: per parameter, the float64 sum of its entries. That is one read of the weights and no
copy of them (milliseconds on a GPU), and any change an editing method makes to a weight moves
its sum; it is a guard against a lying or crashed method, not a cryptographic proof.
"""

from __future__ import annotations

import logging

import torch

from ..core.weights import restore_weights

logger = logging.getLogger(__name__)


class RestoreError(RuntimeError):
    """The model still differs from the unedited one after the edited weights were restored."""


@torch.no_grad()
def parameter_checksums(model: torch.nn.Module) -> dict[str, float]:
    """Per parameter, the float64 sum of its entries (the reduction casts as it reads)."""
    return {name: float(parameter.sum(dtype=torch.float64)) for name, parameter in model.named_parameters()}


def changed_parameters(model: torch.nn.Module, reference: dict[str, float]) -> list[str]:
    """Names of the parameters whose checksum differs from ``reference``."""
    current = parameter_checksums(model)
    return sorted(name for name in reference.keys() | current.keys() if current.get(name) != reference.get(name))


def restore_and_verify(model: torch.nn.Module, originals: dict[str, torch.Tensor], reference: dict[str, float]) -> None:
    """Write ``originals`` back, then raise :class:`RestoreError` if the model is not the
    unedited one (``reference``: :func:`parameter_checksums` of the unedited model)."""
    restore_weights(model, originals)
    changed = changed_parameters(model, reference)
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise RestoreError(f"after restoring {len(originals)} edited weight(s) the model still differs from the unedited one in {shown}")
    logger.debug("restored %d weight(s); model verified unedited", len(originals))
