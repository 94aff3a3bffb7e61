"""The ``write_benchmark`` fixture: small RuleEdit-format benchmarks as a folder or a zip."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest
from ruleedit_fixture import RuleFiles


def _contents(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2)


@pytest.fixture
def write_benchmark(tmp_path: Path) -> Callable[..., Path]:
    """``write_benchmark(rules, form="folder"|"zip"|"zip-flat", name=...)`` writes ``rules``
    ({rule id: {file name: contents (JSON value, or a raw string for broken files)}}) and
    returns the folder or zip path."""

    def write(rules: dict[str, RuleFiles], form: str = "folder", name: str = "bench") -> Path:
        if form == "folder":
            root = tmp_path / name
            for rule_id, files in rules.items():
                (root / rule_id).mkdir(parents=True)
                for file_name, value in files.items():
                    (root / rule_id / file_name).write_text(_contents(value), encoding="utf-8")
            return root
        prefix = "RuleEdit-200/" if form == "zip" else ""
        archive = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for rule_id, files in rules.items():
                for file_name, value in files.items():
                    zf.writestr(f"{prefix}{rule_id}/{file_name}", _contents(value))
        return archive

    return write
