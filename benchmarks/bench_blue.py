"""Time and memory per edit of BLUE, of the reference mode and of EasyEdit's own MEMIT, in one run.

    python benchmarks/bench_blue.py [--edits 8] [--batch 1 8] [--width 128] [--layers 8]
    EASYEDIT_SRC=/path/to/EasyEdit python benchmarks/bench_blue.py --results benchmarks/results

On one random-weight model saved to disk, with the same requests, context templates, critical
layers (5) and statistics file (EasyEdit's cache layout, read by both), it applies each method to
``--edits`` requests in chunks of each ``--batch`` value, restoring the weights after every
chunk, and reports seconds per edited fact and the extra peak resident memory of an edit call
(medians of ``--repeats`` interleaved runs; see memory.py for how memory is measured) and their
ratios to EasyEdit's MEMIT; ``--results`` also writes them as JSON and markdown. With
the 2023 release (``pip install easyeditor==0.0.1.dev0``, see .ci/legacy_env.sh) its hard-coded
CUDA is redirected to the CPU. Without EasyEdit only our two modes are compared.

Edits use prompts that end with their subject: on random weights, attention does not carry a
subject from the middle of a prompt to the answer.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import logging
import os
import shlex
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import transformers

if os.environ.get("EASYEDIT_SRC"):
    sys.path.insert(0, os.environ["EASYEDIT_SRC"])

from easyedit_plugins import BLUEHyperParams, apply_blue_to_model
from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.stats import collect_second_moments
from easyedit_plugins.core.stats_store import save_easyedit
from easyedit_plugins.easyedit_bridge import load_easyedit
from easyedit_plugins.testing import save_tiny_model
from easyedit_plugins.testing.legacy_cpu import LegacyCudaToCpu
from easyedit_plugins.world.tokenizer import training_corpus
from memory import MIB, extra_peak
from results_file import machine, produced_by

SUBJECTS = ["Danielle Darrieux", "Toko Yasuda", "the Eiffel Tower", "Ravel", "Mozart", "the poet", "the chef", "Quebec"]
RELATIONS = ["The mother tongue of", "The instrument played by", "The city that is home to", "The language spoken by"]
TARGETS = ["Tokyo", "Berlin", "Paris", "Rome", "French", "piano", "tennis", "Madrid"]
TEMPLATES = [["{}"], ["The answer is here. {}", "Therefore we know. {}", "Because it is. {}", "I think so. {}", "You see. {}"]]
N_SAMPLES = 200
logger = logging.getLogger("bench_blue")


def requests(count: int) -> list[dict[str, str]]:
    out = []
    for i in range(count):
        subject = SUBJECTS[i % len(SUBJECTS)]
        out.append({"prompt": f"{RELATIONS[i % len(RELATIONS)]} {subject}", "subject": subject,
                    "target_new": TARGETS[(i * 3) % len(TARGETS)], "ground_truth": "unknown"})
    return out


def write_statistics(model: Any, tok: Any, layers: list[int], stats_dir: Path, folder: str) -> None:
    """C0 from a small corpus, saved in EasyEdit's layout (which our store reads too)."""
    spec = arch_spec(model)
    names = [spec.mlp_out_name(layer) for layer in layers]
    accumulators = collect_second_moments(model, tok, training_corpus() * 10, names, n_samples=N_SAMPLES, progress=False)
    for name, accumulator in accumulators.items():
        path = stats_dir / folder / "wikipedia_stats" / f"{name}_float32_mom2_{N_SAMPLES}.npz"
        save_easyedit(path, accumulator, N_SAMPLES)


def settings(spec: Any, layers: list[int], loss_layer: int, steps: int) -> dict[str, Any]:
    return dict(
        layers=layers, fact_token="subject_last", v_num_grad_steps=steps, v_lr=0.5, v_loss_layer=loss_layer,
        v_weight_decay=0.5, clamp_norm_factor=4.0, kl_factor=0.0625, mom2_adjustment=True, mom2_update_weight=15000.0,
        rewrite_module_tmp=spec.mlp_out, layer_module_tmp=spec.layer, mlp_module_tmp=spec.layer + ".mlp",
        attn_module_tmp=spec.attn, ln_f_module=spec.final_norm, lm_head_module=spec.embed if spec.model_type == "gpt2" else spec.lm_head,
        mom2_dataset="wikipedia", mom2_n_samples=N_SAMPLES, mom2_dtype="float32",
    )


@dataclass
class Sample:
    """One run of a method over all chunks: seconds and memory inside the edit calls only."""

    wall: float = 0.0
    cpu: float = 0.0
    extra_peak: int = 0
    efficacy: float = 0.0


def edit_runner(apply: Callable[..., Any], model: Any, tok: Any, hparams: Any, work: list[list[dict]], context: Any) -> Callable[[], Sample]:
    """Apply to every chunk, restoring after each. Efficacy: the share of requests whose target became the argmax."""

    def run() -> Sample:
        sample = Sample()
        hits = 0
        total = 0
        with context():
            for chunk in work:
                def edit() -> dict[str, torch.Tensor]:
                    wall, cpu = time.perf_counter(), time.process_time()
                    _, weights_copy = apply(model, tok, [dict(r) for r in chunk], hparams, return_orig_weights=True, keep_original_weight=True)
                    sample.wall += time.perf_counter() - wall
                    sample.cpu += time.process_time() - cpu
                    return weights_copy

                weights_copy, extra = extra_peak(edit)
                sample.extra_peak = max(sample.extra_peak, extra)
                with torch.no_grad():
                    for request in chunk:
                        inputs = tok(request["prompt"], return_tensors="pt")
                        target = tok(" " + request["target_new"], add_special_tokens=False)["input_ids"][0]
                        hits += int(model(**inputs).logits[0, -1].argmax()) == target
                        total += 1
                    for name, value in weights_copy.items():
                        model.get_parameter(name).copy_(value)
        sample.efficacy = hits / total
        return sample

    return run


def measure(runs: dict[str, Callable[[], Sample]], repeats: int) -> dict[str, list[Sample]]:
    """One unmeasured warm-up run of each method (statistics loaded, caches filled), then
    ``repeats`` rounds interleaved (a, b, c, a, b, c, ...) so that load changes hit all alike."""
    for run in runs.values():
        run()
    samples: dict[str, list[Sample]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            samples[name].append(run())
    return samples


def summarise(samples: dict[str, list[Sample]], edits: int, baseline: str) -> dict[str, dict[str, float]]:
    """Medians per method, per edited request, and their ratios to ``baseline``."""
    rows = {}
    for name, runs in samples.items():
        rows[name] = {
            "s_per_edit": statistics.median(s.wall for s in runs) / edits,
            "cpu_s_per_edit": statistics.median(s.cpu for s in runs) / edits,
            "extra_peak_mib": statistics.median(s.extra_peak for s in runs) / MIB,
            "efficacy": statistics.median(s.efficacy for s in runs),
        }
    base = rows[baseline]
    for row in rows.values():
        for key in ("s_per_edit", "cpu_s_per_edit", "extra_peak_mib"):
            row[f"{key}_ratio"] = row[key] / base[key] if base[key] else float("nan")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="gpt2", choices=("gpt2", "gptj", "llama", "qwen2"))
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--edits", type=int, default=8)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8], help="requests per apply call (one setting per value)")
    parser.add_argument("--steps", type=int, default=20, help="v_num_grad_steps")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--z-batch", type=int, default=None,
                        help="our z_requests_per_batch (default: sized from z_memory_budget_mib)")
    parser.add_argument("--results", type=Path, default=None,
                        help="write blue-<date>.json and .md into this folder (e.g. benchmarks/results)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()

    handle = load_easyedit()
    workdir = Path(tempfile.mkdtemp(prefix="bench_blue_"))
    path = save_tiny_model(args.arch, workdir / "models", width=args.width, layers=args.layers)
    load = lambda: transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True).eval()  # noqa: E731
    tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = load()
    spec = arch_spec(model)
    critical = list(range(args.layers - 5, args.layers))
    common = settings(spec, critical, args.layers - 1, args.steps)
    stats_dir = workdir / "stats"
    folder = model.config._name_or_path.replace("/", "_") if handle is not None and handle.generation == "2023" else path.name
    write_statistics(model, tok, critical, stats_dir, folder)
    models = {label: load() for label in ("BLUE", "reference (MEMIT, distributed)", "EasyEdit")}

    results = []
    for batch in args.batch:
        work = [requests(args.edits)[i : i + batch] for i in range(0, args.edits, batch)]
        runs: dict[str, Callable[[], Sample]] = {}
        for label, schedule in (("BLUE", "boundary"), ("reference (MEMIT, distributed)", "distributed")):
            hparams = BLUEHyperParams(model_name=str(path), device="cpu", stats_dir=str(stats_dir), base_method="MEMIT",
                                      schedule=schedule, context_templates=TEMPLATES[1], z_requests_per_batch=args.z_batch,
                                      **common)
            runs[label] = edit_runner(apply_blue_to_model, models[label], tok, hparams, work, nullcontext)
        if handle is not None:
            memit_main = importlib.import_module("easyeditor.models.memit.memit_main")
            memit_hparams = importlib.import_module("easyeditor.models.memit.memit_hparams").MEMITHyperParams
            memit_main.CONTEXT_TEMPLATES_CACHE = TEMPLATES
            device = 0 if handle.generation == "2023" else "cpu"
            their = memit_hparams(alg_name="MEMIT", model_name=str(path), device=device, stats_dir=str(stats_dir),
                                  layer_selection="all", **common)
            context = LegacyCudaToCpu if handle.generation == "2023" else nullcontext
            runs[f"EasyEdit {handle.generation} MEMIT"] = edit_runner(memit_main.apply_memit_to_model, models["EasyEdit"], tok, their, work, context)

        samples = measure(runs, args.repeats)
        baseline = next((name for name in runs if name.startswith("EasyEdit")), "reference (MEMIT, distributed)")
        rows = summarise(samples, args.edits, baseline)
        results.append({"batch": batch, "baseline": baseline, "methods": rows,
                        "samples": {name: [asdict(s) for s in runs_] for name, runs_ in samples.items()}})
        logger.info("batch %d: %s", batch, {name: round(row["s_per_edit_ratio"], 3) for name, row in rows.items()})

    report = {
        "date": datetime.date.today().isoformat(), "command": command_line(), "machine": machine(),
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "easyedit": None if handle is None else handle.generation,
        "setup": {"arch": args.arch, "width": args.width, "layers": args.layers, "critical_layers": critical,
                  "edits": args.edits, "z_steps": args.steps, "repeats": args.repeats, "torch_threads": args.threads,
                  "z_requests_per_batch": args.z_batch},
        "results": results,
    }
    print(markdown(report))
    if args.results is not None:
        args.results.mkdir(parents=True, exist_ok=True)
        stem = args.results / f"blue-{report['date']}"
        stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        stem.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
        logger.info("wrote %s.json and .md", stem)


def command_line() -> str:
    prefix = f"EASYEDIT_SRC={shlex.quote(os.environ['EASYEDIT_SRC'])} " if os.environ.get("EASYEDIT_SRC") else ""
    return prefix + "python " + " ".join(shlex.quote(a) for a in ["benchmarks/bench_blue.py", *sys.argv[1:]])


def markdown(report: dict[str, Any]) -> str:
    setup = report["setup"]
    lines = [
        f"# BLUE against EasyEdit's MEMIT: time and memory per edit, {report['date']}",
        "",
        *produced_by(report["command"]),
        f"* Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, torch {report['machine']['torch']}, "
        f"transformers {report['machine']['transformers']}, {setup['torch_threads']} PyTorch thread(s); load average "
        f"{report['load_average_before'][0]:.2f} before and {report['load_average_after'][0]:.2f} after (shared machine).",
        f"* Model: random-weight {setup['arch']}, width {setup['width']}, {setup['layers']} layers; critical layers "
        f"{setup['critical_layers']}; {setup['edits']} edits, up to {setup['z_steps']} target steps; EasyEdit "
        f"{report['easyedit'] or 'not installed'}.",
        f"* Medians of {setup['repeats']} interleaved runs after one warm-up run. s/edit and CPU s/edit: time inside "
        "the edit calls per edited request. Extra peak MiB: the most the resident set grew during one edit call "
        "(VmHWM reset before each call, freed heap returned first); on the CPU this is what PyTorch allocates.",
        "",
    ]
    for result in report["results"]:
        lines += [f"## {result['batch']} request(s) per edit call (ratios to {result['baseline']})", "",
                  "| method | s/edit | CPU s/edit | time x | CPU time x | extra peak MiB | memory x | efficacy |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, row in result["methods"].items():
            lines.append(f"| {name} | {row['s_per_edit']:.3f} | {row['cpu_s_per_edit']:.3f} | {row['s_per_edit_ratio']:.2f} | "
                         f"{row['cpu_s_per_edit_ratio']:.2f} | {row['extra_peak_mib']:.1f} | {row['extra_peak_mib_ratio']:.2f} | "
                         f"{row['efficacy']:.2f} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
