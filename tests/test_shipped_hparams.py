"""Every YAML file under hparams/ loads with the hyperparameter class of its alg_name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from easyedit_plugins.host import get_registry

FILES = sorted((Path(__file__).resolve().parents[1] / "hparams").rglob("*.y*ml"))


def classes_by_alg_name() -> dict[str, type]:
    registry = get_registry()
    classes = {name: entry.spec.hparams_class for name, entry in registry.methods.items()}
    for entry in registry.layer_selectors.values():
        if entry.spec.hparams_class is not None:
            classes[entry.spec.hparams_class.ALG_NAME] = entry.spec.hparams_class
    return classes


def test_there_are_files_for_every_builtin_method():
    folders = {path.parent.name for path in FILES}
    assert {"BLUE", "PAC"} <= folders


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_file_loads_with_its_class(path):
    alg_name = yaml.safe_load(path.read_text(encoding="utf-8"))["alg_name"]
    hparams = classes_by_alg_name()[alg_name].from_hparams(path)
    assert hparams.alg_name == alg_name
    assert path.parent.name == alg_name
