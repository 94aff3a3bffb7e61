"""The plugin host: pluggy hooks, the registry, and the EasyEdit integration.

The only part of the package that imports pluggy. It knows no method: every method, dataset,
evaluator and layer selector reaches it through a plugin's hooks, the package's own included.
"""

from .hookspecs import ENTRY_POINT_GROUP, PROJECT_NAME, hookimpl, hookspec
from .install import ensure_installed, install
from .manager import get_plugin_manager, get_registry, register_plugin, unregister_plugin
from ..specs import DatasetSpec, EditFunction, EvaluatorSpec, LayerSelection, LayerSelectorSpec, MethodSpec

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "DatasetSpec",
    "EditFunction",
    "EvaluatorSpec",
    "LayerSelection",
    "LayerSelectorSpec",
    "MethodSpec",
    "ensure_installed",
    "get_plugin_manager",
    "get_registry",
    "hookimpl",
    "hookspec",
    "install",
    "register_plugin",
    "unregister_plugin",
]
