"""Finding the method a hyperparameter file names, and editing a rule with it.

Every method is called through EasyEdit's ``apply`` contract, whatever provides it: the
package's own methods and third-party plugins through the host's wrapper
(:func:`~easyedit_plugins.host.install.apply_function`), EasyEdit's built-ins (ROME, MEMIT, ...)
through the functions in its ``ALG_DICT``, reached via :mod:`easyedit_plugins.easyedit_bridge`.
This module never imports ``easyeditor``. Both kinds edit with right padding: the host's
wrapper applies it to the package's methods, :func:`_right_padded` to EasyEdit's.

A rule is edited as one batch when the method is batchable (DMLE routes the batch to its stages
by form), else one request after another on the same model. Either way the pre-edit value of
every changed weight is collected, first value wins, so the runner can undo the whole rule.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from ..core.tokens import right_padding
from ..easyedit_bridge import load_easyedit
from ..hparams import HyperParamsError, read_hparams_file, resolve_hparams_path
from ..host import get_registry
from ..host.apply import ApplyFunction
from ..host.install import apply_function

logger = logging.getLogger(__name__)


class UnknownMethodError(LookupError):
    """No plugin and no EasyEdit built-in has the requested ``alg_name``."""


@dataclass(frozen=True)
class EditMethod:
    """A method as the runner uses it: its ``apply`` function and whether it takes batches."""

    name: str
    apply: ApplyFunction
    batchable: bool
    hparams_class: type
    provider: Literal["plugin", "easyedit"]


def _easyedit_hparams_class(base: type, alg_name: str) -> type | None:
    """EasyEdit's ``<alg_name>HyperParams`` class (any capitalisation), found among the
    subclasses of its ``HyperParams``: EasyEdit imports all of them with its method table."""
    wanted = f"{alg_name}hyperparams".lower()
    pending = list(base.__subclasses__())
    while pending:
        candidate = pending.pop()
        if candidate.__name__.lower() == wanted:
            return candidate
        pending.extend(candidate.__subclasses__())
    return None


def _right_padded(apply: ApplyFunction) -> ApplyFunction:
    """EasyEdit's own ``apply`` with the tokenizer padding on the right during the call.

    Its locate-then-edit methods compute token positions from the left; its editor would set
    the padding side itself, but the runner calls ``apply`` without the editor.
    """

    @functools.wraps(apply)
    def padded(model: Any, tok: Any, *args: Any, **kwargs: Any) -> Any:
        with right_padding(tok):
            return apply(model, tok, *args, **kwargs)

    return padded


def resolve_method(alg_name: str) -> EditMethod:
    """The registered plugin method ``alg_name``, else EasyEdit's own method of that name."""
    registry = get_registry()
    if alg_name in registry.methods:
        spec = registry.method(alg_name)
        return EditMethod(alg_name, apply_function(spec), spec.batchable, spec.hparams_class, "plugin")
    handle = load_easyedit()
    if handle is not None and alg_name in handle.alg_dict:
        hparams_class = _easyedit_hparams_class(handle.hyperparams, alg_name)
        if hparams_class is None:
            raise UnknownMethodError(f"EasyEdit has a method {alg_name!r} but no {alg_name}HyperParams class to load it with")
        batchable = bool(handle.batch_editor.is_batchable_method(alg_name))
        return EditMethod(alg_name, _right_padded(handle.alg_dict[alg_name]), batchable, hparams_class, "easyedit")
    known = sorted(registry.methods) + (sorted(handle.alg_dict) if handle is not None else [])
    hint = "" if handle is not None else " (EasyEdit is not importable, so its own methods are unavailable)"
    raise UnknownMethodError(f"no editing method {alg_name!r}; available: {', '.join(dict.fromkeys(known))}{hint}")


def _read_mapping(path: Path) -> dict[str, Any]:
    data = read_hparams_file(path)
    if not isinstance(data.get("alg_name"), str):
        raise HyperParamsError(f"{path}: expected a mapping with an 'alg_name' naming the editing method")
    return data


def load_method_hparams(path: str | Path, overrides: dict[str, Any] | None = None) -> tuple[EditMethod, Any]:
    """The method named by the file's ``alg_name`` and its hyperparameters, with ``overrides``
    (``--method-kwargs``) applied and checked like the file's own keys."""
    path = resolve_hparams_path(path)
    overrides = dict(overrides or {})
    config = _read_mapping(path)
    method = resolve_method(config["alg_name"])
    if method.provider == "plugin":
        source = f"{path} with method kwargs {sorted(overrides)}" if overrides else str(path)
        return method, method.hparams_class.from_dict({**config, **overrides}, source=source)
    try:
        hparams = method.hparams_class.from_hparams(str(path))
    except (TypeError, KeyError, AssertionError) as error:  # EasyEdit's loaders check nothing themselves
        raise HyperParamsError(f"{path}: {method.hparams_class.__name__} cannot load it: {error}") from error
    for key, value in overrides.items():
        if not hasattr(hparams, key):
            raise HyperParamsError(f"{path}: method kwarg {key!r} is not a field of {method.hparams_class.__name__}")
        setattr(hparams, key, value)
    return method, hparams


def _keep_first(collected: dict[str, torch.Tensor], weights_copy: dict[str, torch.Tensor]) -> None:
    for name, value in weights_copy.items():
        collected.setdefault(name, value)


def edit_requests(
    method: EditMethod, model: Any, tok: Any, requests: list[dict[str, Any]], hparams: Any,
    originals: dict[str, torch.Tensor],
) -> Any:
    """Edit ``model`` for ``requests``; return the edited model.

    ``originals`` is filled as the edit goes (parameter name -> pre-edit value, the first
    value seen for each), so that after a failure half way through a sequence of single edits
    the caller still knows what to restore.
    """
    batches = [requests] if method.batchable else [[request] for request in requests]
    for batch in batches:
        model, weights_copy = method.apply(
            model, tok, batch, hparams, copy=False, return_orig_weights=True, keep_original_weight=True,
        )
        _keep_first(originals, weights_copy)
    logger.debug("%s edited %d request(s) in %d call(s), %d weight(s) changed",
                 method.name, len(requests), len(batches), len(originals))
    return model
