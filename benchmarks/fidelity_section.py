"""What every section script of the fidelity report shares: its options, its JSON, its comparison runs.

The contract (``benchmarks/fidelity.py`` runs each section script as a subprocess) is one JSON
object per section: ``section``, ``title``, ``command``, ``date``, ``machine``, ``claims`` (paper
number beside ours), ``markdown``, ``plots`` (relative to the JSON's folder) and ``raw``. This
module builds and writes that object (atomically) and runs ``bench_compare.py`` for the sections
that measure sequential editing, keeping its outputs (and its per-method parts, so an
interrupted section resumes) in a folder next to the section JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from results_file import machine
from easyedit_plugins.core.files import write_text_atomically

BENCHMARKS = Path(__file__).resolve().parent
SECTIONS = ("BLUE", "LGA", "DMLE", "PAC")
#: The world model (architecture, seed) a one-world section measures when not told otherwise; the
#: orchestrator keys reused results by it, so the scripts' defaults and the keys cannot drift apart.
DEFAULT_WORLD = ("gpt2", 0)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """The options the orchestrator passes to every section script."""
    parser.add_argument("--preset", default="natural", help="world preset (test: quick runs)")
    parser.add_argument("--arch", default=DEFAULT_WORLD[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_WORLD[1])
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (1 on a shared machine)")
    parser.add_argument("--section-json", type=Path, required=True, help="where the section's JSON goes")
    parser.add_argument("--quick", action="store_true", help="a CI-sized run (use with --preset test)")
    parser.add_argument("--force", action="store_true", help="rerun comparisons already finished")


def fill_sizes(args: argparse.Namespace, sizes: dict[str, dict[str, Any]]) -> argparse.Namespace:
    """Fill the size options left unset from ``sizes["quick"]``, ``["test"]`` (the test preset) or ``["default"]``.

    Each section names its own sizes by its options' attribute names; an option given on the
    command line wins.
    """
    chosen = sizes["quick" if args.quick else "test" if args.preset == "test" else "default"]
    for name, value in chosen.items():
        if not getattr(args, name):
            setattr(args, name, value)
    return args


def section_command() -> str:
    """The command that reproduces this section, with EASYEDIT_SRC when it is set."""
    prefix = f"EASYEDIT_SRC={shlex.quote(os.environ['EASYEDIT_SRC'])} " if os.environ.get("EASYEDIT_SRC") else ""
    script = Path(sys.argv[0]).resolve()
    shown = os.path.relpath(script, Path.cwd()) if script.is_relative_to(Path.cwd()) else str(script)
    arguments = list(sys.argv[1:])
    if "--section-json" in arguments:  # where this run wrote it is no part of how to reproduce it
        index = arguments.index("--section-json")
        del arguments[index:index + 2]
    return prefix + shlex.join(["python", shown, *arguments])


def write_section(path: Path, section: str, title: str, claims: list[dict[str, Any]], markdown: str,
                  plots: list[Path], raw: dict[str, Any]) -> Path:
    """The section's JSON, written atomically; ``plots`` are stored relative to its folder."""
    if section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}; the report has {SECTIONS}")
    for claim in claims:
        missing = {"claim", "paper", "measured", "metric", "holds"} - set(claim)
        if missing:
            raise ValueError(f"claim {claim.get('claim')!r} lacks {sorted(missing)}")
    record = {
        "section": section, "title": title, "command": section_command(),
        "date": datetime.date.today().isoformat(), "machine": machine(), "claims": claims,
        "markdown": markdown, "plots": [os.path.relpath(plot, path.parent) for plot in plots], "raw": raw,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomically(path, json.dumps(record, indent=2, default=str))


def run_compare(arguments: list[str], out: Path, force: bool) -> dict[str, Any]:
    """Run ``bench_compare.py`` with ``arguments`` into ``out``; its report (JSON) as a dict.

    Its progress goes to this process's stderr. The report is the newest ``compare-*.json`` in
    ``out``: bench_compare names it by date, and a run that crosses midnight must still be found.
    """
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(BENCHMARKS / "bench_compare.py"), *arguments, "--out", str(out)]
    if force:
        command.append("--force")
    print("$ " + shlex.join(command), file=sys.stderr, flush=True)
    started = datetime.datetime.now().timestamp()
    outcome = subprocess.run(command, stdout=subprocess.DEVNULL)
    if outcome.returncode != 0:
        raise SystemExit(f"bench_compare.py failed (exit {outcome.returncode}): {shlex.join(arguments)}")
    reports = [p for p in out.glob("compare-*.json") if p.stat().st_mtime >= started - 1]
    if not reports:
        raise SystemExit(f"bench_compare.py wrote no report in {out}")
    report_path = max(reports, key=lambda p: p.stat().st_mtime)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report["files"] = {"json": str(report_path), "curves": str(report_path.with_name(report_path.stem + "-curves.png"))}
    return report


def method_rows(report: dict[str, Any], methods: Sequence[str], cells: Callable[[str, dict[str, Any]], list[str]],
                width: int) -> list[list[str]]:
    """One table row per method of a bench_compare report: ``cells(name, part)``, or a FAILED row
    of ``width`` cells for a method whose run left no result (its log says why)."""
    rows = []
    for name in methods:
        part = report["methods"].get(name)
        rows.append(cells(name, part) if part is not None
                    else [name, "FAILED (see the section's log)", *["–"] * (width - 2)])
    return rows


def mean(values: list[float | None]) -> float | None:
    """The mean of the measured values, None if any is missing (a claim then cannot be judged)."""
    if not values or any(v is None for v in values):
        return None
    return sum(values) / len(values)  # type: ignore[arg-type]


def token_equals_exact(report: dict[str, Any]) -> bool:
    """Whether every point of a bench_compare report has the same token accuracy as exact match.

    So it is when every answer is one token (the miniature worlds): the report then says so once
    instead of letting two equal columns look like two confirmations.
    """
    pairs = [(point.get(m), point.get(f"{m}_token")) for part in report["methods"].values()
             for point in part["curve"] for m in ("efficacy", "generalisation", "locality")]
    return bool(pairs) and all(a is not None and b is not None and abs(a - b) < 1e-9 for a, b in pairs)
