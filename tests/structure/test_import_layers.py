"""The package's layering, checked on its source: no import circle, no import upwards.

Layers, lowest first (a module may import its own layer and the ones below):

0. ``core``, ``data``, ``evaluation``, ``world``, ``plotting`` and the bottom modules
   (``easyedit_bridge``, ``shipped``, ``_version``, ``progress``, ``threads``): model arithmetic,
   datasets, judges, the miniature world, progress bars and thread counts; none knows about
   methods or plugins.
1. ``specs``, ``hparams`` and ``hparams_checks``: the records plugins hand over, the
   hyperparameter base and its value ranges.
2. ``methods`` and ``selectors``: editing methods and layer selectors, side by side.
3. ``testing``: tiny models and test helpers.
4. ``host``: pluggy, the registry, the EasyEdit installation. It knows no method.
5. ``plugin``: the package's own plugin, a client of the host like any third party's.
6. ``commands``, ``runners``, ``demo``: what users run.
7. ``cli`` and the package's ``__init__``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from import_graph import cycles, import_graph, layer_of, upward_imports

PACKAGE = Path(__file__).resolve().parents[2] / "easyedit_plugins"

LAYERS = {
    "easyedit_plugins.core": 0,
    "easyedit_plugins.data": 0,
    "easyedit_plugins.evaluation": 0,
    "easyedit_plugins.world": 0,
    "easyedit_plugins.plotting": 0,
    "easyedit_plugins.easyedit_bridge": 0,
    "easyedit_plugins.shipped": 0,
    "easyedit_plugins._version": 0,
    "easyedit_plugins.progress": 0,
    "easyedit_plugins.threads": 0,
    "easyedit_plugins.specs": 1,
    "easyedit_plugins.hparams": 1,
    "easyedit_plugins.hparams_checks": 1,
    "easyedit_plugins.methods": 2,
    "easyedit_plugins.selectors": 2,
    "easyedit_plugins.testing": 3,
    "easyedit_plugins.host": 4,
    "easyedit_plugins.plugin": 5,
    "easyedit_plugins.commands": 6,
    "easyedit_plugins.runners": 6,
    "easyedit_plugins.demo": 6,
    "easyedit_plugins.cli": 7,
    "easyedit_plugins": 7,
}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(PACKAGE)


def test_every_module_has_a_layer(graph):
    # The package itself is the fallback prefix: a new top-level module must be placed here.
    top_level = {name for name in graph if name.count(".") == 1}
    assert top_level <= LAYERS.keys(), f"place these in LAYERS: {sorted(top_level - LAYERS.keys())}"


def test_no_import_circle(graph):
    assert cycles(graph) == []


def test_no_module_imports_one_above_it(graph):
    assert upward_imports(graph, LAYERS) == []


def test_methods_and_selectors_import_neither_the_host_nor_testing(graph):
    for module, targets in graph.items():
        if layer_of(module, LAYERS) == 2:
            assert not {t for t in targets if t.startswith(("easyedit_plugins.host", "easyedit_plugins.testing"))}, module


def test_the_host_imports_no_method_selector_or_the_builtin_plugin(graph):
    forbidden = ("easyedit_plugins.methods", "easyedit_plugins.selectors", "easyedit_plugins.plugin")
    for module, targets in graph.items():
        if module.startswith("easyedit_plugins.host"):
            assert not {t for t in targets if t.startswith(forbidden)}, module


def test_the_checker_sees_circles_and_upward_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low" / "__init__.py").write_text("")
    (package / "low" / "a.py").write_text("def f():\n    from ..high import b\n")
    (package / "high.py").write_text("from .low import a\nfrom . import b\n")
    (package / "b.py").write_text("from .high import x\n")
    found = import_graph(package)
    assert found["pkg.low.a"] == {"pkg.high"}
    assert cycles(found) == [{"pkg.low.a", "pkg.high", "pkg.b"}]
    assert ("pkg.low.a", "pkg.high") in upward_imports(found, {"pkg.low": 0, "pkg.high": 1, "pkg.b": 1})
