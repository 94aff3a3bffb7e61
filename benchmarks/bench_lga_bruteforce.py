"""Does LGA find the layer a brute-force search finds? Which scoring variant does? How much faster?

    python benchmarks/bench_lga_bruteforce.py [--preset natural] [--arches gpt2 llama] [--seeds 0 1]
        [--proxy 16] [--test 32] [--quick] [--threads 1] [--section-json PATH] [--plot | --no-plot]

For every architecture x seed, on the trained miniature world (``easyedit_plugins.world``,
trained and cached on first use), with fact edits the model's knowledge must be overturned for:

* **brute force**: every proxy request is edited alone at every single layer (BLUE with
  ``layers: [l]``, i.e. MEMIT writing one layer, as ROME does), efficacy / generalisation /
  locality measured (greedy whole-answer hits), the edit undone; brute force's layer maximises
  their mean over the proxy set;
* **LGA**: the ``lga`` selector's per-layer scores ``S_l`` on the same proxy set, once per choice
  of scored weights (``mlp_out``, ``mlp_all``), each search timed; every ``rank_by`` x
  ``tukey_k`` reading of them is judged (the readings share the gradients, so they cost the same);
* **causal tracing**: ROME's indirect effect of each layer's output at the subject's last token
  (:mod:`easyedit_plugins.evaluation.causal_tracing`), over the proxy prompts whose subject does
  not end the prompt; the layer with the largest effect.

Every layer is then judged on held-out TEST requests, edited one at a time at every layer (so
each variant's whole ordering can be compared with editing, by Spearman's correlation), next to
the per-request oracle (each test request's own best layer). Key statistics for every layer are
computed once beforehand and counted in no search. The verdicts come from
:mod:`lga_variants`, the report from :mod:`lga_report`; this script only measures.

Writes ``benchmarks/results/lga-bruteforce-<preset>-<date>.{md,json}`` (not for ``--quick``
runs) and, with ``--section-json``, the LGA section of the fidelity report.

    python benchmarks/bench_lga_bruteforce.py --render benchmarks/results/lga-bruteforce-natural-<date>.json
        [--section-json PATH]

measures nothing: it renders an earlier results file's text again from its raw measurements (after
a change of the default reading, which the report marks and whose claims it checks), keeping the
date, machine and command of the measurement.
"""

from __future__ import annotations

import argparse
import datetime
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from easyedit_plugins import BLUEHyperParams
from easyedit_plugins.core.archspec import num_layers
from easyedit_plugins.core.files import write_atomically
from easyedit_plugins.core.tokens import right_padding
from easyedit_plugins.core.weights import restore_weights
from easyedit_plugins.evaluation.causal_tracing import TracingCase, causal_trace
from easyedit_plugins.methods.blue import blue_edit
from easyedit_plugins.progress import set_progress
from easyedit_plugins.selectors.lga import EditTarget, LGAHyperParams, run_lga
from easyedit_plugins.world import load_world_model, world_statistics_corpus
from easyedit_plugins.world.presets import world_parameters
from easyedit_plugins.world.evaluation import greedy_hits
from lga_report import build_section, plot_layers, results_summary
from lga_variants import WEIGHTS, aggregate, analyse_world
from results_file import RESULTS_DIR, rewrite_summary, write_result
from timing import timed

#: CI-sized: a few minutes for the whole section on the test preset with one thread.
QUICK = {"preset": "test", "proxy": 8, "test": 8}


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
                      layers: int) -> list[list[list[float]]]:
    """``requests x layers x 3`` metrics of single-layer edits."""
    table = [[[0.0] * 3 for _ in range(layers)] for _ in requests]
    for layer in range(layers):
        at_layer = hparams.replace(layers=[layer])
        for r, request in enumerate(requests):
            table[r][layer] = edit_and_measure(model, tok, request, at_layer)
    return table


def tracing_requests(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requests whose prompt does not end with the subject (all of them if none does not).

    Where the subject ends the prompt, its last token IS the final token, whose effect grows
    towards the last layer whatever the model does at the subject; on the natural world those
    prompts pulled the tracing baseline's layer to the top of the stack. Causal tracing locates
    the subject's site only where the subject and the final token are apart.
    """
    apart = [r for r in requests if not r["prompt"].rstrip().endswith(r["subject"])]
    return apart or requests


def causal_tracing(model: Any, tok: Any, requests: list[dict[str, Any]], spec: Any, seed: int = 0) -> list[float]:
    """Mean indirect effect of restoring each layer's output at the subject's last token."""
    cases = [TracingCase(r["prompt"], r["subject"], r["ground_truth"]) for r in tracing_requests(requests)]
    return causal_trace(model, tok, cases, spec, seed=seed).subject_last


def lga_search(model: Any, tok: Any, proxy: list[dict[str, Any]], weights: str) -> list[float]:
    """LGA's per-layer scores on the proxy set (the choice among readings of them costs nothing)."""
    return run_lga(model, tok, proxy, LGAHyperParams(weights=weights), EditTarget()).group_scores["all"]


def measure_world(args: argparse.Namespace, arch: str, seed: int) -> dict[str, Any]:
    """Everything :func:`lga_variants.analyse_world` needs about one world model."""
    world = load_world_model(args.preset, arch, seed, train_if_missing=not args.no_train, threads=args.threads,
                             progress=False)
    model, tok = world.model, world.tok
    requests = world.fact_requests(args.proxy + args.test, seed=seed)
    if len(requests) < args.proxy + args.test:
        raise SystemExit(f"{args.preset}/{arch}/seed {seed}: only {len(requests)} usable fact edits")
    proxy, test = requests[: args.proxy], requests[args.proxy :]
    work = Path(tempfile.mkdtemp(prefix="bench-lga-"))
    corpus = work / "corpus.txt"
    lines = world_statistics_corpus(world.world, seed)
    corpus.write_text("\n".join(lines), encoding="utf-8")
    hparams = BLUEHyperParams(
        model_name=(model, tok), device="cpu", layers=[0], stats_dir=str(work / "stats"), stats_corpus=str(corpus),
        mom2_n_samples=len(lines), mom2_update_weight=args.mom2_update_weight,
        v_lr=args.v_lr, v_num_grad_steps=args.v_num_grad_steps,
    )
    spec = hparams.arch(model)
    layers = num_layers(model, spec)
    started = time.perf_counter()
    hparams.second_moment_source(model, tok, spec, list(range(layers)))
    statistics_seconds = time.perf_counter() - started

    searches = {f"lga_{weights}": (lambda w=weights: lga_search(model, tok, proxy, w)) for weights in WEIGHTS}
    searches["causal_tracing"] = lambda: causal_tracing(model, tok, proxy, spec, seed=seed)
    for search in searches.values():  # untimed warm-up: a sub-second search must not pay first-call costs
        search()
    searches["brute_force"] = lambda: per_layer_metrics(model, tok, proxy, hparams, layers)
    wall, cpu, results = timed(searches, repeats=1)
    test_table = per_layer_metrics(model, tok, test, hparams, layers)
    print(f"  {args.preset}/{arch}/seed {seed}: {layers} layers; brute force {wall['brute_force']:.1f} s, "
          + ", ".join(f"{name} {wall[name]:.2f} s" for name in searches if name != "brute_force"), flush=True)
    return {
        "arch": arch, "seed": seed, "preset": args.preset,
        "world_version": world_parameters(args.preset, arch, seed)["world_version"], "model_dir": world.path.name,
        "proxy_table": results["brute_force"], "test_table": test_table,
        "lga_scores": {weights: results[f"lga_{weights}"] for weights in WEIGHTS},
        "causal_effects": results["causal_tracing"], "causal_prompts": len(tracing_requests(proxy)),
        "wall_seconds": wall, "cpu_seconds": cpu, "statistics_seconds": statistics_seconds,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="natural", help="world preset (test: 4 layers; natural: 8 layers)")
    parser.add_argument("--arches", nargs="+", default=["gpt2", "llama"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--proxy", type=int, default=16, help="proxy requests (brute force and LGA search on them)")
    parser.add_argument("--test", type=int, default=32, help="held-out requests every layer is judged on")
    parser.add_argument("--quick", action="store_true",
                        help=f"CI-sized: the test preset, {QUICK['proxy']} proxy and {QUICK['test']} test requests; "
                             "writes no results file")
    parser.add_argument("--mom2-update-weight", type=float, default=1.0, help="MEMIT's lambda")
    parser.add_argument("--v-lr", type=float, default=0.5)
    parser.add_argument("--v-num-grad-steps", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (1 on a shared machine)")
    parser.add_argument("--no-train", action="store_true", help="fail instead of training a missing world model")
    parser.add_argument("--section-json", type=Path, help="write the fidelity report's LGA section here")
    parser.add_argument("--plot", action=argparse.BooleanOptionalAction, default=True,
                        help="draw the per-layer plot (needs matplotlib; skipped without it)")
    parser.add_argument("--render", type=Path, metavar="RESULTS_JSON",
                        help="measure nothing: render this earlier results file's text again from its raw "
                             "measurements (and --section-json from them)")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


def main() -> None:
    args = parse_args()
    if args.render:
        render_again(args.render, args.section_json)
        return
    torch.set_num_threads(args.threads)
    set_progress(False)  # hundreds of short edits: their bars would bury the results
    runs = [measure_world(args, arch, seed) for arch in args.arches for seed in args.seeds]
    analyses = [analyse_world(run) for run in runs]
    summary = aggregate(analyses)
    settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()}
    raw = {"settings": settings, "runs": runs, "analyses": analyses, "aggregate": summary}

    plot_path = None
    if not args.quick:
        stem = results_stem(args.preset)
        if args.plot:
            plot_path = plot_layers(analyses, RESULTS_DIR / f"{stem}-layers.png")
        section = build_section(raw, plot_path, RESULTS_DIR)
        print(section["markdown"])
        written = write_result(f"lga-bruteforce-{args.preset}", raw | {"plot": plot_path and plot_path.name},
                               results_summary(section))
        print(f"results: {written}")
    if args.section_json:
        folder = args.section_json.parent
        if args.plot and plot_path is None:
            plot_path = plot_layers(analyses, folder / "fidelity-parts" / f"lga-layers-{args.preset}.png")
        write_section_json(args.section_json, build_section(raw, plot_path, folder))


def render_again(path: Path, section_json: Path | None) -> None:
    """Rewrite the text of the results file ``path`` (and the section JSON) from its raw
    measurements with the current report code; the measurement's date, machine and command stay."""
    record = json.loads(path.read_text(encoding="utf-8"))
    raw = {key: value for key, value in record["results"].items() if key != "plot"}
    plot = path.parent / record["results"]["plot"] if record["results"].get("plot") else None
    measured = {"command": record["command"], "date": record["date"][:10], "machine": record["machine"]}
    section = build_section(raw, plot, path.parent) | measured
    rewrite_summary(path, results_summary(section))
    print(f"results: {path}")
    if section_json:
        write_section_json(section_json, build_section(raw, plot, section_json.parent) | measured)


def write_section_json(path: Path, section: dict[str, Any]) -> None:
    """The fidelity report's LGA section, written atomically where the orchestrator asked for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda stream: stream.write(json.dumps(section, indent=2) + "\n"))
    print(f"section: {path}")


def results_stem(preset: str) -> str:
    """The file name stem ``write_result`` gives this benchmark's results today."""
    return f"lga-bruteforce-{preset}-{datetime.date.today().isoformat()}"


if __name__ == "__main__":
    main()
