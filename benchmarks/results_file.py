"""Writing a benchmark's result file under ``benchmarks/results/``: when, where, how, what.

Every number the README quotes comes from one of these files, so each records the date, the
machine (CPU, usable cores, load average, versions), the exact command that wrote it and the raw
measurements as JSON. Nothing here imports torch: versions come from the installed metadata.
Files are written atomically (a temporary file moved into place), so an interrupted benchmark
never leaves a half-written result beside the README's numbers.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

from easyedit_plugins.core.files import write_atomically

#: Where result files go.
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """CPU model, cores this process may use, load average and package versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        load = list(os.getloadavg())
    except (AttributeError, OSError):
        load = None
    return {"cpu": cpu, "cores": cores, "load_average": load, "python": platform.python_version(),
            "platform": platform.platform(), "torch": _version("torch"), "transformers": _version("transformers")}


def command_line() -> str:
    """The command that ran this script, as typed from the current folder."""
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(Path.cwd())
    except ValueError:
        pass
    return shlex.join(["python", str(script), *sys.argv[1:]])


def write_result(name: str, results: dict[str, Any], summary: str) -> Path:
    """Write ``results/<name>-<date>.json`` (and ``.md`` with ``summary``); return the JSON path."""
    today = datetime.date.today().isoformat()
    record = {"benchmark": name, "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
              "machine": machine(), "command": command_line(), "summary": summary, "results": results}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{today}.json"
    _write_record(path, record)
    return path


def rewrite_summary(path: Path, summary: str) -> dict[str, Any]:
    """Give the result file ``path`` (and its ``.md``) a new ``summary`` rendered from its own raw
    measurements, keeping when, where and by which command they were measured; the file records
    when and by which command it was rendered again. Returns the rewritten record."""
    record = json.loads(path.read_text(encoding="utf-8"))
    record["summary"] = summary
    record["rendered_again"] = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                                "command": command_line()}
    _write_record(path, record)
    return record


def _write_record(path: Path, record: dict[str, Any]) -> None:
    write_atomically(path, lambda stream: stream.write(json.dumps(record, indent=2) + "\n"))
    measured = record["machine"]
    lines = [f"# {record['benchmark']}, {record['date'][:10]}", "", record["summary"], "",
             f"* Command: `{record['command']}`",
             f"* Machine: {measured['cpu']}, {measured['cores']} usable core(s), load average "
             f"{measured['load_average']}, Python {measured['python']}, torch "
             f"{measured['torch']}, transformers {measured['transformers']}",
             f"* Raw measurements: [`{path.name}`]({path.name})"]
    if "rendered_again" in record:
        again = record["rendered_again"]
        lines.append(f"* Text rendered again from the raw measurements on {again['date'][:10]} by "
                     f"`{again['command']}` (the measurements are unchanged)")
    write_atomically(path.with_suffix(".md"), lambda stream: stream.write("\n".join(lines + [""])))


def produced_by(command: str) -> list[str]:
    """The lines every result report opens with: the command that wrote it, ready to copy."""
    return ["Produced by:", "", "```bash", command, "```", ""]


def score(value: float | None) -> str:
    """A metric in a report table: three decimals, a dash where nothing was measured."""
    return "–" if value is None else f"{value:.3f}"


def markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a Markdown table."""
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + ["| " + " | ".join(r) + " |" for r in rows]
