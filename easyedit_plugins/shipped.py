"""The hyperparameter files shipped with the package, found by name (``"BLUE/llama3-8b"``).

They live in the repository's top-level ``hparams/`` folder. A wheel or a non-editable install
carries them inside the package as ``hparams_files/`` (setup.py maps the folder there); an
editable install or a source checkout reads them from ``hparams/`` beside the package. One
function answers where they are, so nothing else needs to know which of the two it runs from.
"""

from __future__ import annotations

from pathlib import Path

SUFFIXES = (".yaml", ".yml", ".json")

_PACKAGE_DIR = Path(__file__).resolve().parent
#: Installed from a wheel (or ``pip install .``): inside the package.
_INSTALLED = _PACKAGE_DIR / "hparams_files"
#: Editable install or source checkout: the repository's top-level folder.
_SOURCE_TREE = _PACKAGE_DIR.parent / "hparams"


class ShippedHParamsNotFound(FileNotFoundError):
    """No shipped hyperparameter file has that name; the message lists the ones there are."""


def shipped_hparams_dir() -> Path | None:
    """The folder of the shipped files, or None if this installation has none."""
    for folder in (_INSTALLED, _SOURCE_TREE):
        if folder.is_dir():
            return folder
    return None


def shipped_hparams() -> list[str]:
    """Every shipped file's name, ``METHOD/file`` without the suffix, sorted."""
    folder = shipped_hparams_dir()
    if folder is None:
        return []
    return sorted(
        path.relative_to(folder).with_suffix("").as_posix()
        for path in folder.rglob("*")
        if path.suffix in SUFFIXES and path.is_file()
    )


def hparams_path(name: str) -> Path:
    """The file of the shipped hyperparameter set ``name`` (``"BLUE/llama3-8b"``, suffix optional).

    Raises :class:`ShippedHParamsNotFound` naming the shipped sets when there is no such file.
    """
    folder = shipped_hparams_dir()
    if folder is not None:
        relative = Path(name)
        candidates = [relative] if relative.suffix in SUFFIXES else [relative.with_name(relative.name + s) for s in SUFFIXES]
        for candidate in candidates:
            path = folder / candidate
            if path.is_file() and folder in path.resolve().parents:
                return path
    known = ", ".join(shipped_hparams()) or "none (this installation ships no hyperparameter files)"
    raise ShippedHParamsNotFound(f"no shipped hyperparameter file {name!r}; shipped: {known}")
