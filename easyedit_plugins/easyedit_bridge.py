"""The bridge to EasyEdit: the only module of the package that imports ``easyeditor``.

EasyEdit exists in two incompatible shapes (see docs/architecture.md): the 2023 PyPI release
``easyeditor==0.0.1.dev0`` and the 2026 source tree. Everything else in the package asks this
module what is there instead of importing EasyEdit itself, so the package keeps working when
EasyEdit is absent or broken. It sits at the bottom of the package (it imports nothing of it),
because the hyperparameter base class derives from EasyEdit's ``HyperParams`` when there is one.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any, Literal

logger = logging.getLogger(__name__)

EditorGeneration = Literal["2023", "2026"]

#: Set to ``1`` to make the package behave as if EasyEdit were not installed (no import of it).
DISABLE_ENV = "EASYEDIT_PLUGINS_NO_EASYEDIT"


class EasyEditUnavailable(RuntimeError):
    """EasyEdit is not installed, or it is installed but cannot be imported."""


@dataclass(frozen=True)
class EasyEditHandle:
    """What the package needs from an imported EasyEdit."""

    alg_dict_module: ModuleType
    batch_editor: type
    hyperparams: type
    base_editor: type
    generation: EditorGeneration

    @property
    def alg_dict(self) -> dict[str, Any]:
        return self.alg_dict_module.ALG_DICT

    @property
    def ds_dict(self) -> dict[str, Any]:
        return self.alg_dict_module.DS_DICT


def easyedit_installed() -> bool:
    """True when an ``easyeditor`` package can be found (without importing it)."""
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        return False
    return importlib.util.find_spec("easyeditor") is not None


def editor_generation(base_editor: type) -> EditorGeneration:
    """Which weight-restoring contract an EasyEdit ``BaseEditor`` follows.

    The 2026 editor restores ``weights_copy`` after every edit unless the caller passes
    ``sequential_edit=True``; the 2023 editor always restores whatever ``apply`` returns. Only
    the 2026 ``edit`` has a ``sequential_edit`` parameter, which is how the two are told apart.
    """
    parameters = inspect.signature(base_editor.edit).parameters
    return "2026" if "sequential_edit" in parameters else "2023"


@lru_cache(maxsize=1)
def _import_easyedit() -> EasyEditHandle | Exception:
    try:
        # ``easyeditor.util`` is shadowed by a star import after ``import easyeditor``, so the
        # table module is imported by its full dotted name.
        alg_dict_module = importlib.import_module("easyeditor.util.alg_dict")
        batch_editor = importlib.import_module("easyeditor.editors.batch_editor").BatchEditor
        hyperparams = importlib.import_module("easyeditor.util.hparams").HyperParams
        base_editor = importlib.import_module("easyeditor.editors.editor").BaseEditor
    except Exception as error:  # EasyEdit imports dozens of optional packages; any may fail.
        logger.warning(
            "easyeditor is installed but could not be imported (%s: %s); the EasyEdit "
            "integration is off, everything else works.",
            type(error).__name__,
            error,
        )
        return error
    return EasyEditHandle(
        alg_dict_module=alg_dict_module,
        batch_editor=batch_editor,
        hyperparams=hyperparams,
        base_editor=base_editor,
        generation=editor_generation(base_editor),
    )


def load_easyedit(required: bool = False) -> EasyEditHandle | None:
    """Import EasyEdit once and return a handle, or None when it is not available.

    With ``required=True`` a missing or broken EasyEdit raises :class:`EasyEditUnavailable`
    carrying the reason instead of returning None.
    """
    if not easyedit_installed():
        if required:
            raise EasyEditUnavailable(
                "easyeditor is not installed: install EasyEdit (see the README) or put a "
                "checkout of its source tree on PYTHONPATH"
            )
        return None
    outcome = _import_easyedit()
    if isinstance(outcome, Exception):
        if required:
            raise EasyEditUnavailable(f"easyeditor failed to import: {outcome}") from outcome
        return None
    return outcome


def loaded_generation() -> EditorGeneration | None:
    """The generation of the EasyEdit editor in use, or None when EasyEdit is absent."""
    handle = load_easyedit()
    return handle.generation if handle is not None else None


def hyperparams_base() -> type:
    """EasyEdit's ``HyperParams`` when it is importable, else ``object``.

    Both EasyEdit generations define ``HyperParams`` as an empty dataclass, so deriving from it
    adds no fields; it only makes ``isinstance(h, HyperParams)`` true for our classes.
    """
    handle = load_easyedit()
    return handle.hyperparams if handle is not None else object
