"""Finding the per-rule files of RuleEdit-200 in a folder or a zip archive, without extracting.

The benchmark is a set of numbered folders, each with ``f_d.json`` and ``ins.json``. It is
distributed as a zip whose top folder is ``RuleEdit-200/``, but people re-zip it without that
folder or point at the extracted copy, or at the folder above it: all of these are accepted.
Anything that is not a numbered folder (DMLE's ``config.json``, ``__MACOSX``) is ignored. A zip
member that cannot be decompressed costs only the rule it belongs to (the loader skips it and
names the member); an archive whose directory cannot be read is refused as a whole.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

RULE_FILES = ("f_d.json", "ins.json")


class RuleEditSourceError(ValueError):
    """The path does not hold a RuleEdit-style benchmark."""


@dataclass(frozen=True)
class RuleFile:
    """One per-rule file: the name used in messages and a way to read its bytes."""

    display_name: str
    read: Callable[[], bytes]


@dataclass(frozen=True)
class RuleFolder:
    """The files found for one rule, by file name (a missing file is absent from ``files``)."""

    rule_id: str
    files: dict[str, RuleFile]


def _rule_sort_key(rule_id: str) -> tuple[int, str]:
    return (int(rule_id), rule_id)


def _folder_rules(root: Path) -> list[RuleFolder]:
    rules = []
    for child in root.iterdir():
        if not (child.is_dir() and child.name.isdigit()):
            continue
        files = {
            name: RuleFile(f"{child.name}/{name}", (child / name).read_bytes)
            for name in RULE_FILES
            if (child / name).is_file()
        }
        rules.append(RuleFolder(child.name, files))
    return sorted(rules, key=lambda r: _rule_sort_key(r.rule_id))


def _from_folder(path: Path) -> list[RuleFolder]:
    rules = _folder_rules(path)
    if rules:
        return rules
    candidates = [child for child in path.iterdir() if child.is_dir() and _folder_rules(child)]
    if len(candidates) == 1:
        return _folder_rules(candidates[0])
    if len(candidates) > 1:
        names = ", ".join(sorted(c.name for c in candidates))
        raise RuleEditSourceError(f"{path}: several folders hold numbered rule folders ({names}); pass one")
    raise RuleEditSourceError(f"{path}: no numbered rule folders (like 0/f_d.json) found")


def _member_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    """Read one member now; an unreadable one (bad CRC, corrupt deflate stream, unsupported
    compression) becomes a reader that raises ``OSError`` naming it, so the loader skips the
    rules in that member only (it reports ``OSError`` as "cannot be read") instead of the whole
    archive being refused."""
    try:
        data = zf.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as error:
        message = f"{info.filename}: unreadable zip member ({type(error).__name__}: {error})"

        def fail() -> bytes:
            raise OSError(message)

        return fail
    return lambda: data


def _from_zip(path: Path) -> list[RuleFolder]:
    by_prefix: dict[tuple[str, ...], dict[str, dict[str, RuleFile]]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                parts = PurePosixPath(info.filename).parts
                if info.is_dir() or len(parts) < 2 or parts[-1] not in RULE_FILES or not parts[-2].isdigit():
                    continue
                prefix = parts[:-2]
                if len(prefix) > 1 or any(p.startswith((".", "__MACOSX")) for p in prefix):
                    continue
                rule_files = by_prefix.setdefault(prefix, {}).setdefault(parts[-2], {})
                rule_files[parts[-1]] = RuleFile(info.filename, _member_reader(zf, info))
    except zipfile.BadZipFile as error:
        raise RuleEditSourceError(f"{path}: not a readable zip archive ({error})") from error
    if not by_prefix:
        raise RuleEditSourceError(f"{path}: no numbered rule folders (like 0/f_d.json) in the archive")
    if len(by_prefix) > 1:
        names = ", ".join(sorted("/".join(p) or "(top level)" for p in by_prefix))
        raise RuleEditSourceError(f"{path}: the archive holds rules under several folders ({names})")
    (folders,) = by_prefix.values()
    ordered = sorted(folders.items(), key=lambda item: _rule_sort_key(item[0]))
    return [RuleFolder(rule_id, files) for rule_id, files in ordered]


def find_rule_folders(path: str | Path) -> list[RuleFolder]:
    """Every numbered rule folder under ``path`` (a folder or a ``.zip``), in numeric order."""
    path = Path(path)
    if path.is_dir():
        return _from_folder(path)
    if path.is_file():
        return _from_zip(path)
    raise RuleEditSourceError(f"{path}: no such file or folder")
