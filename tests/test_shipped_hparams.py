"""Every YAML file under hparams/ loads with the hyperparameter class of its alg_name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from easyedit_plugins.host import get_registry

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "hparams").rglob("*.y*ml"))
FILES_BY_NAME = {path.relative_to(ROOT / "hparams").with_suffix("").as_posix(): path for path in FILES}


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


# -- shipped with the package: found by name, listed, copied, and carried by the wheel ----------

def test_a_shipped_name_resolves_to_its_file():
    from easyedit_plugins import hparams_path, shipped_hparams

    assert hparams_path("BLUE/llama3-8b") == hparams_path("BLUE/llama3-8b.yaml")
    assert hparams_path("BLUE/llama3-8b").read_text(encoding="utf-8").startswith("#")
    assert len(shipped_hparams()) == len(FILES)


@pytest.mark.parametrize("name", ["BLUE/nope", "../pyproject.toml", "../../etc/passwd"])
def test_an_unknown_name_is_refused_listing_the_shipped_ones(name):
    from easyedit_plugins.shipped import ShippedHParamsNotFound, hparams_path

    with pytest.raises(ShippedHParamsNotFound, match="shipped: .*BLUE/llama3-8b"):
        hparams_path(name)


def test_from_hparams_takes_a_shipped_name_and_a_local_file_wins(tmp_path, monkeypatch):
    from easyedit_plugins import BLUEHyperParams

    assert BLUEHyperParams.from_hparams("BLUE/tiny-gpt2").layers
    local = tmp_path / "BLUE" / "tiny-gpt2.yaml"
    local.parent.mkdir()
    local.write_text("alg_name: BLUE\nmodel_name: mine\nlayers: [0, 1]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert BLUEHyperParams.from_hparams("BLUE/tiny-gpt2").model_name == "mine"


def test_the_hparams_command_lists_shows_and_copies(tmp_path, capsys):
    from easyedit_plugins.cli import main

    assert main(["hparams", "list", "PAC/"]) == 0
    assert "PAC/llama3-8b" in capsys.readouterr().out.split()
    assert main(["hparams", "show", "PAC/llama3-8b"]) == 0
    assert "alg_name: PAC" in capsys.readouterr().out
    assert main(["hparams", "copy", "PAC/llama3-8b", str(tmp_path)]) == 0
    assert (tmp_path / "llama3-8b.yaml").read_text(encoding="utf-8") == FILES_BY_NAME["PAC/llama3-8b"].read_text(encoding="utf-8")
    assert main(["hparams", "copy", "PAC/llama3-8b", str(tmp_path)]) == 2
    assert main(["hparams", "show", "PAC/nope"]) == 2
    assert "error: no shipped hyperparameter file 'PAC/nope'" in capsys.readouterr().err


def test_the_packaging_maps_every_file_of_hparams_into_the_package():
    """setup.py ships hparams/ as easyedit_plugins.hparams_files (checked on its source: building
    a wheel here would take too long; see docs/CONTRIBUTING.md for the wheel check)."""
    import ast
    import fnmatch

    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    tree = ast.parse(setup)
    constants = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
                 if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)}
    package = constants["SHIPPED_HPARAMS"]
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setup")
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}

    def evaluate(node):
        return ast.literal_eval(ast.parse(ast.unparse(node).replace("SHIPPED_HPARAMS", repr(package)), mode="eval").body)

    assert evaluate(keywords["package_dir"]) == {package: "hparams"}
    patterns = evaluate(keywords["package_data"])[package]
    for path in FILES:
        relative = path.relative_to(ROOT / "hparams").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
    from easyedit_plugins import shipped

    assert shipped._INSTALLED.name == package.rsplit(".", 1)[1]
