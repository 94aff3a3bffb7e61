"""The fidelity report's Markdown and JSON, assembled from the section records (no running here).

Input: the report's header facts and, per section, either the section's JSON record (the
contract in ``fidelity_section.py``) or a failure (exit code, the tail of its output). Output:
``<name>.md`` with a summary table of every claim (paper beside ours), then each section with
the command that reproduces it and its plots, and ``<name>.json`` with every record; the plots
are copied next to the report as ``<name>-<section>-<n>.png``. Every file is written atomically.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from easyedit_plugins.core.files import write_atomically, write_text_atomically
from results_file import produced_by

SECTIONS = ("BLUE", "LGA", "DMLE", "PAC")
#: What a section heading looks like (a title that starts with "<section>:" is the heading as it is);
#: the check below finds the sections by it.
HEADING = "## {section}: {title}"
FAILED_HEADING = "## {section}: FAILED"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _holds(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "not measurable here"}[value]


def claims_table(sections: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| section | claim | paper | ours | metric | holds |", "|---|---|---|---|---|---|"]
    for name, entry in sections.items():
        if entry.get("failed"):
            lines.append(f"| {name} | – | – | section failed (see below) | – | – |")
            continue
        for claim in entry["record"]["claims"]:
            lines.append("| " + " | ".join(_cell(x) for x in (name, claim["claim"], claim["paper"], claim["measured"],
                                                                 claim["metric"], _holds(claim["holds"]))) + " |")
    return lines


def copy_plots(name: str, out: Path, section: str, record: dict[str, Any], source: Path) -> dict[str, str]:
    """Copy the section's plots next to the report; returns their old relative paths -> new file names."""
    renamed = {}
    for index, relative in enumerate(record.get("plots", []), start=1):
        plot = source.parent / relative
        if not plot.exists():
            continue
        target = out / f"{name}-{section}-{index}{plot.suffix}"
        data = plot.read_bytes()
        write_atomically(target, lambda stream, data=data: stream.write(data), binary=True)
        renamed[relative] = target.name
    return renamed


def _relink(markdown: str, renamed: dict[str, str]) -> tuple[str, list[str]]:
    """Point the section's image links at the copies; returns the text and the plots it does not show."""
    unshown = []
    for old, new in renamed.items():
        pattern = re.compile(r"(!\[[^\]]*\]\()" + re.escape(old) + r"\)")
        markdown, count = pattern.subn(lambda match: match.group(1) + new + ")", markdown)
        if not count:
            unshown.append(new)
    return markdown, unshown


def section_lines(section: str, entry: dict[str, Any], renamed: dict[str, str]) -> list[str]:
    if entry.get("failed"):
        return [FAILED_HEADING.format(section=section), "", "Command:", "", "```bash", entry["command"], "```", "",
                f"It failed: {entry['reason']}. The last lines of its output:", "", "```text",
                *entry["tail"], "```", ""]
    record = entry["record"]
    markdown, unshown = _relink(record["markdown"], renamed)
    title = record["title"]
    heading = f"## {title}" if title.startswith(f"{section}:") else HEADING.format(section=section, title=title)
    lines = [heading, "", "Command:", "", "```bash", record["command"],
             "```", "", f"Measured {record['date']} on {record['machine'].get('cpu')} "
             f"({record['machine'].get('cores')} cores, load average {record['machine'].get('load_average')})"
             + (f", in {entry['seconds']:.0f} s" if entry.get("seconds") is not None else "")
             + (" (reused from an earlier run with the same settings)" if entry.get("reused") else "") + ".", "",
             markdown.rstrip(), ""]
    lines += [f"![{section} plot {index}]({plot})" for index, plot in enumerate(unshown, start=1)]
    return lines + ([""] if unshown else [])


def write_report(out: Path, name: str, header: dict[str, Any], sections: dict[str, dict[str, Any]]) -> Path:
    """``out/<name>.md`` and ``.json`` (and the plots); returns the Markdown's path."""
    out.mkdir(parents=True, exist_ok=True)
    body: list[str] = []
    for section, entry in sections.items():
        renamed = {} if entry.get("failed") else copy_plots(name, out, section, entry["record"], entry["path"])
        body += section_lines(section, entry, renamed)
    failed = [s for s, e in sections.items() if e.get("failed")]
    machine = header["machine"]
    lines = [
        f"# Fidelity report: each paper's claims on the `{header['preset']}` world, {header['date']}",
        "",
        *produced_by(header["command"]),
        "The full run (natural world, every section, EasyEdit 2026's own MEMIT and AlphaEdit):",
        "",
        "```bash",
        header["full_run_command"],
        "```",
        "",
        f"* Machine: {machine['cpu']}, {machine['cores']} cores, load average {machine['load_average']}; Python "
        f"{machine['python']}, torch {machine['torch']}, transformers {machine['transformers']}.",
        f"* Sections: {', '.join(sections)}" + (f"; FAILED: {', '.join(failed)}" if failed else "") + ". Each ran in "
        "its own process; a section whose results exist for the same settings is reused (`--force` reruns it).",
        "* Headline metric: greedy exact match of the whole answer after the LAST edit; teacher-forced token accuracy "
        "(the papers' metric) beside it where the section measures it. The papers' numbers come from large models "
        "and benchmarks; ours from a miniature world model on a CPU: compare directions, not values.",
        "",
        "## Claims",
        "",
        *claims_table(sections),
        "",
        *body,
    ]
    record = {**header, "sections": {s: ({k: v for k, v in e.items() if k != "path"} if e.get("failed") else
                                         {"record": e["record"], "reused": e.get("reused", False),
                                          "seconds": e.get("seconds")}) for s, e in sections.items()}}
    write_text_atomically(out / f"{name}.json", json.dumps(record, indent=2, default=str))
    return write_text_atomically(out / f"{name}.md", "\n".join(lines).rstrip() + "\n")


def check_report(text: str, sections: tuple[str, ...] = SECTIONS) -> list[str]:
    """What the report lacks: a section of ``sections``, its command, or a failure; empty if complete."""
    problems = []
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    found = {part.split(":", 1)[0].strip(): part for part in parts[1:]}
    for section in sections:
        part = found.get(section)
        if part is None:
            problems.append(f"no {section} section")
        elif part.split("\n", 1)[0].strip().endswith("FAILED"):
            problems.append(f"the {section} section failed")
        elif not re.search(r"Command:\n\n```bash\n\S.*\n```", part):
            problems.append(f"the {section} section shows no command")
    if "## Claims" not in text:
        problems.append("no claims table")
    return problems
