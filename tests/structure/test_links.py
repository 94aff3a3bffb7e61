"""Every relative link in the README, docs/, examples/ and the comments of hparams/ resolves.

A link is a Markdown link ``[text](target)`` anywhere in those files, or a bare mention of a
Markdown document (``docs/methods.md``) in Markdown prose (code is not prose: an output file
named in a code span is no link) or in a YAML or Python comment. A target resolves when
the file exists relative to the linking file or to the repository root (how prose in comments
names files). Web addresses and in-page anchors are not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
BARE_DOCUMENT = re.compile(r"(?<![\w/.-])((?:\.{1,2}/|[\w-]+/)*[\w.-]+\.md)\b")
COMMENT = re.compile(r"#(.*)$")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def _documents() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    for folder, patterns in (("docs", ("*.md",)), ("examples", ("*.md", "*.py")), ("hparams", ("*.yaml", "*.yml"))):
        for pattern in patterns:
            files += sorted((ROOT / folder).rglob(pattern))
    return [path for path in files if path.is_file()]


def links(path: Path) -> list[str]:
    """The relative link targets in ``path`` (without anchors)."""
    text = path.read_text(encoding="utf-8")
    found = list(MARKDOWN_LINK.findall(text))
    if path.suffix == ".md":
        found += BARE_DOCUMENT.findall(CODE.sub("", MARKDOWN_LINK.sub("", text)))
    else:
        for line in text.splitlines():
            comment = COMMENT.search(line)
            if comment:
                found += BARE_DOCUMENT.findall(comment.group(1))
    targets = []
    for target in found:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a web address or an anchor on the same page
        targets.append(target.split("#", 1)[0])
    return [target for target in targets if target]


def resolves(path: Path, target: str) -> bool:
    return (path.parent / target).exists() or (ROOT / target).exists()


@pytest.mark.parametrize("path", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_files_that_exist(path):
    missing = [target for target in links(path) if not resolves(path, target)]
    assert missing == [], f"{path.relative_to(ROOT)} links to missing files: {missing}"


def test_the_checker_finds_links_of_every_kind(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[a](docs/x.md#part) [b](https://example.org) [c](#top) [d](../up.py), "
                    "see DESIGN.md, not `out/report.md`\n", encoding="utf-8")
    assert links(page) == ["docs/x.md", "../up.py", "DESIGN.md"]
    config = tmp_path / "config.yaml"
    config.write_text("# see METHODS.md section 0 and docs/methods.md\nkey: value.md\n", encoding="utf-8")
    assert links(config) == ["METHODS.md", "docs/methods.md"]
    assert not resolves(config, "METHODS.md")
