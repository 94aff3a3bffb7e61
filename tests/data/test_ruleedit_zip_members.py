"""Issue 10 §4: one unreadable member of a RuleEdit zip costs only the rules in that member."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from ruleedit_fixture import rule_files

from easyedit_plugins.data import load_ruleedit


def _corrupt_member(archive: Path, member: str) -> None:
    """Flip bytes in the middle of ``member``'s stored data (its CRC or its deflate stream breaks)."""
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(member)
    data = bytearray(archive.read_bytes())
    name_length = int.from_bytes(data[info.header_offset + 26: info.header_offset + 28], "little")
    extra_length = int.from_bytes(data[info.header_offset + 28: info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_length + extra_length
    middle = start + info.compress_size // 2
    for offset in range(middle, middle + 4):
        data[offset] ^= 0xFF
    archive.write_bytes(bytes(data))


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["bad CRC", "corrupt deflate"])
def test_a_corrupt_member_skips_only_its_rule_and_is_named(tmp_path, compression):
    archive = tmp_path / "bench.zip"
    with zipfile.ZipFile(archive, "w", compression=compression) as zf:
        for n in (1, 2, 3):
            for name, content in rule_files(n).items():
                import json

                zf.writestr(f"RuleEdit-200/{n}/{name}", json.dumps(content, indent=2))
    _corrupt_member(archive, "RuleEdit-200/2/ins.json")
    benchmark = load_ruleedit(archive)
    assert [rule.rule_id for rule in benchmark.rules] == ["1", "3"]
    (issue,) = benchmark.report.skipped
    assert issue.rule_id == "2" and issue.file == "RuleEdit-200/2/ins.json"
    assert "cannot be read" in issue.message
