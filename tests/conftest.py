"""Shared test configuration.

* ``EASYEDIT_SRC``: when set to a checkout of EasyEdit's 2026 source tree, it is put first on
  ``sys.path`` before anything imports ``easyeditor``, so the EasyEdit tests run against it.
* Tests that need EasyEdit take the ``easyedit`` fixture and are skipped without it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

_SRC = os.environ.get("EASYEDIT_SRC")
if _SRC:
    if not Path(_SRC, "easyeditor").is_dir():
        raise pytest.UsageError(f"EASYEDIT_SRC={_SRC} does not contain an easyeditor package")
    sys.path.insert(0, str(Path(_SRC).resolve()))

# Tiny models gain nothing from several intra-op threads, and on a busy 2-core machine torch's
# thread pool spins (measured ~30x slower). EASYEDIT_PLUGINS_TEST_THREADS overrides.
torch.set_num_threads(int(os.environ.get("EASYEDIT_PLUGINS_TEST_THREADS", "1")))

settings.register_profile(
    "default", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PLUGIN_PACKAGE = Path(__file__).parent / "plugin_pkg"


@pytest.fixture(scope="session")
def world_factory():
    """Loads the trained ``test`` world model (trained once per machine, cached), a fresh copy per call."""
    from easyedit_plugins.testing import world_model_factory

    return world_model_factory("test", "gpt2")


@pytest.fixture(scope="session")
def easyedit():
    """The imported EasyEdit (a handle from the host bridge); skips the test without one."""
    from easyedit_plugins.easyedit_bridge import load_easyedit

    handle = load_easyedit()
    if handle is None:
        pytest.skip("EasyEdit is not importable (install easyeditor or set EASYEDIT_SRC)")
    return handle


@pytest.fixture(scope="session")
def toy_plugin(tmp_path_factory):
    """The third-party test plugin ``easyedit-toy-plugin``, installed, and the registry.

    ``.ci/run`` pip-installs ``tests/plugin_pkg`` in the EasyEdit environment. Where it is not
    installed, this fixture installs it the way pip would as far as Python can tell: a
    ``.dist-info`` folder with its entry points on ``sys.path`` next to the package source.
    """
    from easyedit_plugins.host import ENTRY_POINT_GROUP, get_registry

    if not any(ep.name == "toy" for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)):
        site = tmp_path_factory.mktemp("site-packages")
        dist_info = site / "easyedit_toy_plugin-0.1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: easyedit-toy-plugin\nVersion: 0.1.0\n", encoding="utf-8"
        )
        (dist_info / "entry_points.txt").write_text(
            f"[{ENTRY_POINT_GROUP}]\ntoy = easyedit_toy_plugin\n", encoding="utf-8"
        )
        sys.path[:0] = [str(site), str(PLUGIN_PACKAGE)]
        importlib.invalidate_caches()
    registry = get_registry(refresh=True)
    assert "TOY_HEAD" in registry.methods, registry.load_errors
    return registry


@pytest.fixture
def easyedit_on_cpu(easyedit, tmp_path, monkeypatch):
    """Run EasyEdit's editor on the CPU and return the ``device`` value for hparams.

    The 2026 editor takes ``device: cpu``. The 2023 release hard-codes ``cuda:{device}``, so for
    it the test runs inside :class:`~easyedit_plugins.testing.legacy_cpu.LegacyCudaToCpu`
    (CUDA device arguments redirected to the CPU) with ``device: 0``. Both editors write
    ``./logs`` and add log handlers on every construction: the test runs in ``tmp_path`` and the
    handlers are removed afterwards.
    """
    monkeypatch.chdir(tmp_path)
    editor_logger = logging.getLogger("easyeditor.editors.editor")
    handlers = list(editor_logger.handlers)
    try:
        if easyedit.generation == "2023":
            from easyedit_plugins.testing.legacy_cpu import LegacyCudaToCpu

            with LegacyCudaToCpu():
                yield 0
        else:
            yield "cpu"
    finally:
        for handler in editor_logger.handlers[:]:
            if handler not in handlers:
                editor_logger.removeHandler(handler)
                handler.close()
