"""Time per edit of BLUE, of the reference mode and of EasyEdit's own MEMIT, in the same run.

    python benchmarks/bench_blue.py [--edits 8] [--batch 1] [--width 128] [--layers 8]
    EASYEDIT_SRC=/path/to/EasyEdit python benchmarks/bench_blue.py     # against the 2026 tree

On one random-weight model saved to disk, with the same requests, context templates, critical
layers (5) and statistics file (EasyEdit's cache layout, read by both), it applies each method to
``--edits`` requests in chunks of ``--batch``, restoring the weights after every chunk, and
reports seconds per edited fact (best of ``--repeats``) and the ratios to EasyEdit's MEMIT. With
the 2023 release (``pip install easyeditor==0.0.1.dev0``, see .ci/legacy_env.sh) its hard-coded
CUDA is redirected to the CPU. Without EasyEdit only our two modes are compared.

Edits use prompts that end with their subject: on random weights, attention does not carry a
subject from the middle of a prompt to the answer.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
from contextlib import nullcontext
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
from timing import timed

SUBJECTS = ["Danielle Darrieux", "Toko Yasuda", "the Eiffel Tower", "Ravel", "Mozart", "the poet", "the chef", "Quebec"]
RELATIONS = ["The mother tongue of", "The instrument played by", "The city that is home to", "The language spoken by"]
TARGETS = ["Tokyo", "Berlin", "Paris", "Rome", "French", "piano", "tennis", "Madrid"]
TEMPLATES = [["{}"], ["The answer is here. {}", "Therefore we know. {}", "Because it is. {}", "I think so. {}", "You see. {}"]]
N_SAMPLES = 200


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


def edit_runner(apply: Callable[..., Any], model: Any, tok: Any, hparams: Any, work: list[list[dict]], context: Any) -> Callable[[], float]:
    """Apply to every chunk, restoring after each; returns the share of chunks whose targets became the argmax."""

    def run() -> float:
        hits = 0
        total = 0
        with context():
            for chunk in work:
                _, weights_copy = apply(model, tok, [dict(r) for r in chunk], hparams, return_orig_weights=True, keep_original_weight=True)
                with torch.no_grad():
                    for request in chunk:
                        inputs = tok(request["prompt"], return_tensors="pt")
                        target = tok(" " + request["target_new"], add_special_tokens=False)["input_ids"][0]
                        hits += int(model(**inputs).logits[0, -1].argmax()) == target
                        total += 1
                    for name, value in weights_copy.items():
                        model.get_parameter(name).copy_(value)
        return hits / total

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="gpt2", choices=("gpt2", "gptj", "llama", "qwen2"))
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--edits", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1, help="requests per apply call")
    parser.add_argument("--steps", type=int, default=20, help="v_num_grad_steps")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

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
    work = [requests(args.edits)[i : i + args.batch] for i in range(0, args.edits, args.batch)]

    runs: dict[str, Callable[[], float]] = {}
    for label, schedule in (("BLUE", "boundary"), ("reference (MEMIT, distributed)", "distributed")):
        hparams = BLUEHyperParams(model_name=str(path), device="cpu", stats_dir=str(stats_dir), base_method="MEMIT",
                                  schedule=schedule, context_templates=TEMPLATES[1], z_requests_per_batch=args.batch, **common)
        runs[label] = edit_runner(apply_blue_to_model, load(), tok, hparams, work, nullcontext)
    if handle is not None:
        memit_main = importlib.import_module("easyeditor.models.memit.memit_main")
        memit_hparams = importlib.import_module("easyeditor.models.memit.memit_hparams").MEMITHyperParams
        memit_main.CONTEXT_TEMPLATES_CACHE = TEMPLATES
        device = 0 if handle.generation == "2023" else "cpu"
        their = memit_hparams(alg_name="MEMIT", model_name=str(path), device=device, stats_dir=str(stats_dir),
                              layer_selection="all", **common)
        context = LegacyCudaToCpu if handle.generation == "2023" else nullcontext
        runs[f"EasyEdit {handle.generation} MEMIT"] = edit_runner(memit_main.apply_memit_to_model, load(), tok, their, work, context)

    wall, cpu, efficacy = timed(runs, args.repeats)
    per_edit = {name: wall[name] / args.edits for name in runs}
    print(f"\n{args.arch}, width {args.width}, {args.layers} layers, critical layers {critical}, {args.edits} edits "
          f"in chunks of {args.batch}, {args.steps} z steps, torch threads {args.threads}")
    print(f"{'method':36} {'s/edit':>8} {'cpu s/edit':>10} {'efficacy':>9}")
    for name in runs:
        print(f"{name:36} {per_edit[name]:8.3f} {cpu[name] / args.edits:10.3f} {efficacy[name]:9.2f}")
    baseline = next((name for name in runs if name.startswith("EasyEdit")), "reference (MEMIT, distributed)")
    for name in runs:
        if name != baseline:
            print(f"{name} / {baseline}: {per_edit[name] / per_edit[baseline]:.2f}x")


if __name__ == "__main__":
    main()
