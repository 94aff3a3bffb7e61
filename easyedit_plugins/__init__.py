"""BLUE, DMLE, LGA and PAC knowledge editing for EasyEdit, registered as pluggy plugins.

Importing the package is all EasyEdit needs::

    from easyeditor import BaseEditor
    from easyedit_plugins import BLUEHyperParams

    editor = BaseEditor.from_hparams(BLUEHyperParams.from_hparams("BLUE/llama3-8b"))

(a shipped hyperparameter file by name, or the path of your own.)
"""

from __future__ import annotations

import logging

from . import plugin
from ._version import __version__
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
from .host.install import apply_function
from .host.manager import DISTRIBUTION, add_fallback_plugin
from .methods.blue import BLUEHyperParams
from .methods.dmle import DMLEHyperParams
from .methods.pac import PACHyperParams
from .plugin import BLUE_METHOD, DMLE_METHOD, PAC_METHOD
from .selectors.lga import LGAHyperParams, lga_scores, lga_select_layers, run_lga
from .shipped import hparams_path, shipped_hparams

# The built-in plugin is found through the package's entry point; this only covers an install
# whose metadata predates that entry point (see easyedit_plugins.host.manager).
add_fallback_plugin("builtin", plugin, provider=DISTRIBUTION)

#: EasyEdit ``apply`` functions (what ``ALG_DICT`` holds after :func:`install`).
apply_blue_to_model = apply_function(BLUE_METHOD)
apply_dmle_to_model = apply_function(DMLE_METHOD)
apply_pac_to_model = apply_function(PAC_METHOD)

logging.getLogger(__name__).addHandler(logging.NullHandler())

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
