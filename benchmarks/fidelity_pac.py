"""The PAC section of the fidelity report: PAC against MEMIT and fine-tuning in consecutive editing.

    python benchmarks/fidelity_pac.py --preset natural --section-json out/PAC.json
    python benchmarks/fidelity_pac.py --preset test --quick --section-json out/PAC.json

The paper claims that PAC collapses far less than every baseline under consecutive editing (ZsRE,
Llama3-8B: 73.46 against 9.32 for the best baseline), in teacher-forced token accuracy. Here
``bench_compare.py`` runs one stream of ``--edits`` counterfactual facts of ``--relations``, in
calls of ``--batch``, with

* ``PAC``: PAC's own regime, all edits so far jointly (12 epochs, the paper's settings, ``lr:
  auto``), re-run from the unedited model at every checkpoint;
* ``PAC-chain``: PAC call after call with no replay (in sequence; not the paper's regime);
* ``FT``: plain FFN fine-tuning by the same engine in the same joint regime (the baseline PAC's
  sparse paths and contrastive term should beat);
* ``MEMIT``: EasyEdit 2026's own when EASYEDIT_SRC is importable, else the reference mode;

and reports, after the last edit and along the stream, efficacy, generalisation and locality
split into facts of the edited relations and of the others, each as greedy exact match and as
teacher-forced token accuracy. The beyond-the-paper options (``train_keys: false``,
``key_max_drift``, ``retain_weight``) come from the newest ``pac-regimes-*.json`` files of
``bench_pac_regimes.py`` in ``benchmarks/results`` (cited with their commands).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from fidelity_section import (
    add_common_options, fill_sizes, mean, method_rows, run_compare, token_equals_exact, write_section,
)
from results_file import RESULTS_DIR, markdown_table, score
from easyedit_plugins.world import load_world_model
from easyedit_plugins.world.requests import editable_fact_count

METHODS = ("PAC", "PAC-chain", "FT", "MEMIT")
BASELINES = ("MEMIT", "FT")
LABELS = {"PAC": "PAC joint (12 epochs, cumulative re-run)", "PAC-chain": "PAC in sequence (chain, no replay)",
          "FT": "FFN fine-tuning (joint, cumulative re-run)", "MEMIT": "MEMIT (sequential)"}
COLUMNS = ("efficacy", "generalisation", "locality_same_relation", "locality_other_relation")
HEADERS = ("efficacy", "generalisation", "locality same relation", "locality other relations")
PAPER_CLAIM = "73.46 vs 9.32 for the best baseline (ZsRE, Llama3-8B, consecutive editing; teacher-forced token accuracy)"
SIZES = {
    "quick": dict(edits=40, batch=10, checkpoints=[10, 20, 40], locality=60),
    "test": dict(edits=100, batch=10, checkpoints=[10, 50, 100], locality=300),
    "default": dict(edits=200, batch=10, checkpoints=[10, 100, 200], locality=300),
}
#: Locality levels (both splits at least this) at which the configurations' best efficacies are compared:
#: points of the efficacy-locality front.
FRONT_LOCALITY = (0.7, 0.8, 0.9)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--edits", type=int, help="facts in the stream (capped at what the world can edit)")
    parser.add_argument("--batch", type=int, help="facts per call")
    parser.add_argument("--checkpoints", type=int, nargs="+", help="numbers of edits to evaluate at")
    parser.add_argument("--relations", nargs="+", default=["city", "language"], help="relations the stream edits")
    parser.add_argument("--locality", type=int, help="unedited facts whose answers must not change")
    parser.add_argument("--regimes", type=Path, default=RESULTS_DIR,
                        help="folder of bench_pac_regimes.py's results (its options' evidence)")
    return fill_sizes(parser.parse_args(argv), SIZES)


def quality(part: dict[str, Any] | None, suffix: str) -> float | None:
    """Mean of efficacy, generalisation and (whole) locality after the last edit, in one metric."""
    if part is None:
        return None
    return mean([part["final"].get(f"{m}{suffix}") for m in ("efficacy", "generalisation", "locality")])


def claims_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    methods = report["methods"]
    claims = []
    for suffix, metric in (("_token", "teacher-forced token accuracy (the paper's metric)"),
                           ("", "greedy exact match of the whole answer")):
        pac = quality(methods.get("PAC"), suffix)
        baselines = {name: quality(methods.get(name), suffix) for name in BASELINES}
        measured = (f"PAC joint {score(pac)} vs " + ", ".join(f"{name} {score(v)}" for name, v in baselines.items())
                    + f"; PAC in sequence {score(quality(methods.get('PAC-chain'), suffix))}")
        judged = pac is not None and all(v is not None for v in baselines.values())
        claims.append({
            "claim": "PAC collapses far less than every baseline under consecutive editing",
            "paper": PAPER_CLAIM,
            "measured": measured + f" after {report['requests']['facts']} edits",
            "metric": f"{metric} after the last edit, mean of efficacy, generalisation and locality; holds: PAC "
                      "joint above MEMIT and FT",
            "holds": (pac > max(baselines.values())) if judged else None,  # type: ignore[type-var]
        })
    return claims


def stream_table(report: dict[str, Any]) -> list[str]:
    def cells(name: str, part: dict[str, Any]) -> list[str]:
        f = part["final"]
        return [f"{name}: {LABELS[name]}", part["implementation"],
                *(f"{score(f.get(m))} / {score(f.get(m + '_token'))}" for m in COLUMNS),
                f"{part['seconds']['per_edit_wall']:.3f}"]

    rows = method_rows(report, METHODS, cells, width=len(COLUMNS) + 3)
    return markdown_table(["method", "implementation", *(f"{h} (exact / token)" for h in HEADERS), "s/edit"], rows)


def curve_table(report: dict[str, Any], metric: str) -> list[str]:
    counts = sorted({p["edits"] for part in report["methods"].values() for p in part["curve"]})
    rows = []
    for name in METHODS:
        part = report["methods"].get(name)
        if part is not None:
            by_count = {p["edits"]: p for p in part["curve"]}
            rows.append([name, *(f"{score(by_count[n].get(metric))} / {score(by_count[n].get(metric + '_token'))}"
                                 if n in by_count else "–" for n in counts)])
    return markdown_table(["method", *(f"{n} edits" for n in counts)], rows)


# --- the beyond-the-paper options, from bench_pac_regimes.py's results ---------------------------------

def regime_files(folder: Path) -> list[Path]:
    """The newest date's ``pac-regimes-<date>[-suffix].json`` files."""
    files = sorted(folder.glob("pac-regimes-*.json"))
    if not files:
        return []
    newest = max(json.loads(p.read_text(encoding="utf-8"))["date"] for p in files)
    return [p for p in files if json.loads(p.read_text(encoding="utf-8"))["date"] == newest]


def front_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per configuration: its row at the paper's budget 0.18, and at each level of ``FRONT_LOCALITY`` its
    best efficacy over every budget measured with both localities at least that level."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_name.setdefault(row["name"], []).append(row)
    summary = []
    for name, found in by_name.items():
        paper_budget = next((r for r in found if r["settings"] == "budget 0.18"), None)
        best = {}
        for level in FRONT_LOCALITY:
            on_front = [r for r in found if r["loc_same"] >= level and r["loc_other"] >= level]
            best[str(level)] = max(on_front, key=lambda r: (r["efficacy"], r["generalisation"]), default=None)
        summary.append({"name": name, "regime": found[0]["regime"], "paper_budget": paper_budget, "best": best})
    return summary


def front_leaders(summary: list[dict[str, Any]], without: str | None = None) -> dict[str, list[str]]:
    """At each locality level, the configurations with the highest efficacy (ties kept), leaving out
    those whose name starts with ``without``."""
    leaders = {}
    for level in map(str, FRONT_LOCALITY):
        reached = [(e["best"][level]["efficacy"], e["name"]) for e in summary if e["best"][level] is not None
                   and not (without and e["name"].startswith(without))]
        top = max((efficacy for efficacy, _ in reached), default=None)
        leaders[level] = [name for efficacy, name in reached if efficacy == top]
    return leaders


def _shown(path: Path) -> str:
    """A results file as the repository names it (its absolute path if it lies elsewhere)."""
    root = RESULTS_DIR.parent.parent
    return path.resolve().relative_to(root).as_posix() if path.resolve().is_relative_to(root) else str(path)


def options_markdown(files: list[Path]) -> tuple[list[str], dict[str, Any]]:
    if not files:
        return ["No `pac-regimes-*.json` results found: run `python benchmarks/bench_pac_regimes.py`.", ""], {}
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    rows = [row for report in reports for row in report["rows"]]
    summary = front_summary(rows)
    first = reports[0]
    lines = [f"Beyond the paper: the package's PAC options against PAC's key drift (`train_keys: false` = values only, "
             f"`key_max_drift`, `retain_weight`), from `bench_pac_regimes.py` on the {first['world']} world model, "
             f"{first['facts']} facts of {first['relations']}, locality {first['locality_sizes']} (same / other "
             "relation), greedy exact match. Sources:", ""]
    lines += [f"* `{_shown(p)}` (`{r['command']}`, {r['date']})" for p, r in zip(files, reports)]
    lines += ["", "Each configuration at the paper's drift budget 0.18 (efficacy / generalisation / locality same / "
              "other relation), and its best efficacy over every budget measured with locality at least L on both "
              "splits (a point of the efficacy-locality front; the budget in brackets):", ""]
    table_rows = []
    for entry in summary:
        at = entry["paper_budget"]
        table_rows.append([entry["name"], entry["regime"],
                           "/".join(score(at[k]) for k in ("efficacy", "generalisation", "loc_same", "loc_other"))
                           if at else "–",
                           *(f"{score(best['efficacy'])} ({best['settings'].removeprefix('budget ')})" if best else
                             "none" for best in entry["best"].values())])
    lines += markdown_table(["configuration", "regime", "at budget 0.18", *(f"best efficacy, L = {level}"
                                                                    for level in FRONT_LOCALITY)], table_rows)
    leaders, without_memit = front_leaders(summary), front_leaders(summary, without="MEMIT")
    lines += ["", "Highest efficacy at each locality level: " + "; ".join(
        f"L = {level}: {', '.join(names) or 'none'}" for level, names in leaders.items()) + ". Without MEMIT: "
        + "; ".join(f"L = {level}: {', '.join(names) or 'none'}" for level, names in without_memit.items()) + "."]
    return lines + [""], {"files": [str(p) for p in files], "front": summary, "leaders": leaders,
                          "leaders_without_memit": without_memit}


# --- the section ------------------------------------------------------------------------------------------

def main() -> None:
    args = parse_args()
    world = load_world_model(args.preset, args.arch, args.seed, threads=args.threads)
    editable = editable_fact_count(world.world, world.knows, relations=args.relations)
    del world
    edits = min(args.edits, editable)
    checkpoints = sorted({c for c in args.checkpoints if c <= edits and c % args.batch == 0} | {edits})
    arguments = ["--preset", args.preset, "--arch", args.arch, "--seed", str(args.seed), "--threads", str(args.threads),
                 "--edits", str(edits), "--batch", str(args.batch), "--checkpoints", *map(str, checkpoints),
                 "--methods", *METHODS, "--relations", *args.relations, "--locality", str(args.locality)]
    folder = args.section_json.parent / "PAC"
    report = run_compare(arguments, folder / "stream", args.force)
    world = report["world"]
    lines = [f"One stream of {edits} counterfactual facts of {world['edited_relations']} on the `{args.preset}` world "
             f"({world['arch']}, {world['num_layers']} layers), in calls of {args.batch}; MEMIT on layers "
             f"{world['layers']}, PAC and FT on every layer with the paper's settings (N=15, M=1, lambda=0.1, 12 "
             f"epochs, mini-batches of 2, `lr: auto`). EasyEdit: {report['easyedit']}.", ""]
    if edits < args.edits:
        lines += [f"The world can edit {editable} facts of these relations: the stream is capped at {edits}.", ""]
    budget, epochs = report["settings"]["pac_drift_budget"], report["settings"]["pac_epochs"]
    paper = "the paper's" if budget == 0.18 else "the paper's is 0.18"
    lines += [f"`lr: auto` divides a fixed drift budget ({budget:g}, {paper}) by {epochs} epochs x "
              f"ceil(n / 2) mini-batches: the more facts one joint run edits, the smaller its step (n = {edits}: lr = "
              f"{budget / (epochs * -(-edits // 2)):.2g}; FT runs with the same rate).", ""]
    lines += ["After the last edit (exact = greedy exact match of the whole answer; token = teacher-forced token "
              "accuracy, locality: agreement with the unedited model's tokens). Locality: "
              f"{report['requests']['locality']} facts no request edits, split into facts of the edited relations "
              "and of the others.", ""]
    lines += stream_table(report) + [""]
    if token_equals_exact(report):
        lines += ["Every answer of this world is one token: token accuracy equals the greedy exact match here.", ""]
    for metric, header in zip(COLUMNS, HEADERS):
        lines += [f"{header} over the stream (exact / token):", ""] + curve_table(report, metric) + [""]
    plots = []
    curves = Path(report["files"]["curves"])
    if curves.exists():
        plots.append(curves)
        lines += [f"![PAC, FT and MEMIT over the stream]({curves.relative_to(args.section_json.parent).as_posix()})", ""]
    lines += [f"Raw: `{Path(report['files']['json']).name}` (its command: `{report['command']}`).", ""]
    files = regime_files(args.regimes)
    option_lines, options_raw = options_markdown(files)
    lines += ["#### PAC's options beyond the paper", ""] + option_lines
    for source in files:  # the front plot of each cited file travels with the section
        front = source.with_name(source.stem + "-front.png")
        if front.exists():
            copied = folder / front.name
            shutil.copyfile(front, copied)
            plots.append(copied)
            lines += [f"![efficacy-locality front, {source.stem}]({copied.relative_to(args.section_json.parent).as_posix()})",
                      ""]
    raw = {"edits": edits, "edits_asked": args.edits, "editable_facts": editable, "stream": report,
           "options": options_raw}
    write_section(args.section_json, "PAC", "PAC: consecutive editing against MEMIT and fine-tuning", claims_of(report),
                  "\n".join(lines), plots, raw)
    print(f"PAC section written to {args.section_json}", file=sys.stderr)


if __name__ == "__main__":
    main()
