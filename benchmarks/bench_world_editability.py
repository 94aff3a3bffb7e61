"""Can locate-then-edit methods edit the trained miniature world? Single edits, measured.

    python benchmarks/bench_world_editability.py [--presets test full] [--arch gpt2] [--requests 20]
                                                 [--only facts|pac|rules] [--json results.json]

On each world model (``easyedit_plugins.world``; trained and cached on first use):

* **facts**: ``--requests`` counterfactual fact edits, each applied ALONE and undone, with BLUE
  (``schedule: boundary``: the first and last layer of the window) and MEMIT (``schedule:
  distributed``) on every window of 2 and 3 consecutive layers below the last; then PAC
  (all layers, hparams/PAC/tiny-llama.yaml's settings with the learning rate of the world's
  weight scale). Efficacy: the edit prompt gives ``target_new``; generalisation: the rephrase
  (another trained template of the same fact) does; locality: the neighbours (the same relation,
  other subjects, same old object first) keep their answers.
* **rules**: DMLE on every rule the model knows, the rule's three requests (formula,
  description, instance) edited together and undone, for a few stage layouts: reliability per
  form, rephrase, Instance portability (other worked instances of the new rule), Rule
  Understanding (the rule's other forms) and locality (other rules, same form).

Every metric is a greedy whole-answer hit (``WorldModel.knows``). Key statistics (``C0``) come
from every line of :func:`world_statistics_corpus`, computed once per model. The chosen default
layers live in ``easyedit_plugins.world.presets.EDIT_LAYERS`` and ``RULE_STAGES``; this
script is the measurement behind them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch

from easyedit_plugins import (
    BLUEHyperParams, DMLEHyperParams, PACHyperParams, apply_blue_to_model, apply_dmle_to_model, apply_pac_to_model,
)
from easyedit_plugins.core.weights import restore_weights
from easyedit_plugins.world import WorldModel, load_world_model, world_statistics_corpus
from easyedit_plugins.world.presets import EDIT_LAYERS, RULE_STAGES

Apply = Callable[..., tuple[Any, dict[str, torch.Tensor]]]
FACT_METRICS = ("efficacy", "generalisation", "locality")
RULE_METRICS = ("formula", "description", "instance", "rephrase", "instance_portability", "rule_understanding",
                "locality")


def windows(layers: int) -> list[list[int]]:
    """Every window of 2 and 3 consecutive layers that leaves the last layer alone."""
    return [list(range(start, start + width)) for width in (2, 3) for start in range(layers - width)]


def edited(world: WorldModel, apply: Apply, requests: list[dict[str, Any]], hparams: Any,
           measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """Apply ``requests`` in one edit, measure, and restore the weights."""
    _, originals = apply(world.model, world.tok, requests, hparams, return_orig_weights=True)
    try:
        return measure()
    finally:
        restore_weights(world.model, originals)


def fact_scores(world: WorldModel, apply: Apply, requests: list[dict[str, Any]], hparams: Any) -> dict[str, float]:
    """Mean efficacy / generalisation / locality of single edits."""
    totals = dict.fromkeys(FACT_METRICS, 0.0)
    for request in requests:
        local = request["locality"]["neighborhood"]

        def measure(request: dict[str, Any] = request, local: dict[str, list[str]] = local) -> dict[str, float]:
            hits = world.knows([(request["prompt"], request["target_new"]),
                                (request["rephrase_prompt"], request["target_new"]),
                                *zip(local["prompt"], local["ground_truth"])])
            return {"efficacy": hits[0], "generalisation": hits[1], "locality": sum(hits[2:]) / len(hits[2:])}

        for name, value in edited(world, apply, [request], hparams, measure).items():
            totals[name] += value
    return {name: value / len(requests) for name, value in totals.items()}


def _rate(world: WorldModel, pairs: list[tuple[str, str]]) -> list[float]:
    return [float(hit) for hit in world.knows(pairs)]


def rule_scores(world: WorldModel, requests: list[dict[str, Any]], hparams: DMLEHyperParams) -> dict[str, float]:
    """DMLE on each rule's three requests at once; metric means over rules (then over prompts)."""
    rules: dict[int, list[dict[str, Any]]] = {}
    for request in requests:
        rules.setdefault(request["rule_id"], []).append(request)
    totals = dict.fromkeys(RULE_METRICS, 0.0)
    for cases in rules.values():
        def measure(cases: list[dict[str, Any]] = cases) -> dict[str, float]:
            scores = {case["form"]: _rate(world, [(case["prompt"], case["target_new"])])[0] for case in cases}
            rephrase = _rate(world, [(c["rephrase_prompt"], c["target_new"]) for c in cases])
            portable, understood, local = [], [], []
            for case in cases:
                blocks = case["portability"]
                portable += _rate(world, list(zip(blocks["Instance"]["prompt"], blocks["Instance"]["ground_truth"])))
                understood += _rate(world, list(zip(blocks["Rule_Understanding"]["prompt"],
                                                    blocks["Rule_Understanding"]["ground_truth"])))
                neighbours = case["locality"]["neighborhood"]
                local += _rate(world, list(zip(neighbours["prompt"], neighbours["ground_truth"])))
            return {**scores, "rephrase": sum(rephrase) / len(rephrase),
                    "instance_portability": sum(portable) / max(1, len(portable)),
                    "rule_understanding": sum(understood) / max(1, len(understood)),
                    "locality": sum(local) / max(1, len(local))}

        for name, value in edited(world, apply_dmle_to_model, cases, hparams, measure).items():
            totals[name] += value
    return {name: value / len(rules) for name, value in totals.items()}


def statistics_settings(world: WorldModel, work: Path, mom2_update_weight: float) -> dict[str, Any]:
    """Locate-then-edit settings shared by BLUE/MEMIT and DMLE: C0 from the whole world corpus."""
    corpus = world_statistics_corpus(world.world)
    path = work / "corpus.txt"
    path.write_text("\n".join(corpus), encoding="utf-8")
    return dict(model_name=(world.model, world.tok), device="cpu", stats_dir=str(work / "stats"),
                stats_corpus=str(path), mom2_dataset="world", mom2_n_samples=len(corpus),
                mom2_update_weight=mom2_update_weight)


def pac_settings(world: WorldModel, lr: float | str) -> PACHyperParams:
    """hparams/PAC/tiny-llama.yaml (the paper's settings but the learning rate; ``"auto"`` allowed), all layers."""
    return PACHyperParams(model_name=(world.model, world.tok), device="cpu", layers=None, n_critical=15, n_negative=1,
                          contrastive_weight=0.1, trace_interval=2, num_epochs=12, mini_batch_size=2, lr=lr)


def stage_layouts(preset: str, layers: int) -> dict[str, list[dict[str, Any]]]:
    """DMLE stage layouts to compare: the preset's default and a few neighbours of it."""
    middle = layers // 2
    layouts = {
        "default": RULE_STAGES[preset],
        "early+middle": [{"name": "f_d", "forms": ["formula", "description"], "layers": [0, 1]},
                         {"name": "ins", "forms": ["instance"], "layers": [middle - 1, middle]}],
        "one group": [{"name": "all", "forms": ["formula", "description", "instance"], "layers": [0, 1]}],
        "middle+early": [{"name": "f_d", "forms": ["formula", "description"], "layers": [middle - 1, middle]},
                         {"name": "ins", "forms": ["instance"], "layers": [0, 1]}],
    }
    return {name: stages for name, stages in layouts.items() if name == "default" or stages != RULE_STAGES[preset]}


def bench(preset: str, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    world = load_world_model(preset, args.arch, args.seed, threads=args.threads)
    layers = world.model.config.num_hidden_layers
    work = Path(tempfile.mkdtemp(prefix="bench-world-"))
    shared = statistics_settings(world, work, args.mom2_update_weight)
    results: dict[str, Any] = {"preset": preset, "arch": args.arch, "layers": layers, "accuracy": world.report["accuracy"]}
    print(f"\n== world {preset}/{args.arch}: {layers} layers; accuracy "
          + ", ".join(f"{k} {v:.3f}" for k, v in world.report["accuracy"].items()))
    if args.only in (None, "facts", "pac"):
        requests = world.fact_requests(args.requests, seed=args.seed)
        print(f"fact edits, one at a time, {len(requests)} requests (MEMIT lambda {args.mom2_update_weight:g})")
        print("  (efficacy, generalisation and locality: exact match, greedy decoding gives the whole answer)")
        print(f"  {'method':<28} {'efficacy':>9} {'general.':>9} {'locality':>9} {'s/edit':>7}")
        configs: list[tuple[str, Apply, Any]] = []
        if args.only in (None, "facts"):
            for window in windows(layers):
                for schedule, label in (("boundary", "BLUE"), ("distributed", "MEMIT")):
                    hparams = BLUEHyperParams(layers=window, schedule=schedule, **shared)
                    configs.append((f"{label} {window}", apply_blue_to_model, hparams))
        if args.only in (None, "pac"):
            for lr in args.pac_lr:
                configs.append((f"PAC all layers, lr {lr:g}", apply_pac_to_model, pac_settings(world, lr)))
        results["facts"] = {}
        for name, apply, hparams in configs:
            began = time.perf_counter()
            scores = fact_scores(world, apply, requests, hparams)
            seconds = (time.perf_counter() - began) / len(requests)
            results["facts"][name] = {**scores, "seconds_per_edit": seconds}
            mark = "  (default EDIT_LAYERS)" if name.endswith(str(EDIT_LAYERS[preset])) and name.startswith("BLUE") else ""
            print(f"  {name:<28} {scores['efficacy']:9.2f} {scores['generalisation']:9.2f} "
                  f"{scores['locality']:9.2f} {seconds:7.2f}{mark}", flush=True)
    if args.only in (None, "rules"):
        requests = world.rule_requests(seed=args.seed)
        rules = len({r["rule_id"] for r in requests})
        print(f"rule edits with DMLE, one rule (3 requests) at a time, {rules} of {len(world.world.rules)} rules")
        print(f"  {'stages':<42} " + " ".join(f"{m[:9]:>9}" for m in RULE_METRICS))
        results["rules"] = {}
        for name, stages in stage_layouts(preset, layers).items():
            hparams = DMLEHyperParams(stages=stages, **shared)
            scores = rule_scores(world, requests, hparams)
            results["rules"][name] = {"stages": stages, **scores}
            label = f"{name}: " + " / ".join(f"{'+'.join(s['forms'])} {s['layers']}" for s in stages)
            print(f"  {label:<42} " + " ".join(f"{scores[m]:9.2f}" for m in RULE_METRICS), flush=True)
    results["seconds"] = time.perf_counter() - started
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["test", "full"])
    parser.add_argument("--arch", default="gpt2")
    parser.add_argument("--requests", type=int, default=20, help="fact requests (single edits)")
    parser.add_argument("--seed", type=int, default=0, help="world seed, also the requests' seed")
    parser.add_argument("--mom2-update-weight", type=float, default=1000.0, help="MEMIT's lambda")
    parser.add_argument("--pac-lr", type=float, nargs="+", default=[1e-3, 3e-3])
    parser.add_argument("--only", choices=("facts", "pac", "rules"), help="run one part only")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (1 on a shared machine)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = [bench(preset, args) for preset in args.presets]
    if args.json:
        args.json.write_text(json.dumps({"settings": vars(args) | {"json": str(args.json)}, "results": results},
                                        indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
