"""Resolving ``layer_selection: <selector>`` through the ``easyedit_select_layers`` hook."""

from __future__ import annotations

import json
import logging
import weakref
from typing import Any

from .specs import LayerSelection

logger = logging.getLogger(__name__)

# One selection per model and hyperparameter set: a search (LGA runs backward passes over a
# proxy set) is done once, not again before every edit of a sequential run.
_selections: "weakref.WeakKeyDictionary[Any, dict[str, LayerSelection]]" = weakref.WeakKeyDictionary()


def _hparams_key(hparams: Any) -> str:
    data = hparams.to_dict() if hasattr(hparams, "to_dict") else dict(vars(hparams))
    data.pop("model_name", None)
    return json.dumps(data, sort_keys=True, default=str)


def select_layers(model: Any, tok: Any, requests: list[dict[str, Any]], hparams: Any) -> LayerSelection:
    """Ask the plugins for the layers ``hparams.layer_selection`` names (cached per model)."""
    from .manager import get_plugin_manager, get_registry

    selector = hparams.layer_selection
    per_model = _selections.setdefault(model, {})
    key = f"{selector}|{_hparams_key(hparams)}"
    if key not in per_model:
        selection = get_plugin_manager().hook.easyedit_select_layers(
            selector=selector, model=model, tok=tok, requests=requests, hparams=hparams
        )
        if selection is None:
            known = ", ".join(sorted(get_registry().layer_selectors)) or "none"
            raise ValueError(f"no layer selector named {selector!r} answered; registered selectors: {known}")
        logger.info("layer selector %r chose %s", selector, selection.layers)
        per_model[key] = selection
    return per_model[key]


def resolve_layer_selection(model: Any, tok: Any, requests: list[dict[str, Any]], hparams: Any) -> Any:
    """``hparams`` with its layers replaced by the selector's choice, or unchanged."""
    if getattr(hparams, "layer_selection", None) in (None, "", "all"):
        return hparams
    return hparams.with_layer_selection(select_layers(model, tok, requests, hparams))
