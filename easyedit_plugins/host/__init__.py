"""The plugin host: pluggy hooks, the registry, and the EasyEdit integration.

This is the only part of the package that imports EasyEdit (in :mod:`.easyedit`) or pluggy.
"""

from .hookspecs import ENTRY_POINT_GROUP, PROJECT_NAME, hookimpl, hookspec
from .install import ensure_installed, install
from .manager import get_plugin_manager, get_registry, register_plugin, unregister_plugin
from .specs import DatasetSpec, EditFunction, EvaluatorSpec, LayerSelection, LayerSelectorSpec, MethodSpec

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
