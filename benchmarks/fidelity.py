"""One command for the fidelity report: each paper's claims beside our measurements.

    python benchmarks/fidelity.py                                   # the full run: natural world, every section
    EASYEDIT_SRC=/path/to/EasyEdit python benchmarks/fidelity.py    # ... with EasyEdit 2026's MEMIT/AlphaEdit
    python benchmarks/fidelity.py --preset test --quick --out /tmp/fidelity --check   # CI-sized, checked
    python benchmarks/fidelity.py --preset test --sections BLUE PAC                   # some sections only

Four sections, each measured by its own script in its own process (the contract is in
``fidelity_section.py``):

* BLUE (``fidelity_blue.py``): boundary-layer updates against MEMIT and AlphaEdit, sequential
  edits in batches of 10 and 100;
* LGA (``bench_lga_bruteforce.py``): the golden layer against brute force and causal tracing;
* DMLE (``bench_dmle_fidelity.py``): rule editing in stages;
* PAC (``fidelity_pac.py``): consecutive editing against MEMIT and fine-tuning, locality split
  by relation, and the package's options beyond the paper.

Each section writes ``<out>/fidelity-parts/<its settings key>/<SECTION>.json``; a later run with the
same settings reuses it (``--force`` reruns), and a section interrupted half-way resumes through
bench_compare's own per-method parts. A failing section does not stop the others: the report
says which failed and shows the end of its output, and the exit code is 1. The report is
``<out>/fidelity-<date>.md`` for the natural world, ``fidelity-<preset>-<date>.md`` otherwise
(``-quick`` added for ``--quick``; a run of some ``--sections`` appends their names, so it never
replaces the report of all four; ``-easyedit`` ends the name of a run against EasyEdit's own
baselines), with ``.json`` (every section's raw data) and the plots.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from easyedit_plugins.world.presets import preset_named
from fidelity_report import SECTIONS, check_report, write_report
from fidelity_section import DEFAULT_WORLD
from results_file import RESULTS_DIR, command_line, machine

BENCHMARKS = Path(__file__).resolve().parent
#: Lines of a failed section's output kept for the report.
TAIL_LINES = 25
#: The command for the full run, printed in every report.
FULL_RUN = "EASYEDIT_SRC=/path/to/EasyEdit python benchmarks/fidelity.py --preset natural"


@dataclass(frozen=True)
class Section:
    """How to run one section: its script and the options it takes beyond the contract's."""

    name: str
    script: str
    extra: Callable[[argparse.Namespace], list[str]]
    takes_force: bool = False


def _arch_seed(args: argparse.Namespace, arch: str = "--arch", seed: str = "--seed") -> list[str]:
    """The world's architecture and seed when given (else each section's own default)."""
    return [*([arch, args.arch] if args.arch else []), *([seed, str(args.seed)] if args.seed is not None else [])]


def _blue_options(args: argparse.Namespace) -> list[str]:
    options = _arch_seed(args)
    if args.edits:
        options += ["--edits", str(args.edits)]
    if args.batches:
        options += ["--batches", *map(str, args.batches)]
    if args.checkpoints:
        options += ["--checkpoints", *map(str, args.checkpoints)]
    return options


def _lga_options(args: argparse.Namespace) -> list[str]:
    return _arch_seed(args, "--arches", "--seeds")


def _pac_options(args: argparse.Namespace) -> list[str]:
    return _arch_seed(args) + (["--edits", str(args.pac_edits)] if args.pac_edits else [])


def _dmle_options(args: argparse.Namespace) -> list[str]:
    options = _arch_seed(args)
    if args.dmle_rules:
        options += ["--rules", str(args.dmle_rules)]
    if args.dmle_candidates:
        options += ["--candidates", *args.dmle_candidates]
    return options


REGISTRY: dict[str, Section] = {
    "BLUE": Section("BLUE", "fidelity_blue.py", _blue_options, takes_force=True),
    "LGA": Section("LGA", "bench_lga_bruteforce.py", _lga_options),
    "DMLE": Section("DMLE", "bench_dmle_fidelity.py", _dmle_options),
    "PAC": Section("PAC", "fidelity_pac.py", _pac_options, takes_force=True),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="natural", help="world preset (natural: the full run; test: quick runs)")
    parser.add_argument("--arch", help="world architecture (default: each section's own)")
    parser.add_argument("--seed", type=int, help="world seed (default: each section's own)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads per section (1 on a shared machine)")
    parser.add_argument("--quick", action="store_true", help="CI-sized sections (use with --preset test)")
    parser.add_argument("--force", action="store_true", help="rerun sections whose results exist")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the report goes")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--edits", type=int, help="BLUE: facts in the stream")
    parser.add_argument("--batches", type=int, nargs="+", help="BLUE: facts per call, one run per size")
    parser.add_argument("--checkpoints", type=int, nargs="+", help="BLUE: numbers of edits to evaluate at")
    parser.add_argument("--pac-edits", type=int, help="PAC: facts in the stream")
    parser.add_argument("--dmle-rules", type=int, help="DMLE: edit only the first N usable rules")
    parser.add_argument("--dmle-candidates", nargs="+", help="DMLE: target settings to choose from (TEMPLATES:STEPS[:free])")
    parser.add_argument("--check", action="store_true",
                        help="fail unless the report holds all four sections, each with its command")
    parser.add_argument("--scripts", type=Path, default=BENCHMARKS, help=argparse.SUPPRESS)  # tests: fake sections
    return parser.parse_args(argv)


#: The options that decide each section's numbers beyond the ones every section shares.
SECTION_OPTIONS: dict[str, tuple[str, ...]] = {
    "BLUE": ("edits", "batches", "checkpoints"), "LGA": (), "DMLE": ("dmle_rules", "dmle_candidates"),
    "PAC": ("pac_edits",),
}


#: The sections that measure one world model, by default ``DEFAULT_WORLD`` (their scripts' defaults).
#: LGA is not among them: without ``--arch``/``--seed`` it covers every architecture and two seeds.
ONE_WORLD_SECTIONS = ("BLUE", "DMLE", "PAC")


def settings_key(args: argparse.Namespace, section: str | None = None) -> str:
    """What decides a section's numbers (``section``; None: every section's): reused results share it.

    A section's key leaves out the other sections' options, so measuring one section with other
    settings does not rerun the rest, and names the world model the section measures, so that
    spelling out its default (``--seed 0``) reuses what the defaults measured. The preset's data
    version is part of it, so parts measured on an earlier version of the world are never reused
    for a retrained one.
    """
    own = SECTION_OPTIONS[section] if section else tuple(o for options in SECTION_OPTIONS.values() for o in options)
    fields = {name: getattr(args, name) for name in ("preset", "arch", "seed", "threads", "quick", *own)}
    if section in ONE_WORLD_SECTIONS:  # `--seed 0` and no --seed measure the same world: one key
        fields["arch"] = args.arch or DEFAULT_WORLD[0]
        fields["seed"] = DEFAULT_WORLD[1] if args.seed is None else args.seed
    fields["easyedit"] = os.environ.get("EASYEDIT_SRC") or None
    fields["world_version"] = preset_named(args.preset).world.data_version
    if section:
        fields["section"] = section
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def report_name(args: argparse.Namespace, today: str) -> str:
    """``fidelity[-<preset>][-quick]-<date>[-<SECTIONS>][-easyedit]``.

    A run of some sections names them, so that it never replaces a report of all four written
    the same day (a run of one section to refresh it once overwrote the complete report). A run
    with ``EASYEDIT_SRC`` set measures EasyEdit's own MEMIT and AlphaEdit instead of the
    package's reference modes: it is named apart, so that neither report replaces the other.
    """
    name = "fidelity" if args.preset == "natural" else f"fidelity-{args.preset}"
    some = [s for s in SECTIONS if s in args.sections]
    suffix = "" if len(some) == len(SECTIONS) else "-" + "-".join(some)
    baselines = "-easyedit" if os.environ.get("EASYEDIT_SRC") else ""
    return f"{name}{'-quick' if args.quick else ''}-{today}{suffix}{baselines}"


def _as_typed(path: Path) -> str:
    """``path`` relative to the working folder where it lies below it: the commands written into
    the report are then the ones a reader of another clone can copy."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def section_command(section: Section, args: argparse.Namespace, part: Path) -> list[str]:
    command = [sys.executable, str(args.scripts / section.script), "--preset", args.preset, "--threads",
               str(args.threads), "--section-json", _as_typed(part)]
    if args.quick:
        command.append("--quick")
    if args.force and section.takes_force:
        command.append("--force")
    return command + section.extra(args)


def _tail(text: str) -> list[str]:
    lines = [line.rstrip() for chunk in text.splitlines() for line in chunk.split("\r") if line.strip()]
    return lines[-TAIL_LINES:]


def run_section(section: Section, args: argparse.Namespace, part: Path) -> dict[str, Any]:
    """Run one section, its output shown live and logged beside its JSON; a record or a failure."""
    command = section_command(section, args, part)
    shown = shlex.join(["python", *command[1:]])
    if not Path(command[1]).exists():
        return {"failed": True, "command": shown, "reason": f"its script {command[1]} does not exist", "tail": []}
    log = part.with_suffix(".log")
    tail: collections.deque[str] = collections.deque(maxlen=200)
    started = time.perf_counter()
    with open(log, "wb") as stream:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        while chunk := process.stdout.read1(4096):
            sys.stderr.buffer.write(chunk)
            sys.stderr.flush()
            stream.write(chunk)
            tail.append(chunk.decode("utf-8", errors="replace"))
        code = process.wait()
    seconds = time.perf_counter() - started
    if code != 0:
        return {"failed": True, "command": shown, "reason": f"exit code {code} after {seconds:.0f} s",
                "tail": _tail("".join(tail))}
    try:
        record = load_record(part, section.name)
    except ValueError as error:
        return {"failed": True, "command": shown, "reason": str(error), "tail": _tail("".join(tail))}
    return {"record": record, "seconds": seconds, "path": part}


def load_record(part: Path, name: str) -> dict[str, Any]:
    """A section's JSON, checked against the contract."""
    if not part.exists():
        raise ValueError(f"it wrote no {part.name}")
    try:
        record = json.loads(part.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"its {part.name} is not JSON: {error}") from None
    missing = {"section", "title", "command", "date", "machine", "claims", "markdown", "plots", "raw"} - set(record)
    if missing:
        raise ValueError(f"its {part.name} lacks {sorted(missing)}")
    if record["section"] != name:
        raise ValueError(f"its {part.name} is the {record['section']} section")
    return record


def main(argv: list[str] | None = None, registry: dict[str, Section] | None = None) -> int:
    args = parse_args(argv)
    args.out = args.out.resolve()
    registry = registry or REGISTRY
    today = datetime.date.today().isoformat()
    sections: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    chosen = [s for s in SECTIONS if s in args.sections]
    for index, name in enumerate(chosen, start=1):
        part = args.out / "fidelity-parts" / settings_key(args, name) / f"{name}.json"
        part.parent.mkdir(parents=True, exist_ok=True)
        progress = f"[fidelity {time.perf_counter() - started:5.0f} s] section {index}/{len(chosen)} {name}"
        if part.exists() and not args.force:
            try:
                sections[name] = {"record": load_record(part, name), "reused": True, "path": part}
                print(f"{progress}: reusing {part} (--force reruns it)", file=sys.stderr, flush=True)
                continue
            except ValueError as error:
                print(f"{progress}: {part} unusable ({error}); running it again", file=sys.stderr, flush=True)
        print(f"{progress}: running", file=sys.stderr, flush=True)
        sections[name] = run_section(registry[name], args, part)
        outcome = "FAILED: " + sections[name]["reason"] if sections[name].get("failed") else "done"
        print(f"[fidelity {time.perf_counter() - started:5.0f} s] {name} {outcome}", file=sys.stderr, flush=True)
    easyedit = f"EASYEDIT_SRC={shlex.quote(os.environ['EASYEDIT_SRC'])} " if os.environ.get("EASYEDIT_SRC") else ""
    header = {"date": today, "preset": args.preset, "command": easyedit + command_line(), "full_run_command": FULL_RUN,
              "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "settings_key": settings_key(args), "machine": machine(), "wall_seconds": time.perf_counter() - started}
    report = write_report(args.out, report_name(args, today), header, sections)
    print(f"report: {report} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    failed = [name for name, entry in sections.items() if entry.get("failed")]
    if failed:
        print(f"FAILED sections: {', '.join(failed)}", file=sys.stderr)
    problems = check_report(report.read_text(encoding="utf-8")) if args.check else []
    for problem in problems:
        print(f"check: {problem}", file=sys.stderr)
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
