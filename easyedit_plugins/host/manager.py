"""The plugin manager and the registry of everything the plugins provide.

The registry calls each plugin's registration hooks one by one, so every entry is attributed to
the distribution that provides it (what ``easyedit-plugins plugins`` prints). A plugin that
fails to load, or registers a name already taken, is reported in the log and skipped: one
broken third-party package must not take the built-in methods down with it.
"""

from __future__ import annotations

import importlib.metadata
import logging
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pluggy

from . import hookspecs
from .specs import DatasetSpec, EvaluatorSpec, LayerSelectorSpec, MethodSpec

logger = logging.getLogger(__name__)

DISTRIBUTION = "easyedit-plugins"

S = TypeVar("S", MethodSpec, DatasetSpec, EvaluatorSpec, LayerSelectorSpec)


@dataclass(frozen=True)
class Registered(Generic[S]):
    """A registered entry and the distribution (pip package) it comes from."""

    spec: S
    provider: str


@dataclass
class Registry:
    """Everything the loaded plugins register, by name."""

    methods: dict[str, Registered[MethodSpec]] = field(default_factory=dict)
    datasets: dict[str, Registered[DatasetSpec]] = field(default_factory=dict)
    evaluators: dict[str, Registered[EvaluatorSpec]] = field(default_factory=dict)
    layer_selectors: dict[str, Registered[LayerSelectorSpec]] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)

    def method(self, name: str) -> MethodSpec:
        try:
            return self.methods[name].spec
        except KeyError:
            raise KeyError(f"no editing method {name!r}; registered: {', '.join(sorted(self.methods))}") from None

    def method_for_hparams(self, hparams: Any) -> MethodSpec:
        return self.method(hparams.alg_name)


_manager: pluggy.PluginManager | None = None
_providers: dict[int, str] = {}
_registry: Registry | None = None
_load_errors: list[str] = []


def _load_entry_points(manager: pluggy.PluginManager, errors: list[str]) -> None:
    for entry_point in importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
        if manager.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:  # a third-party import can fail in any way
            message = f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: {type(error).__name__}: {error}"
            logger.error(message)
            errors.append(message)
            continue
        manager.register(plugin, name=entry_point.name)
        dist = getattr(entry_point, "dist", None)
        _providers[id(plugin)] = dist.name if dist is not None else entry_point.value.split(":")[0].split(".")[0]


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager: built-in plugins plus installed entry points."""
    global _manager
    if _manager is None:
        from . import builtin

        manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        manager.register(builtin, name="easyedit_plugins.builtin")
        _providers[id(builtin)] = DISTRIBUTION
        errors: list[str] = []
        _load_entry_points(manager, errors)
        _manager = manager
        _load_errors.extend(errors)
    return _manager



def _collect(manager: pluggy.PluginManager, hook_name: str, table: dict[str, Registered[Any]], errors: list[str]) -> None:
    hook = getattr(manager.hook, hook_name)
    # get_hookimpls() lists implementations in registration order (pluggy calls them in
    # reverse), so the built-in entries, registered first, win a name clash.
    for impl in hook.get_hookimpls():
        provider = _providers.get(id(impl.plugin), impl.plugin_name)
        try:
            specs = impl.function() or []
        except Exception as error:
            message = f"{impl.plugin_name}.{hook_name} raised {type(error).__name__}: {error}"
            logger.error(message)
            errors.append(message)
            continue
        for spec in specs:
            if spec.name in table:
                message = (
                    f"{provider} registers {spec.name!r} again (already provided by "
                    f"{table[spec.name].provider}); keeping the first"
                )
                logger.warning(message)
                errors.append(message)
                continue
            table[spec.name] = Registered(spec, provider)


def get_registry(refresh: bool = False) -> Registry:
    """The registry built from :func:`get_plugin_manager` (cached; ``refresh`` rebuilds it)."""
    global _registry
    if _registry is None or refresh:
        manager = get_plugin_manager()
        if refresh:
            _load_entry_points(manager, _load_errors)
        registry = Registry(load_errors=list(_load_errors))
        _collect(manager, "easyedit_register_methods", registry.methods, registry.load_errors)
        _collect(manager, "easyedit_register_datasets", registry.datasets, registry.load_errors)
        _collect(manager, "easyedit_register_evaluators", registry.evaluators, registry.load_errors)
        _collect(manager, "easyedit_register_layer_selectors", registry.layer_selectors, registry.load_errors)
        _registry = registry
    return _registry


def register_plugin(plugin: Any, name: str | None = None, provider: str | None = None) -> Registry:
    """Register a plugin object at run time (tests, notebooks) and rebuild the registry."""
    manager = get_plugin_manager()
    manager.register(plugin, name=name)
    _providers[id(plugin)] = provider or getattr(plugin, "__name__", type(plugin).__name__)
    return get_registry(refresh=True)


def unregister_plugin(plugin: Any) -> Registry:
    """Undo :func:`register_plugin` and rebuild the registry."""
    manager = get_plugin_manager()
    manager.unregister(plugin)
    _providers.pop(id(plugin), None)
    return get_registry(refresh=True)
