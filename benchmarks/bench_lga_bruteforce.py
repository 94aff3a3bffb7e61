"""Does LGA find the layer a brute-force search finds? And how much faster?

    python benchmarks/bench_lga_bruteforce.py [--preset full] [--arch gpt2] [--proxy 16] [--test 32]
                                              [--mom2-update-weight 1.0] [--json results.json]

On the trained miniature world (``easyedit_plugins.world``; trained and cached on first
use), with fact edits the model's knowledge must be overturned for:

* **brute force**: every proxy request is edited alone at every single layer (BLUE with
  ``layers: [l]``, i.e. MEMIT writing one layer, as ROME does), efficacy / generalisation /
  locality measured, the edit undone; the best layer maximises their mean over the proxy set;
* **LGA**: the ``lga`` selector's scores on the same proxy set (``top1``; every ``rank_by``
  reported, the default ``signed`` is the one timed);
* **causal tracing**: ROME's indirect effect: the subject's input embeddings are corrupted with
  Gaussian noise (3x the embeddings' standard deviation, 10 draws), then each layer's output at
  the subject's last token is restored from the clean run; the layer whose restoration brings
  back the most probability of the answer's first token wins
  (:mod:`easyedit_plugins.evaluation.causal_tracing`).

Each choice is then judged on held-out TEST requests (edited one at a time at every layer, so
the table also shows the test-set optimum), next to the per-request oracle (the best layer of
each request, the "sample-wise optimal layer" of the paper). Search times are measured in the
same run and reported as ratios to LGA's; key statistics for every layer are computed once
beforehand and counted in no search (LGA and causal tracing need none, brute force needs all).
Metrics are greedy whole-answer hits.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from easyedit_plugins import BLUEHyperParams
from easyedit_plugins.core.archspec import num_layers
from easyedit_plugins.core.tokens import right_padding
from easyedit_plugins.core.weights import restore_weights
from easyedit_plugins.evaluation.causal_tracing import TracingCase, causal_trace
from easyedit_plugins.methods.blue import blue_edit
from easyedit_plugins.selectors.lga import EditTarget, LGAHyperParams, choose_layers, run_lga
from easyedit_plugins.world import load_world_model, world_statistics_corpus
from easyedit_plugins.world.evaluation import greedy_hits
from results_file import write_result
from timing import timed

METRICS = ("efficacy", "generalisation", "locality")


def edit_and_measure(model: Any, tok: Any, request: dict[str, Any], hparams: BLUEHyperParams) -> list[float]:
    """Edit ``request`` in, measure, undo: [efficacy, generalisation, locality]."""
    with right_padding(tok):
        outcome = blue_edit(model, tok, [request], hparams)
    try:
        local = request["locality"]["neighborhood"]
        pairs = [(request["prompt"], request["target_new"]), (request["rephrase_prompt"], request["target_new"])]
        pairs += list(zip(local["prompt"], local["ground_truth"]))
        hits = greedy_hits(model, tok, pairs)
    finally:
        restore_weights(model, outcome.originals)
    return [float(hits[0]), float(hits[1]), sum(hits[2:]) / max(1, len(hits) - 2)]


def per_layer_metrics(model: Any, tok: Any, requests: list[dict[str, Any]], hparams: BLUEHyperParams,
                      layers: int) -> torch.Tensor:
    """``requests x layers x 3`` metrics of single-layer edits."""
    table = torch.zeros(len(requests), layers, len(METRICS))
    for layer in range(layers):
        at_layer = hparams.replace(layers=[layer])
        for r, request in enumerate(requests):
            table[r, layer] = torch.tensor(edit_and_measure(model, tok, request, at_layer))
    return table


def causal_tracing(model: Any, tok: Any, requests: list[dict[str, Any]], spec: Any, seed: int = 0) -> list[float]:
    """Mean indirect effect of restoring each layer's output at the subject's last token."""
    cases = [TracingCase(r["prompt"], r["subject"], r["ground_truth"]) for r in requests]
    return causal_trace(model, tok, cases, spec, seed=seed).subject_last


def summary(table: torch.Tensor, layer: int) -> dict[str, float]:
    means = table[:, layer].mean(0).tolist()
    return {**dict(zip(METRICS, means)), "score": sum(means) / len(means)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="full", help="world preset (test: 4 layers; full: 6 layers)")
    parser.add_argument("--arch", default="gpt2")
    parser.add_argument("--proxy", type=int, default=16, help="proxy requests (brute force and LGA search on them)")
    parser.add_argument("--test", type=int, default=32, help="held-out requests the chosen layers are judged on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mom2-update-weight", type=float, default=1.0, help="MEMIT's lambda")
    parser.add_argument("--v-lr", type=float, default=0.5)
    parser.add_argument("--v-num-grad-steps", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (1 on a shared machine)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    world = load_world_model(args.preset, args.arch, args.seed, threads=args.threads)
    model, tok = world.model, world.tok
    requests = world.fact_requests(args.proxy + args.test, seed=args.seed)
    proxy, test = requests[: args.proxy], requests[args.proxy :]
    work = Path(tempfile.mkdtemp(prefix="bench-lga-"))
    corpus = work / "corpus.txt"
    corpus.write_text("\n".join(world_statistics_corpus(world.world, args.seed)), encoding="utf-8")
    hparams = BLUEHyperParams(
        model_name=(model, tok), device="cpu", layers=[0], stats_dir=str(work / "stats"), stats_corpus=str(corpus),
        mom2_n_samples=len(corpus.read_text().splitlines()), mom2_update_weight=args.mom2_update_weight,
        v_lr=args.v_lr, v_num_grad_steps=args.v_num_grad_steps,
    )
    spec = hparams.arch(model)
    layers = num_layers(model, spec)
    started = time.perf_counter()
    hparams.second_moment_source(model, tok, spec, list(range(layers)))
    stats_seconds = time.perf_counter() - started

    wall, cpu, results = timed({
        "lga": lambda: run_lga(model, tok, proxy, LGAHyperParams(), EditTarget()),
        "brute_force": lambda: per_layer_metrics(model, tok, proxy, hparams, layers),
        "causal_tracing": lambda: causal_tracing(model, tok, proxy, spec, seed=args.seed),
    }, repeats=1)
    lga_scores = results["lga"].group_scores["all"]
    lga_layer = results["lga"].choices["all"].best
    proxy_table = results["brute_force"]
    brute_layer = int(proxy_table.mean(2).mean(0).argmax())
    effects = results["causal_tracing"]
    tracing_layer = max(range(layers), key=lambda layer: effects[layer])

    test_table = per_layer_metrics(model, tok, test, hparams, layers)
    test_scores = test_table.mean(2).mean(0)
    oracle = test_table.mean(2).max(1).values.mean().item()

    print(f"world {args.preset}/{args.arch}: {layers} layers, {len(proxy)} proxy + {len(test)} test fact edits; "
          f"BLUE single-layer MEMIT (lambda {args.mom2_update_weight}); statistics {stats_seconds:.1f} s (not timed)")
    print("efficacy (eff), generalisation (gen), locality (loc): exact match, greedy decoding gives the whole answer")
    print(f"{'layer':>5} {'LGA score':>11} {'CT effect':>10} | proxy eff  gen  loc score | test eff  gen  loc score")
    for layer in range(layers):
        p, t = summary(proxy_table, layer), summary(test_table, layer)
        print(f"{layer:>5} {lga_scores[layer]:>11.4g} {effects[layer]:>10.4f} | "
              f"{p['efficacy']:9.2f} {p['generalisation']:4.2f} {p['locality']:4.2f} {p['score']:5.2f} | "
              f"{t['efficacy']:8.2f} {t['generalisation']:4.2f} {t['locality']:4.2f} {t['score']:5.2f}")
    best_efficacy = proxy_table[:, :, 0].mean(0).max().item()
    if best_efficacy < 0.5:
        print(f"NOTE: no single-layer edit writes the proxy facts (best mean efficacy {best_efficacy:.2f}): this "
              "model does not read them from the subject's last token, so the layer choices below cannot be "
              "told apart by editing quality; the search times stand.")
    choices = {"LGA (signed, default)": lga_layer, "brute force": brute_layer, "causal tracing": tracing_layer}
    for rank_by in ("negated", "absolute"):
        choices[f"LGA ({rank_by})"] = choose_layers(lga_scores, "top1", rank_by=rank_by).best
    choices["test-set best layer"] = int(test_scores.argmax())
    print("\nchosen layer, judged on the test requests:")
    chosen: dict[str, Any] = {}
    for name, layer in choices.items():
        chosen[name] = {"layer": layer, **summary(test_table, layer)}
        r = chosen[name]
        print(f"  {name:<24} layer {layer}: exact match: efficacy {r['efficacy']:.3f}  generalisation {r['generalisation']:.3f}  "
              f"locality {r['locality']:.3f}  mean {r['score']:.3f}")
    print(f"  {'per-request oracle':<24}          mean {oracle:.3f}")
    print("\nsearch time (wall / process CPU), as multiples of LGA's:")
    for name in wall:
        print(f"  {name:<15} {wall[name]:8.2f} s / {cpu[name]:8.2f} s   "
              f"x{wall[name] / wall['lga']:.1f} / x{cpu[name] / cpu['lga']:.1f}")
    measured = {
        "settings": vars(args) | {"json": str(args.json)}, "layers": layers, "lga_scores": lga_scores,
        "causal_effects": effects, "proxy_table": proxy_table.tolist(), "test_table": test_table.tolist(),
        "choices": chosen, "oracle": oracle, "wall_seconds": wall, "cpu_seconds": cpu,
    }
    if args.json:
        args.json.write_text(json.dumps(measured, indent=2), encoding="utf-8")
    summary_text = (
        f"On the `{args.preset}` world ({layers} layers, {len(proxy)} proxy and {len(test)} test fact edits), LGA's layer "
        f"was {lga_layer}, brute force's {brute_layer}, causal tracing's {tracing_layer}; mean test score at those "
        f"layers {chosen['LGA (signed, default)']['score']:.3f}, {chosen['brute force']['score']:.3f} and "
        f"{chosen['causal tracing']['score']:.3f}. Search wall time: brute force {wall['brute_force'] / wall['lga']:.0f}x "
        f"and causal tracing {wall['causal_tracing'] / wall['lga']:.0f}x LGA's."
    )
    print(f"results: {write_result(f'lga-bruteforce-{args.preset}', measured, summary_text)}")


if __name__ == "__main__":
    main()
