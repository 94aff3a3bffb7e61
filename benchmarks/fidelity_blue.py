"""The BLUE section of the fidelity report: boundary-layer updates against MEMIT and AlphaEdit.

    python benchmarks/fidelity_blue.py --preset natural --section-json out/BLUE.json
    EASYEDIT_SRC=/path/to/EasyEdit python benchmarks/fidelity_blue.py ...   # EasyEdit's own MEMIT/AlphaEdit
    python benchmarks/fidelity_blue.py --preset test --quick --section-json out/BLUE.json

The paper (BLUE, "boundary layer updates", 2025) edits only the first and the last layer of the
critical range of MEMIT or AlphaEdit and reports, on Llama3-8B and CounterFact after 2000 edits
in batches of 100, efficacy/generalisation/specificity MEMIT 65.65/64.65/51.56 against
MEMIT+BLUE 99.57/94.13/83.77, AlphaEdit 98.90/94.22/67.88 against AlphaEdit+BLUE
99.93/97.25/75.24, and +35.59% on average over its 12 settings.

Here ``bench_compare.py`` runs MEMIT, AlphaEdit (EasyEdit 2026's own when EASYEDIT_SRC is
importable, else the package's reference modes: the report says which), BLUE-MEMIT and
BLUE-AlphaEdit over one stream of ``--edits`` counterfactual facts, once per ``--batches`` size,
evaluated at ``--checkpoints``, on a critical range at least three layers wide so that BLUE
really skips the middle ones (checked: the layers whose FFN output matrix changed). The stream
is capped at the facts the world can edit (those the model knows at two trained templates: 479 of
the natural world's 480 for GPT-2, seed 0) less the ``--locality`` facts that no request may edit,
because locality is measured on them; the report says so. Headline: greedy exact match of the
whole answer after the LAST edit; teacher-forced token accuracy (the paper's metric) beside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fidelity_section import (
    add_common_options, fill_sizes, mean, method_rows, run_compare, token_equals_exact, write_section,
)
from results_file import markdown_table, score
from easyedit_plugins.world import load_world_model
from easyedit_plugins.world.presets import EDIT_LAYERS
from easyedit_plugins.world.requests import editable_fact_count

METHODS = ("MEMIT", "AlphaEdit", "BLUE-MEMIT", "BLUE-AlphaEdit")
METRICS = ("efficacy", "generalisation", "locality")
#: The paper's Table values (Llama3-8B, CounterFact, 2000 edits in batches of 100), in percent:
#: efficacy, generalisation, specificity.
PAPER = {"MEMIT": (65.65, 64.65, 51.56), "BLUE-MEMIT": (99.57, 94.13, 83.77),
         "AlphaEdit": (98.90, 94.22, 67.88), "BLUE-AlphaEdit": (99.93, 97.25, 75.24)}
PAPER_AVERAGE_GAIN = "+35.59% on average over 12 settings (abstract)"
#: Critical ranges where the preset's own is narrower than three layers (natural: until it has one).
FALLBACK_LAYERS = {"natural": [1, 2, 3, 4]}
#: Sizes per run kind: edits, batch sizes, checkpoints, locality facts, target steps.
SIZES = {
    "quick": dict(edits=40, batches=[10, 20], checkpoints=[10, 20, 40], locality=60, v_num_grad_steps=30),
    # The stream stops short of the `locality` facts kept unedited: the test world can edit 360 facts,
    # the natural one 479 (GPT-2, seed 0), so these sizes give streams of 300 and 329 edits.
    "test": dict(edits=300, batches=[10, 100], checkpoints=[10, 100, 300], locality=60, v_num_grad_steps=100),
    "default": dict(edits=1000, batches=[10, 100], checkpoints=[10, 100, 200, 300, 400, 500, 1000], locality=150,
                    v_num_grad_steps=100),
}


def critical_range(preset: str, num_layers: int, given: list[int] | None) -> list[int]:
    """``given``, or the preset's critical layers widened (downwards first) to at least three."""
    if given:
        layers = sorted(given)
    else:
        layers = list(EDIT_LAYERS.get(preset) or FALLBACK_LAYERS.get(preset) or [1, 2])
        while len(layers) < 3:
            layers = [layers[0] - 1, *layers] if layers[0] > 0 else [*layers, layers[-1] + 1]
    if len(layers) < 3 or layers != list(range(layers[0], layers[-1] + 1)) or layers[-1] >= num_layers:
        raise SystemExit(f"the critical range must be at least 3 consecutive layers of {num_layers}, got {layers}")
    return layers


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--edits", type=int, help="facts in the stream (capped at what the world can edit)")
    parser.add_argument("--batches", type=int, nargs="+", help="facts per edit call, one run per size")
    parser.add_argument("--checkpoints", type=int, nargs="+", help="numbers of edits to evaluate at")
    parser.add_argument("--layers", type=int, nargs="+", help="the critical range (default: the preset's, >= 3 wide)")
    parser.add_argument("--locality", type=int, help="unedited facts whose answers must not change")
    parser.add_argument("--v-num-grad-steps", type=int, help="target optimisation steps (at most)")
    return fill_sizes(parser.parse_args(argv), SIZES)


def checkpoints_for(batch: int, edits: int, asked: list[int]) -> list[int]:
    """The asked checkpoints that fall on a call boundary of ``batch``, and the last edit."""
    return sorted({c for c in asked if c <= edits and c % batch == 0} | {edits})


def stream_length(asked: int, editable: int, locality: int, largest_batch: int) -> int:
    """How many facts the stream edits: ``asked``, less if the world cannot edit that many and keep
    ``locality`` facts unedited.

    Locality is measured on facts no request edits, so a stream of every editable fact would leave
    none (a 479-fact stream on the natural world had one); the stream stops short of that reserve.
    """
    edits = min(asked, editable - locality)
    if edits < largest_batch:
        raise SystemExit(f"the world can edit {editable} facts; keeping {locality} unedited for locality leaves "
                         f"{max(edits, 0)}, fewer than a batch of {largest_batch} (lower --locality or the batch size)")
    return edits


def run_one(args: argparse.Namespace, batch: int, edits: int, layers: list[int], folder: Path) -> dict[str, Any]:
    arguments = ["--preset", args.preset, "--arch", args.arch, "--seed", str(args.seed), "--threads", str(args.threads),
                 "--edits", str(edits), "--batch", str(batch),
                 "--checkpoints", *map(str, checkpoints_for(batch, edits, args.checkpoints)),
                 "--methods", *METHODS, "--layers", *map(str, layers), "--locality", str(args.locality),
                 "--v-num-grad-steps", str(args.v_num_grad_steps)]
    return run_compare(arguments, folder / f"batch-{batch}", args.force)


# --- the section ------------------------------------------------------------------------------------

def final(report: dict[str, Any], method: str, metric: str) -> float | None:
    part = report["methods"].get(method)
    return None if part is None else part["final"].get(metric)


def boundary_check(report: dict[str, Any], layers: list[int]) -> dict[str, Any]:
    """Which layers each method wrote; BLUE must write only the two boundary layers, never the middle."""
    boundary = {layers[0], layers[-1]}
    written = {name: part.get("changed_layers") for name, part in report["methods"].items()}
    blue = [written.get(name) for name in ("BLUE-MEMIT", "BLUE-AlphaEdit") if written.get(name) is not None]
    holds = bool(blue) and all(set(w) <= boundary for w in blue)
    return {"written": written, "boundary": sorted(boundary), "holds": holds}


#: A relative gain over a base method whose mean score is below this is left out of the average:
#: over a collapsed base (a mean of 0.001) any edit is a gain of thousands of percent.
MIN_BASE_FOR_RELATIVE_GAIN = 0.1


def comparison_claims(runs: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    claims = []
    changes: list[float] = []  # absolute change of the mean score, per setting
    gains: list[float] = []  # relative change, per setting whose base has not collapsed
    for base in ("MEMIT", "AlphaEdit"):
        blue = f"BLUE-{base}"
        paper = f"{blue} {'/'.join(f'{v:.2f}' for v in PAPER[blue])} vs {base} {'/'.join(f'{v:.2f}' for v in PAPER[base])}"
        measured, verdicts = [], []
        for batch, report in runs.items():
            ours = [final(report, blue, m) for m in METRICS]
            theirs = [final(report, base, m) for m in METRICS]
            tokens = [final(report, blue, f"{m}_token") for m in METRICS]
            base_tokens = [final(report, base, f"{m}_token") for m in METRICS]
            ours_mean, theirs_mean = mean(ours), mean(theirs)
            if ours_mean is not None and theirs_mean is not None:
                verdicts.append(ours_mean >= theirs_mean)
                changes.append(ours_mean - theirs_mean)
                if theirs_mean >= MIN_BASE_FOR_RELATIVE_GAIN:
                    gains.append((ours_mean - theirs_mean) / theirs_mean)
            measured.append(f"batch {batch}: {blue} {'/'.join(map(score, ours))} vs {base} "
                            f"{'/'.join(map(score, theirs))} (token acc. {'/'.join(map(score, tokens))} vs "
                            f"{'/'.join(map(score, base_tokens))})")
        claims.append({
            "claim": f"BLUE on {base} edits at least as well as {base} (efficacy/generalisation/locality)",
            "paper": paper + " (Llama3-8B, CounterFact, 2000 edits, batches of 100)",
            "measured": "; ".join(measured),
            "metric": "greedy exact match after the last edit (token accuracy in brackets); holds: mean of the three "
                      "metrics >= the base method's, in every batch size",
            "holds": all(verdicts) if verdicts and len(verdicts) == len(runs) else None,
        })
    claims.append({
        "claim": "BLUE improves its base methods on average",
        "paper": PAPER_AVERAGE_GAIN,
        "measured": (f"{100 * sum(changes) / len(changes):+.1f} points of the mean of efficacy, generalisation and "
                     f"locality on average over {len(changes)} settings (2 base methods x {len(runs)} batch sizes), "
                     f"BLUE ahead in {sum(c >= 0 for c in changes)}; relative: "
                     + (f"{100 * sum(gains) / len(gains):+.2f}% over the {len(gains)} settings whose base mean is at "
                        f"least {MIN_BASE_FOR_RELATIVE_GAIN}" if gains else "undefined (every base collapsed)")
                     if changes else "not measured"),
        "metric": "greedy exact match after the last edit; holds: the average absolute change is >= 0 (direction "
                  "only: the regime differs)",
        "holds": (sum(changes) >= 0) if changes else None,
    })
    return claims


def method_table(report: dict[str, Any]) -> list[str]:
    def cells(name: str, part: dict[str, Any]) -> list[str]:
        f = part["final"]
        return [name, part["implementation"], *(score(f.get(m)) for m in METRICS),
                *(score(f.get(f"{m}_token")) for m in METRICS), f"{part['seconds']['per_edit_wall']:.3f}",
                str(part.get("changed_layers"))]

    rows = method_rows(report, METHODS, cells, width=10)
    return markdown_table(["method", "implementation", "efficacy (exact)", "generalisation (exact)", "locality (exact)",
                  "efficacy (token)", "generalisation (token)", "locality (token)", "s/edit", "layers written"], rows)


def curve_table(report: dict[str, Any], metric: str) -> list[str]:
    counts = sorted({p["edits"] for part in report["methods"].values() for p in part["curve"]})
    rows = []
    for name in METHODS:
        part = report["methods"].get(name)
        if part is None:
            continue
        by_count = {p["edits"]: p for p in part["curve"]}
        rows.append([name, *(f"{score(by_count[n].get(metric))} / {score(by_count[n].get(metric + '_token'))}"
                             if n in by_count else "–" for n in counts)])
    return markdown_table(["method", *(f"{n} edits" for n in counts)], rows)


def section_markdown(args: argparse.Namespace, runs: dict[int, dict[str, Any]], layers: list[int], edits: int,
                     editable: int, checks: dict[int, dict[str, Any]], plots: dict[int, Path]) -> str:
    first = next(iter(runs.values()))
    world = first["world"]
    lines = [
        f"MEMIT, AlphaEdit and BLUE on each, {edits} sequential counterfactual edits of the `{args.preset}` world "
        f"({world['arch']}, {world['num_layers']} layers), in batches of " + " and of ".join(map(str, runs))
        + f", critical range {layers} (BLUE writes only layers {layers[0]} and {layers[-1]}); locality: "
        f"{first['requests']['locality']} facts no request edits. EasyEdit: {first['easyedit']}.",
        "",
    ]
    if edits < args.edits:
        lines += [f"The world can edit {editable} facts and {args.locality} of them stay unedited for locality: the "
                  f"stream is capped at {edits} of the {args.edits} asked.", ""]
    lines += ["Paper (Llama3-8B, CounterFact, 2000 edits in batches of 100; efficacy / generalisation / specificity, "
              "percent):", ""]
    lines += markdown_table(["method", "efficacy", "generalisation", "specificity"],
                   [[name, *(f"{v:.2f}" for v in PAPER[name])] for name in METHODS])
    lines += ["", f"Paper: {PAPER_AVERAGE_GAIN}. The regime here differs (a miniature world model on a "
              "CPU, greedy exact match of one-token answers): only the direction is compared.", ""]
    for batch, report in runs.items():
        check = checks[batch]
        lines += [f"#### Batches of {batch}", "", "After the last edit (exact = greedy exact match of the whole answer; "
                  "token = teacher-forced token accuracy, locality: agreement with the unedited model's tokens):", ""]
        lines += method_table(report)
        if token_equals_exact(report):
            lines += ["", "Every answer of this world is one token: token accuracy equals the greedy exact match here."]
        lines += ["", f"Layers written: BLUE only the boundary layers {check['boundary']}: "
                  f"{'yes' if check['holds'] else 'NO'}.", ""]
        for metric in METRICS:
            lines += [f"{metric} over the sequence (exact / token):", ""] + curve_table(report, metric) + [""]
        if batch in plots:
            lines += [f"![BLUE against MEMIT and AlphaEdit, batches of {batch}]({plots[batch].as_posix()})", ""]
        lines += [f"Raw: `{Path(report['files']['json']).name}` (its command: `{report['command']}`).", ""]
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    world = load_world_model(args.preset, args.arch, args.seed, threads=args.threads)
    layers = critical_range(args.preset, world.model.config.num_hidden_layers, args.layers)
    editable = editable_fact_count(world.world, world.knows)
    edits = stream_length(args.edits, editable, args.locality, max(args.batches))
    del world
    folder = args.section_json.parent / "BLUE"
    runs: dict[int, dict[str, Any]] = {}
    for batch in args.batches:
        runs[batch] = run_one(args, batch, edits, layers, folder)
    checks = {batch: boundary_check(report, layers) for batch, report in runs.items()}
    plots = {batch: Path(report["files"]["curves"]) for batch, report in runs.items()
             if Path(report["files"]["curves"]).exists()}
    claims = comparison_claims(runs)
    claims.append({
        "claim": "BLUE updates only the first and the last layer of the critical range",
        "paper": "the method's definition (boundary layers only)",
        "measured": "; ".join(f"batch {batch}: BLUE wrote {[c['written'].get(n) for n in ('BLUE-MEMIT', 'BLUE-AlphaEdit')]}"
                              f", MEMIT {c['written'].get('MEMIT')} of range {layers}" for batch, c in checks.items()),
        "metric": "layers whose FFN output matrix changed",
        "holds": all(c["holds"] for c in checks.values()),
    })
    relative = {batch: path.relative_to(args.section_json.parent) for batch, path in plots.items()}
    markdown = section_markdown(args, runs, layers, edits, editable, checks, relative)
    raw = {"layers": layers, "edits": edits, "edits_asked": args.edits, "editable_facts": editable,
           "batches": {str(b): r for b, r in runs.items()}, "boundary_checks": {str(b): c for b, c in checks.items()}}
    write_section(args.section_json, "BLUE", "BLUE: boundary-layer updates against MEMIT and AlphaEdit", claims,
                  markdown, list(plots.values()), raw)
    print(f"BLUE section written to {args.section_json}", file=sys.stderr)


if __name__ == "__main__":
    main()
