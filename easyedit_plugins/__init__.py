"""BLUE, DMLE, LGA and PAC knowledge editing for EasyEdit, registered as pluggy plugins.

Importing the package is all EasyEdit needs::

    from easyeditor import BaseEditor
    from easyedit_plugins import BLUEHyperParams

    editor = BaseEditor.from_hparams(BLUEHyperParams.from_hparams("BLUE/llama3-8b"))

(a shipped hyperparameter file by name, or the path of your own.)
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Public name -> (module, attribute). Imported on first use (PEP 562), so that importing the
#: package, or running ``easyedit-plugins --help``, does not load torch and transformers (about
#: 10 s on a busy machine); ``from easyedit_plugins import BLUEHyperParams`` works as before.
_LAZY: dict[str, tuple[str, str]] = {
    "EditOutcome": (".core.weights", "EditOutcome"),
    "WeightBackup": (".core.weights", "WeightBackup"),
    "HyperParamsError": (".hparams", "HyperParamsError"),
    "PluginHyperParams": (".hparams", "PluginHyperParams"),
    "DatasetSpec": (".host", "DatasetSpec"),
    "EvaluatorSpec": (".host", "EvaluatorSpec"),
    "LayerSelection": (".host", "LayerSelection"),
    "LayerSelectorSpec": (".host", "LayerSelectorSpec"),
    "MethodSpec": (".host", "MethodSpec"),
    "get_registry": (".host", "get_registry"),
    "hookimpl": (".host", "hookimpl"),
    "install": (".host", "install"),
    "BLUEHyperParams": (".methods.blue", "BLUEHyperParams"),
    "DMLEHyperParams": (".methods.dmle", "DMLEHyperParams"),
    "PACHyperParams": (".methods.pac", "PACHyperParams"),
    "LGAHyperParams": (".selectors.lga", "LGAHyperParams"),
    "lga_scores": (".selectors.lga", "lga_scores"),
    "lga_select_layers": (".selectors.lga", "lga_select_layers"),
    "run_lga": (".selectors.lga", "run_lga"),
    "hparams_path": (".shipped", "hparams_path"),
    "shipped_hparams": (".shipped", "shipped_hparams"),
}

#: EasyEdit ``apply`` functions (what ``ALG_DICT`` holds after :func:`install`), by the built-in
#: method they apply.
_APPLY: dict[str, str] = {
    "apply_blue_to_model": "BLUE_METHOD",
    "apply_dmle_to_model": "DMLE_METHOD",
    "apply_pac_to_model": "PAC_METHOD",
}

#: The built-in plugin's entry point, as pyproject.toml declares it.
_BUILTIN_ENTRY_POINT = ("easyedit_plugins", "builtin", f"{__name__}.plugin")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module_name, __name__), attribute)
    elif name in _APPLY:
        from . import plugin
        from .host.install import apply_function

        value = apply_function(getattr(plugin, _APPLY[name]))
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_APPLY))


def _register_builtins_if_the_metadata_is_stale() -> None:
    """The built-in plugin is found through the package's entry point; an install whose metadata
    predates that entry point gets it registered directly (see easyedit_plugins.host.manager).

    Only then is the plugin (and so torch) imported here: a current install reads its metadata
    and imports nothing.
    """
    group, name, value = _BUILTIN_ENTRY_POINT
    if any(entry.name == name and entry.value == value for entry in importlib.metadata.entry_points(group=group)):
        return
    from . import plugin
    from .host.manager import DISTRIBUTION, add_fallback_plugin

    add_fallback_plugin(name, plugin, provider=DISTRIBUTION)


_register_builtins_if_the_metadata_is_stale()

if TYPE_CHECKING:
    from .core.weights import EditOutcome, WeightBackup
    from .hparams import HyperParamsError, PluginHyperParams
    from .host import (
        DatasetSpec,
        EvaluatorSpec,
        LayerSelection,
        LayerSelectorSpec,
        MethodSpec,
        get_registry,
        hookimpl,
        install,
    )
    from .methods.blue import BLUEHyperParams
    from .methods.dmle import DMLEHyperParams
    from .methods.pac import PACHyperParams
    from .selectors.lga import LGAHyperParams, lga_scores, lga_select_layers, run_lga
    from .shipped import hparams_path, shipped_hparams

    apply_blue_to_model: Any
    apply_dmle_to_model: Any
    apply_pac_to_model: Any

__all__ = [
    "BLUEHyperParams",
    "DMLEHyperParams",
    "LGAHyperParams",
    "PACHyperParams",
    "apply_blue_to_model",
    "apply_dmle_to_model",
    "apply_pac_to_model",
    "DatasetSpec",
    "EditOutcome",
    "EvaluatorSpec",
    "HyperParamsError",
    "LayerSelection",
    "LayerSelectorSpec",
    "MethodSpec",
    "PluginHyperParams",
    "WeightBackup",
    "__version__",
    "get_registry",
    "hookimpl",
    "hparams_path",
    "install",
    "lga_scores",
    "lga_select_layers",
    "run_lga",
    "shipped_hparams",
]
