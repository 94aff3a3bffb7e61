"""BLUE, DMLE, LGA and PAC knowledge editing for EasyEdit, registered as pluggy plugins.

Importing the package is all EasyEdit needs::

    from easyeditor import BaseEditor
    from easyedit_plugins import BLUEHyperParams

    editor = BaseEditor.from_hparams(BLUEHyperParams.from_hparams("hparams/BLUE/llama3-8b.yaml"))
"""

from __future__ import annotations

import logging

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
from .host.builtin import BLUE_METHOD, DMLE_METHOD, PAC_METHOD
from .host.install import apply_function
from .methods.blue import BLUEHyperParams
from .methods.dmle import DMLEHyperParams
from .methods.lga import LGAHyperParams, lga_scores, lga_select_layers, run_lga
from .methods.pac import PACHyperParams

#: EasyEdit ``apply`` functions (what ``ALG_DICT`` holds after :func:`install`).
apply_blue_to_model = apply_function(BLUE_METHOD)
apply_dmle_to_model = apply_function(DMLE_METHOD)
apply_pac_to_model = apply_function(PAC_METHOD)

__version__ = "0.1.0"

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
    "install",
    "lga_scores",
    "lga_select_layers",
    "run_lga",
]
