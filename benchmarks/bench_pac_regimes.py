"""PAC in its own regime, beside FFN fine-tuning, MEMIT and remedies for PAC's key drift (issue 13).

    PYTHONPATH=. python benchmarks/bench_pac_regimes.py                 # test world, 40 facts
    PYTHONPATH=. python benchmarks/bench_pac_regimes.py --budgets 0.18 2 --variants pac-joint ft

On the trained world model of ``--preset``, ``--facts`` counterfactual facts of the relations in
``--relations`` (distinct subjects) are edited by every configuration, each from the unedited
model (weights restored in between):

* ``MEMIT (4x10 sequential)`` and ``MEMIT (joint)``: the package's reference MEMIT (BLUE's engine,
  ``schedule: distributed``) with bench_compare's settings, in calls of ``--chain`` facts on top of
  each other, and in one call.
* ``PAC joint``: the paper's regime and settings (N=15, M=1, lambda=0.1, eta=2, 12 epochs,
  mini-batches of 2), every layer, all facts in one edit, ``lr: auto`` with each drift budget of
  ``--budgets`` (0.18 is the paper's). Re-running joint PAC on the cumulative set of a stream
  ends, after the last call, in exactly this edit, so its final row is this one.
* ``PAC sequential chain``: calls of ``--chain`` facts on top of each other with no replay of
  earlier facts (bench_compare's old PAC row; not a regime of the paper).
* ``FT``: plain FFN fine-tuning by the same engine (every neuron critical, no negative set, no
  contrastive step); ``FT values only`` the same with frozen keys.
* Remedies for the key drift, each PAC joint with one option: ``values only`` (``train_keys:
  false``), ``key drift <= r`` (``key_max_drift``), ``retain w`` (``retain_weight`` on lines of the
  world's statistics corpus that mention neither an edited subject nor an evaluated locality fact).

Metrics, greedy whole-answer exact match (``WorldModel.knows``): efficacy (the edit prompt gives
``target_new``), generalisation (the rephrase does), locality on facts no request edits that the
unedited model answers (their subjects are not edited subjects), split into facts of the edited
relations (``loc same``) and of the other relations (``loc other``), up to ``--locality`` each.

Key drift: mean |activation| (the FFN's hidden activation after the nonlinearity, at the last
prompt token) on the other-relation locality prompts, before and after the edit, of the neurons
the edit trained (the final critical set over all layers; every neuron for FT and MEMIT), and of
every neuron.

Output: ``--out``/``pac-regimes-<date>[-<suffix>].{md,json}`` and ``-front.png`` (efficacy
against each locality).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch

from bench_compare import _common, write_statistics
from bench_compare import parse_args as compare_args
from results_file import command_line, machine
from easyedit_plugins import BLUEHyperParams, PACHyperParams, apply_blue_to_model, apply_pac_to_model
from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.context import generate_templates
from easyedit_plugins.core.files import write_text_atomically
from easyedit_plugins.core.hooks import capture_inputs
from easyedit_plugins.methods.pac import pac_joint_edit, pac_sequential_edit
from easyedit_plugins.world import WorldModel, load_world_model, world_statistics_corpus
from easyedit_plugins.world.presets import EDIT_LAYERS
from easyedit_plugins.world.requests import fact_requests

SCRIPT = Path(__file__).resolve()
VARIANTS = ("memit", "pac-joint", "pac-chain", "ft", "ft-values", "values-only", "key-drift", "retain")
#: What each row's regime is, printed beside it: a sequential chain is never PAC's own regime.
REGIMES = {
    "memit": "MEMIT reference mode",
    "pac-joint": "joint (the paper's regime; = cumulative re-run after the last call)",
    "pac-chain": "sequential chain, no replay (not the paper's regime)",
    "ft": "joint, baseline",
    "ft-values": "joint, baseline",
    "values-only": "joint, remedy",
    "key-drift": "joint, remedy",
    "retain": "joint, remedy",
}


def regime_label(variant: str) -> str:
    """The regime a variant's rows are reported under (every row carries one)."""
    return REGIMES[variant]


# --- edit set, locality, statistics ----------------------------------------------------------------

def edit_set(world: WorldModel, count: int, relations: list[str], seed: int) -> list[dict[str, Any]]:
    """``count`` fact requests of ``relations``, every subject at most once."""
    subjects_in_world = len({fact.subject for fact in world.world.facts})
    pool = fact_requests(world.world, subjects_in_world, seed=seed, knows=world.knows)  # one fact per subject
    relation_of = {p.prompt: p.fact.relation for p in world.world.trained_fact_prompts}
    chosen, subjects = [], set()
    for request in pool:
        if relation_of[request["prompt"]] in relations and request["subject"] not in subjects:
            chosen.append(request)
            subjects.add(request["subject"])
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} usable facts of {relations}; ask for fewer")
    return chosen[:count]


def locality_sets(world: WorldModel, requests: list[dict[str, Any]], relations: list[str], count: int,
                  seed: int) -> dict[str, list[tuple[str, str]]]:
    """Known facts of unedited subjects, one prompt each: ``same`` (edited relations) and ``other``."""
    edited_subjects = {r["subject"] for r in requests}
    prompts = [p for p in world.world.trained_fact_prompts if p.fact.subject not in edited_subjects]
    known = [p for p, hit in zip(prompts, world.knows([(p.prompt, p.answer) for p in prompts])) if hit]
    by_fact: dict[Any, list[Any]] = {}
    for prompt in known:
        by_fact.setdefault(prompt.fact, []).append(prompt)
    rng = random.Random(f"pac-regimes-locality:{seed}")
    sets: dict[str, list[tuple[str, str]]] = {"same": [], "other": []}
    for fact in sorted(by_fact, key=lambda f: (f.subject, f.relation)):
        chosen = rng.choice(by_fact[fact])
        sets["same" if fact.relation in relations else "other"].append((chosen.prompt, chosen.answer))
    for name in sets:
        rng.shuffle(sets[name])
        sets[name] = sets[name][:count]
    return sets


def retain_corpus(world: WorldModel, requests: list[dict[str, Any]], locality: dict[str, list[tuple[str, str]]],
                  path: Path) -> int:
    """Statistics-corpus lines naming no edited subject and starting with no evaluated locality prompt."""
    subjects = {r["subject"] for r in requests}
    evaluated = [prompt for pairs in locality.values() for prompt, _ in pairs]
    lines = [line for line in world_statistics_corpus(world.world)
             if not any(s in line for s in subjects) and not any(line.startswith(p) for p in evaluated)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


# --- measurements ----------------------------------------------------------------------------------

@torch.no_grad()
def hidden_activations(world: WorldModel, prompts: list[str]) -> dict[int, torch.Tensor]:
    """Per layer, ``[prompts, d_ff]``: the FFN hidden activation at each prompt's last token."""
    spec = arch_spec(world.model)
    names = {spec.mlp_out_name(layer): layer for layer in range(world.model.config.num_hidden_layers)}
    rows: dict[int, list[torch.Tensor]] = {layer: [] for layer in names.values()}
    for prompt in prompts:
        ids = world.tok(prompt, return_tensors="pt")
        with capture_inputs(world.model, names) as captured:
            world.model(**ids)
        for name, layer in names.items():
            rows[layer].append(captured[name][0, -1].float())
    return {layer: torch.stack(found) for layer, found in rows.items()}


def neuron_sets(info: dict[str, Any], num_layers: int, width: int) -> dict[int, list[int]] | None:
    """The hidden neurons a PAC edit trained last, per layer (from the value projections' critical set)."""
    critical = info.get("critical") or {}
    chosen: dict[int, set[int]] = {}
    for name, neurons in critical.items():
        layer = int(next(part for part in name.split(".") if part.isdigit()))
        chosen.setdefault(layer, set()).update(neurons)
    if not chosen or all(len(v) == width for v in chosen.values()):
        return None
    return {layer: sorted(chosen.get(layer, ())) for layer in range(num_layers)}


def drift(before: dict[int, torch.Tensor], after: dict[int, torch.Tensor],
          neurons: dict[int, list[int]] | None) -> dict[str, float]:
    """Mean |activation| before/after over the ``neurons`` (None: all) and over all neurons."""
    def mean_abs(acts: dict[int, torch.Tensor], subset: dict[int, list[int]] | None) -> float:
        parts = [acts[layer][:, subset[layer]].abs().flatten() if subset else acts[layer].abs().flatten()
                 for layer in acts if subset is None or subset[layer]]
        return float(torch.cat(parts).mean())
    return {"trained_before": mean_abs(before, neurons), "trained_after": mean_abs(after, neurons),
            "all_before": mean_abs(before, None), "all_after": mean_abs(after, None)}


def scores(world: WorldModel, requests: list[dict[str, Any]], locality: dict[str, list[tuple[str, str]]]) -> dict:
    def rate(pairs: list[tuple[str, str]]) -> float:
        hits = world.knows(pairs)
        return sum(hits) / len(hits) if hits else float("nan")
    return {"efficacy": rate([(r["prompt"], r["target_new"]) for r in requests]),
            "generalisation": rate([(r["rephrase_prompt"], r["target_new"]) for r in requests]),
            "loc_same": rate(locality["same"]), "loc_other": rate(locality["other"])}


# --- configurations --------------------------------------------------------------------------------

Run = Callable[[WorldModel, list[dict[str, Any]]], dict[str, Any]]


def pac_paper(world: WorldModel, **changes: Any) -> PACHyperParams:
    """The paper's settings (hparams/PAC/*.yaml) on the world model, every layer, ``lr: auto``."""
    settings: dict[str, Any] = dict(model_name=(world.model, world.tok), device="cpu", layers=None, n_critical=15,
                                    n_negative=1, contrastive_weight=0.1, trace_interval=2, num_epochs=12,
                                    mini_batch_size=2, lr="auto", offload_originals=False)
    settings.update(changes)
    return PACHyperParams(**settings)


def configurations(world: WorldModel, args: argparse.Namespace, memit: BLUEHyperParams,
                   corpus: Path) -> list[tuple[str, str, str, Run]]:
    """``(variant, name, settings, run)`` for every row; ``run`` edits and returns the edit's info."""
    width = world.model.config.n_inner or 4 * world.model.config.n_embd
    rows: list[tuple[str, str, str, Run]] = []

    def joint(hparams: PACHyperParams) -> Run:
        return lambda w, requests: pac_joint_edit(w.model, w.tok, requests, hparams).info

    def chain(hparams: PACHyperParams) -> Run:
        def run(w: WorldModel, requests: list[dict[str, Any]]) -> dict[str, Any]:
            info = pac_sequential_edit(w.model, w.tok, requests, hparams, requests_per_edit=args.chain).info
            return info["edits"][-1]  # the last call's lr and critical set
        return run

    def memit_run(per_call: int) -> Run:
        def run(w: WorldModel, requests: list[dict[str, Any]]) -> dict[str, Any]:
            for start in range(0, len(requests), per_call):
                apply_blue_to_model(w.model, w.tok, [dict(r) for r in requests[start:start + per_call]], memit)
            return {}
        return run

    if "memit" in args.variants:
        rows.append(("memit", f"MEMIT ({len_calls(args)}x{args.chain} sequential)", "bench_compare settings",
                     memit_run(args.chain)))
        rows.append(("memit", "MEMIT (joint)", "bench_compare settings", memit_run(args.facts)))
    for budget in args.budgets:
        tag = f"budget {budget:g}"
        extra = {"drift_budget": budget}
        if "pac-joint" in args.variants:
            rows.append(("pac-joint", "PAC joint", tag, joint(pac_paper(world, **extra))))
        if "pac-chain" in args.variants:
            rows.append(("pac-chain", f"PAC sequential chain ({len_calls(args)}x{args.chain})", tag,
                         chain(pac_paper(world, **extra))))
        ft = dict(n_critical=width, n_negative=0, contrastive_weight=0.0, trace_interval=12, **extra)
        if "ft" in args.variants:
            rows.append(("ft", "FT (all FFN neurons)", tag, joint(pac_paper(world, **ft))))
        if "ft-values" in args.variants:
            rows.append(("ft-values", "FT values only", tag, joint(pac_paper(world, train_keys=False, **ft))))
        if "values-only" in args.variants:
            rows.append(("values-only", "PAC values only", tag, joint(pac_paper(world, train_keys=False, **extra))))
        if "key-drift" in args.variants:
            for radius in args.key_drift:
                rows.append(("key-drift", f"PAC key drift <= {radius:g}", tag,
                             joint(pac_paper(world, key_max_drift=radius, **extra))))
        if "retain" in args.variants:
            for weight in args.retain:
                rows.append(("retain", f"PAC retain {weight:g}", tag,
                             joint(pac_paper(world, retain_weight=weight, retain_corpus=str(corpus), **extra))))
    return rows


def len_calls(args: argparse.Namespace) -> int:
    return -(-args.facts // args.chain)


def memit_settings(world: WorldModel, work: Path, preset: str, seed: int) -> BLUEHyperParams:
    """bench_compare's MEMIT reference mode (its defaults) on this world."""
    options = compare_args(["--preset", preset])
    layers = EDIT_LAYERS[options.preset]
    samples = write_statistics(world, layers, work / "stats")
    templates = generate_templates(world.model, world.tok, seed=seed)
    plan = {"num_layers": world.model.config.num_hidden_layers, "stats_samples": samples}
    common = _common(plan, options, arch_spec(world.model), layers)
    return BLUEHyperParams(base_method="MEMIT", schedule="distributed", model_name=str(world.path), device="cpu",
                           stats_dir=str(work / "stats"), context_templates=templates[1], **common)


# --- report ----------------------------------------------------------------------------------------

def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# PAC regimes, baselines and key-drift remedies ({report['date']})", "",
        f"Command: `{report['command']}`", "",
        f"Machine: {m['cpu']}, {m['cores']} cores shared with other jobs, 1 PyTorch thread, load average "
        f"{m['load_average_before'][0]:.2f} before and {m['load_average_after'][0]:.2f} after (seconds carry "
        f"that noise); Python {m['python']}, torch {m['torch']}, transformers {m['transformers']}.", "",
        f"World: `{report['world']}`; {report['facts']} facts of relations {report['relations']} (distinct "
        f"subjects), locality {report['locality_sizes']['same']} same-relation / {report['locality_sizes']['other']} "
        f"other-relation facts of unedited subjects; retain corpus {report['retain_lines']} statistics-corpus lines "
        "naming no edited subject and no evaluated locality prompt.", "",
        "Greedy whole-answer exact match. `lr` is the step size used (`lr: auto` = budget / (12 x ceil(n/2)); "
        "for the chain, per call of 10). Drift: mean |FFN hidden activation| at the last token of the "
        "other-relation locality prompts, before -> after, over the neurons the edit trained (its final "
        "critical set; every neuron for FT and MEMIT) and over all neurons.", "",
        "| configuration | regime | settings | lr | efficacy | generalisation | loc same | loc other | "
        "drift trained | drift all | s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        d = row["drift"]
        lr = f"{row['lr']:.2g}" if row.get("lr") else "-"
        lines.append(
            f"| {row['name']} | {row['regime']} | {row['settings']} | {lr} | {row['efficacy']:.3f} | "
            f"{row['generalisation']:.3f} | {row['loc_same']:.3f} | {row['loc_other']:.3f} | "
            f"{d['trained_before']:.3f} -> {d['trained_after']:.3f} | {d['all_before']:.3f} -> {d['all_after']:.3f} | "
            f"{row['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> Path | None:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(11, 4.5))
    FigureCanvasAgg(figure)
    for index, metric in enumerate(("loc_same", "loc_other")):
        axes = figure.add_subplot(1, 2, index + 1)
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in report["rows"]:
            groups.setdefault(row["name"], []).append(row)
        for name, rows in groups.items():
            axes.plot([r[metric] for r in rows], [r["efficacy"] for r in rows], marker="o", label=name)
        axes.set_xlabel(f"locality ({'same' if metric == 'loc_same' else 'other'} relation)")
        axes.set_ylabel("efficacy")
        axes.set_xlim(-0.02, 1.02)
        axes.set_ylim(-0.02, 1.02)
        axes.grid(alpha=0.3)
    figure.axes[0].legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


# --- main ------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="test")
    parser.add_argument("--arch", default="gpt2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--facts", type=int, default=40)
    parser.add_argument("--relations", nargs="+", default=["city", "language"],
                        help="relations edited; the others give the other-relation locality")
    parser.add_argument("--chain", type=int, default=10, help="facts per call of the sequential rows")
    parser.add_argument("--locality", type=int, default=100, help="locality facts per group")
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.06, 0.18, 0.6, 2.0, 6.0],
                        help="drift budgets of lr: auto (0.18: the paper's)")
    parser.add_argument("--key-drift", type=float, nargs="+", default=[0.05, 0.2])
    parser.add_argument("--retain", type=float, nargs="+", default=[1.0, 5.0])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=SCRIPT.parent / "results")
    parser.add_argument("--suffix", help="appended to the output name (a supplementary run beside the main grid)")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    started, load_before = time.perf_counter(), os.getloadavg()
    world = load_world_model(args.preset, args.arch, args.seed, threads=1)
    requests = edit_set(world, args.facts, args.relations, args.seed)
    locality = locality_sets(world, requests, args.relations, args.locality, args.seed)
    original = copy.deepcopy(world.model.state_dict())
    other_prompts = [prompt for prompt, _ in locality["other"]]
    before = hidden_activations(world, other_prompts)
    width = before[0].shape[1]
    rows = []
    with tempfile.TemporaryDirectory(prefix="pac-regimes-") as scratch:
        work = Path(scratch)
        corpus = work / "retain.txt"
        retain_lines = retain_corpus(world, requests, locality, corpus)
        memit = memit_settings(world, work, args.preset, args.seed) if "memit" in args.variants else None
        for variant, name, settings, run in configurations(world, args, memit, corpus):
            began = time.perf_counter()
            info = run(world, requests)
            seconds = time.perf_counter() - began
            row = {"variant": variant, "name": name, "regime": regime_label(variant), "settings": settings,
                   "lr": info.get("lr"), "seconds": seconds, **scores(world, requests, locality),
                   "drift": drift(before, hidden_activations(world, other_prompts),
                                  neuron_sets(info, len(before), width))}
            rows.append(row)
            print(f"{name:>28} {settings:>12}: " + ", ".join(
                f"{k} {row[k]:.3f}" for k in ("efficacy", "generalisation", "loc_same", "loc_other"))
                + f", drift {row['drift']['trained_before']:.3f}->{row['drift']['trained_after']:.3f}",
                file=sys.stderr, flush=True)
            world.model.load_state_dict(original)
    today = datetime.date.today().isoformat()
    report = {
        "date": today,
        "command": command_line(),
        "machine": {**machine(), "torch_threads": 1, "load_average_before": load_before,
                    "load_average_after": os.getloadavg()},
        "world": str(world.path.name), "facts": len(requests), "relations": args.relations,
        "locality_sizes": {k: len(v) for k, v in locality.items()}, "retain_lines": retain_lines,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "rows": rows, "wall_seconds": time.perf_counter() - started,
    }
    name = f"pac-regimes-{today}" + (f"-{args.suffix}" if args.suffix else "")
    args.out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(args.out / f"{name}.json", json.dumps(report, indent=2))
    figure = plot(report, args.out / f"{name}-front.png")
    text = markdown(report) + (f"\n![efficacy-locality front]({figure.name})\n" if figure else "")
    write_text_atomically(args.out / f"{name}.md", text)
    print(text)


if __name__ == "__main__":
    main()
