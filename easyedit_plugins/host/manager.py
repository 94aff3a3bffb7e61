"""The plugin manager and the registry of everything the plugins provide.

Plugins are found through the ``easyedit_plugins`` entry-point group only, the package's own
(:mod:`easyedit_plugins.plugin`, declared in its pyproject.toml) as much as a third party's, so
the host imports no method. The package's own entry points are registered first, which makes
its entries win a name clash.

The registry calls each plugin's registration hooks one by one, so every entry is attributed to
the distribution that provides it (what ``easyedit-plugins plugins`` prints). A plugin that
fails to load, raises in a hook, returns something that is not a list of the hook's records,
or registers a name already taken, is reported in the log and in :attr:`Registry.load_errors`
and skipped: one broken third-party package must not take the built-in methods down with it.

Stale metadata: an install made before the package declared its own entry point has no such
entry point. The package's top module hands its plugin to :func:`add_fallback_plugin`; it is
registered directly, with a warning saying to reinstall, only when the entry point is missing.
"""

from __future__ import annotations

import importlib.metadata
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

import pluggy

from ..specs import JUDGE_PREFIX, DatasetSpec, EvaluatorSpec, LayerSelectorSpec, MethodSpec
from . import hookspecs

logger = logging.getLogger(__name__)

DISTRIBUTION = "easyedit-plugins"

S = TypeVar("S", MethodSpec, DatasetSpec, EvaluatorSpec, LayerSelectorSpec)


@dataclass(frozen=True)
class Registered(Generic[S]):
    """A registered entry, the distribution (pip package) it comes from, and the name of the
    plugin object that registered it (so a hook about this entry can be asked of its owner)."""

    spec: S
    provider: str
    plugin: str = ""


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

    def judge_names(self) -> list[str]:
        """The judges registered (``exact``, ``auto``, ... and any plugin's), sorted."""
        return sorted(
            name[len(JUDGE_PREFIX):]
            for name, entry in self.evaluators.items()
            if name.startswith(JUDGE_PREFIX) and entry.spec.kind == "judge"
        )

    def judge(self, name: str) -> Callable[..., bool]:
        """The judge ``name``: ``evaluate(prediction, target, question=None) -> bool``."""
        entry = self.evaluators.get(JUDGE_PREFIX + name)
        if entry is None or entry.spec.kind != "judge":
            raise KeyError(f"no judge {name!r}; registered: {', '.join(self.judge_names())}")
        return entry.spec.evaluate


_manager: pluggy.PluginManager | None = None
_providers: dict[int, str] = {}
_registry: Registry | None = None
_load_errors: list[str] = []
_fallbacks: dict[str, tuple[Any, str]] = {}


def _report(errors: list[str], message: str, level: int = logging.ERROR) -> None:
    logger.log(level, message)
    if message not in errors:
        errors.append(message)


def _distribution(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return dist.name if dist is not None else entry_point.value.split(":")[0].split(".")[0]


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    """The group's entry points, the package's own first (so its entries win a clash)."""
    found = importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP)
    return sorted(found, key=lambda entry_point: _distribution(entry_point) != DISTRIBUTION)


def _register(manager: pluggy.PluginManager, plugin: Any, name: str, provider: str, errors: list[str]) -> None:
    try:
        manager.register(plugin, name=name)
    except Exception as error:  # pluggy refuses hooks with unknown names or wrong arguments
        _report(errors, f"plugin {name!r} of {provider} cannot be registered: {type(error).__name__}: {error}")
        return
    _providers[id(plugin)] = provider


def _register_missing_fallbacks(manager: pluggy.PluginManager, entry_points: list[Any], errors: list[str]) -> None:
    declared = {(entry_point.name, _distribution(entry_point)) for entry_point in entry_points}
    for name, (plugin, provider) in _fallbacks.items():
        if manager.get_plugin(name) is not None or (name, provider) in declared:
            continue
        _report(errors, f"{provider}'s entry point {name!r} is missing from the installed metadata (an install "
                        f"older than this version?); its plugin was registered directly. Reinstall the package "
                        f"(pip install -e .) to refresh the metadata.", logging.WARNING)
        _register(manager, plugin, name, provider, errors)


def _load_entry_points(manager: pluggy.PluginManager, errors: list[str]) -> None:
    entry_points = _entry_points()
    _register_missing_fallbacks(manager, entry_points, errors)
    for entry_point in entry_points:
        if manager.get_plugin(entry_point.name) is not None:
            continue
        provider = _distribution(entry_point)
        try:
            plugin = entry_point.load()
        except Exception as error:  # a third-party import can fail in any way
            _report(errors, f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: "
                            f"{type(error).__name__}: {error}")
            continue
        _register(manager, plugin, entry_point.name, provider, errors)


def add_fallback_plugin(name: str, plugin: Any, provider: str = DISTRIBUTION) -> None:
    """Register ``plugin`` directly if ``provider`` declares no entry point ``name`` (stale metadata)."""
    _fallbacks[name] = (plugin, provider)
    if _manager is not None:
        _register_missing_fallbacks(_manager, _entry_points(), _load_errors)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every installed entry point registered."""
    global _manager
    if _manager is None:
        manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        # Published before the entry points load, so a plugin that asks for the manager while
        # it is being imported gets this one instead of starting a second.
        _manager = manager
        _load_entry_points(manager, _load_errors)
    return _manager


def _check_spec(spec: Any, expected: type, provider: str) -> str | None:
    """Why ``spec`` cannot be registered, or None when it can."""
    if not isinstance(spec, expected):
        return f"returned {type(spec).__name__} {spec!r:.80}, not a {expected.__name__}"
    if not isinstance(spec.name, str) or not spec.name:
        return f"returned a {expected.__name__} whose name is {spec.name!r}, not a non-empty string"
    callables = {MethodSpec: "edit", DatasetSpec: "load", EvaluatorSpec: "evaluate"}
    attribute = callables.get(expected)
    if attribute is not None and not callable(getattr(spec, attribute)):
        return f"returned {expected.__name__} {spec.name!r} whose {attribute} is not callable"
    if isinstance(spec, MethodSpec):
        if not isinstance(spec.hparams_class, type):
            return f"returned MethodSpec {spec.name!r} whose hparams_class is not a class"
        alg_name = getattr(spec.hparams_class, "ALG_NAME", "")
        if alg_name and alg_name != spec.name:
            return (f"returned MethodSpec {spec.name!r} with {spec.hparams_class.__name__}, whose ALG_NAME is "
                    f"{alg_name!r}; the two must agree")
    return None


_HOOKS: tuple[tuple[str, type, str], ...] = (
    ("easyedit_register_methods", MethodSpec, "methods"),
    ("easyedit_register_datasets", DatasetSpec, "datasets"),
    ("easyedit_register_evaluators", EvaluatorSpec, "evaluators"),
    ("easyedit_register_layer_selectors", LayerSelectorSpec, "layer_selectors"),
)


def _collect(manager: pluggy.PluginManager, hook_name: str, expected: type, table: dict[str, Registered[Any]],
             errors: list[str]) -> None:
    hook = getattr(manager.hook, hook_name)
    # get_hookimpls() lists implementations in registration order (pluggy calls them in
    # reverse), so the package's own entries, registered first, win a name clash.
    for impl in hook.get_hookimpls():
        provider = _providers.get(id(impl.plugin), impl.plugin_name)
        where = f"{impl.plugin_name}.{hook_name} ({provider})"
        try:
            specs = impl.function()
        except Exception as error:
            _report(errors, f"{where} raised {type(error).__name__}: {error}")
            continue
        if specs is None:
            continue
        if not isinstance(specs, (list, tuple)):
            _report(errors, f"{where} returned {type(specs).__name__}, not a list of {expected.__name__}; skipped")
            continue
        for spec in specs:
            problem = _check_spec(spec, expected, provider)
            if problem is not None:
                _report(errors, f"{where} {problem}; skipped")
                continue
            if spec.name in table:
                _report(errors, f"{provider} registers {spec.name!r} again (already provided by "
                                f"{table[spec.name].provider}); keeping the first", logging.WARNING)
                continue
            table[spec.name] = Registered(spec, provider, impl.plugin_name)


def get_registry(refresh: bool = False) -> Registry:
    """The registry built from :func:`get_plugin_manager` (cached; ``refresh`` rebuilds it and
    picks up entry points installed since)."""
    global _registry
    if _registry is None or refresh:
        manager = get_plugin_manager()
        if refresh:
            _load_entry_points(manager, _load_errors)
        registry = Registry(load_errors=list(_load_errors))
        for hook_name, expected, attribute in _HOOKS:
            _collect(manager, hook_name, expected, getattr(registry, attribute), registry.load_errors)
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
