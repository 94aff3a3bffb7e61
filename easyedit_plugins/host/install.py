"""Installing the registered methods and datasets into EasyEdit's own tables.

``BaseEditor`` looks methods up in ``easyeditor.util.alg_dict.ALG_DICT`` (one dict object that
the editor module imported by star import, so adding keys to it is seen there), asks
``BatchEditor.is_batchable_method`` before batch editing, and checks datasets against
``DS_DICT``. Installing fills those three in, idempotently.

Importing this module registers :func:`ensure_installed` as a construction callback of the
hyperparameter base class (:func:`easyedit_plugins.hparams.on_construct`): building any
method's hyperparameters installs the methods, which is what lets
``BaseEditor.from_hparams(BLUEHyperParams.from_hparams(path))`` work after a bare import.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ..easyedit_bridge import EasyEditHandle, load_easyedit
from ..hparams import on_construct
from ..specs import MethodSpec
from .apply import ApplyFunction, make_easyedit_apply
from .manager import get_registry

logger = logging.getLogger(__name__)

_apply_functions: dict[int, ApplyFunction] = {}


def apply_function(method: MethodSpec) -> ApplyFunction:
    """The EasyEdit ``apply`` wrapper of ``method`` (one object per method, reused)."""
    key = id(method)
    if key not in _apply_functions:
        _apply_functions[key] = make_easyedit_apply(method)
    return _apply_functions[key]


def _patch_batchable(handle: EasyEditHandle, batchable: set[str]) -> None:
    batch_editor = handle.batch_editor
    current = batch_editor.is_batchable_method
    original: Callable[[str], bool] = getattr(current, "__easyedit_plugins_original__", current)

    def is_batchable_method(alg_name: str) -> bool:
        return alg_name in batchable or original(alg_name)

    is_batchable_method.__easyedit_plugins_original__ = original  # type: ignore[attr-defined]
    # BatchEditor is an Enum; its metaclass only guards member names, so a new staticmethod
    # can replace the old one.
    setattr(batch_editor, "is_batchable_method", staticmethod(is_batchable_method))


def install(strict: bool = False) -> list[str]:
    """Add every registered method to EasyEdit; return the method names installed.

    Idempotent. Without EasyEdit (or with a broken one) it returns ``[]``, or raises
    :class:`~easyedit_plugins.easyedit_bridge.EasyEditUnavailable` when ``strict`` is true.
    """
    handle = load_easyedit(required=strict)
    if handle is None:
        return []
    registry = get_registry()
    for name, entry in registry.methods.items():
        handle.alg_dict[name] = apply_function(entry.spec)
    batchable = {name for name, entry in registry.methods.items() if entry.spec.batchable}
    _patch_batchable(handle, batchable)
    for name, entry in registry.datasets.items():
        if entry.spec.dataset_class is not None:
            handle.ds_dict[name] = entry.spec.dataset_class
    names = sorted(registry.methods)
    logger.debug("installed %s into EasyEdit (%s editor)", names, handle.generation)
    return names


def ensure_installed(hparams: Any = None) -> None:
    """Install into EasyEdit if it is importable and not done yet.

    The construction callback of every hyperparameter set (``hparams`` is the one just built;
    unused). Cheap when everything is installed already.
    """
    handle = load_easyedit()
    if handle is None:
        return
    registry = get_registry()
    if all(handle.alg_dict.get(name) is apply_function(e.spec) for name, e in registry.methods.items()):
        return
    install()


on_construct(ensure_installed)
