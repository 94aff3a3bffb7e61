"""``--help`` must not import torch or transformers (the CLI loads them inside the command)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from easyedit_plugins.cli import COMMANDS

PROBE = """
import sys
from easyedit_plugins.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
heavy = sorted(m for m in ("torch", "transformers", "numpy", "sympy") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.parametrize("argv", [["--help"]] + [[name, "--help"] for name in COMMANDS])
def test_help_imports_no_torch(argv):
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=True)
    assert "usage: easyedit-plugins" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "HEAVY:", done.stdout[-300:]


def test_importing_the_package_imports_no_torch():
    probe = "import sys, easyedit_plugins; print('torch' in sys.modules, easyedit_plugins.__version__)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split()[0] == "False"


def test_the_package_still_exports_every_name():
    import easyedit_plugins

    for name in easyedit_plugins.__all__:
        assert getattr(easyedit_plugins, name) is not None, name
    assert easyedit_plugins.BLUEHyperParams.__name__ == "BLUEHyperParams"
    assert callable(easyedit_plugins.apply_blue_to_model)
