"""Resolving ``layer_selection: <selector>`` through the ``easyedit_select_layers`` hook."""

from __future__ import annotations

import json
import logging
from typing import Any

from ..core.model_store import model_slot
from ..specs import LayerSelection
from .manager import get_plugin_manager, get_registry

logger = logging.getLogger(__name__)


def _hparams_key(hparams: Any) -> str:
    data = hparams.to_dict() if hasattr(hparams, "to_dict") else dict(vars(hparams))
    data.pop("model_name", None)
    return json.dumps(data, sort_keys=True, default=str)


def _ask_selectors(selector: str, **arguments: Any) -> Any:
    """The answer of the plugin that registered ``selector``, asked alone.

    Asking only the owner means another plugin's broken ``easyedit_select_layers`` cannot stand
    between a method and its selector, while the owner's own errors (bad settings, missing
    proxy data) still reach the caller. A name no plugin registered goes to every
    implementation, first answer wins, as the hook specification says.
    """
    hook = get_plugin_manager().hook.easyedit_select_layers
    owner = get_registry().layer_selectors.get(selector)
    if owner is None or not owner.plugin:
        return hook(selector=selector, **arguments)
    answers = (
        impl.function(*[{"selector": selector, **arguments}[name] for name in impl.argnames])
        for impl in reversed(hook.get_hookimpls())
        if impl.plugin_name == owner.plugin
    )
    return next((answer for answer in answers if answer is not None), None)


def select_layers(model: Any, tok: Any, requests: list[dict[str, Any]], hparams: Any) -> LayerSelection:
    """Ask the plugins for the layers ``hparams.layer_selection`` names.

    One selection per model and hyperparameter set, kept in the model's store slot: a search
    (LGA runs backward passes over a proxy set) is done once, not again before every edit of a
    sequential run.
    """
    selector = hparams.layer_selection
    per_model: dict[str, LayerSelection] = model_slot(model, "layer_selections", dict)
    key = f"{selector}|{_hparams_key(hparams)}"
    if key not in per_model:
        selection = _ask_selectors(selector, model=model, tok=tok, requests=requests, hparams=hparams)
        if selection is None:
            known = ", ".join(sorted(get_registry().layer_selectors)) or "none"
            raise ValueError(f"no layer selector named {selector!r} answered; registered selectors: {known}")
        if not isinstance(selection, LayerSelection):
            raise TypeError(f"layer selector {selector!r} returned {type(selection).__name__}, not a LayerSelection")
        logger.info("layer selector %r chose %s", selector, selection.layers)
        per_model[key] = selection
    return per_model[key]


def resolve_layer_selection(model: Any, tok: Any, requests: list[dict[str, Any]], hparams: Any) -> Any:
    """``hparams`` with its layers replaced by the selector's choice, or unchanged.

    The one place a selection is applied at edit time; the hyperparameter class decides what
    applying means (``with_layer_selection``: one list of layers, or one per DMLE stage).
    """
    if getattr(hparams, "layer_selection", None) in (None, "", "all"):
        return hparams
    return hparams.with_layer_selection(select_layers(model, tok, requests, hparams))
