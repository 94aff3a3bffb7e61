"""EasyEdit's ``apply`` contract, implemented once for every method.

EasyEdit calls ``apply(model, tok, requests, hparams, copy=False, return_orig_weights=False,
keep_original_weight=False, **kwargs) -> (model, weights_copy)``. A method registered with the
host only writes an :class:`~easyedit_plugins.specs.EditFunction`; the wrapper made here
handles the rest: copying the model on request, right padding for the edit, resolving
``layer_selection`` through the layer-selection hook, ignoring keyword arguments it does not
know (EasyEdit passes ``train_ds=None``), and returning ``weights_copy`` the way the EasyEdit
generation in use expects.
"""

from __future__ import annotations

import copy as copy_module
import logging
from typing import Any, Callable

import torch

from ..core.tokens import right_padding
from ..easyedit_bridge import EditorGeneration, loaded_generation
from ..specs import MethodSpec
from .selection import resolve_layer_selection

logger = logging.getLogger(__name__)

ApplyFunction = Callable[..., tuple[Any, dict[str, torch.Tensor]]]


def weights_copy_for(
    originals: dict[str, torch.Tensor],
    return_orig_weights: bool,
    keep_original_weight: bool,
    generation: EditorGeneration | None,
) -> dict[str, torch.Tensor]:
    """The ``weights_copy`` an EasyEdit editor of ``generation`` expects back.

    * 2023 editor: it restores whatever it receives after every request, and its built-in
      methods return ``{}`` unless ``keep_original_weight=True`` -- so edits accumulate by
      default and are undone only when the caller asked to keep the original weights.
    * 2026 editor (and no EasyEdit at all): the caller decides; it restores the copy unless
      it was called with ``sequential_edit=True``, so the originals are always returned when
      asked for.
    """
    if not return_orig_weights:
        return {}
    if generation == "2023" and not keep_original_weight:
        return {}
    return originals


def make_easyedit_apply(method: MethodSpec) -> ApplyFunction:
    """Wrap ``method.edit`` in EasyEdit's ``apply`` contract."""

    def apply(
        model: Any,
        tok: Any,
        requests: list[dict[str, Any]] | dict[str, Any],
        hparams: Any,
        copy: bool = False,
        return_orig_weights: bool = False,
        keep_original_weight: bool = False,
        **kwargs: Any,
    ) -> tuple[Any, dict[str, torch.Tensor]]:
        if kwargs:
            logger.debug("%s ignores keyword arguments %s", method.name, sorted(kwargs))
        if copy:
            model = copy_module.deepcopy(model)
        requests = [requests] if isinstance(requests, dict) else list(requests)
        hparams = resolve_layer_selection(model, tok, requests, hparams)
        with right_padding(tok):
            outcome = method.edit(model, tok, requests, hparams)
        if outcome.info:
            logger.info("%s edited %d request(s): %s", method.name, len(requests), outcome.info.get("summary", ""))
        weights_copy = weights_copy_for(outcome.originals, return_orig_weights, keep_original_weight, loaded_generation())
        return model, weights_copy

    apply.__name__ = apply.__qualname__ = f"apply_{method.name.lower()}_to_model"
    apply.__doc__ = f"EasyEdit ``apply`` function of {method.name} (see :func:`make_easyedit_apply`)."
    return apply
