"""EasyEdit 2026's own MEMIT on a world model: single edits, restored after each.

    EASYEDIT_SRC=/path/to/EasyEdit python benchmarks/bench_world_easyedit_memit.py --preset natural --arch gpt2 \
        [--edits 20] [--seed 0] [--mom2-update-weight 100] [--v-num-grad-steps 100] [--locality 100] [--threads 1]

Whether the world's recommended critical layers (``EDIT_LAYERS[preset]``, or ``--layers``) are
where EasyEdit's unmodified MEMIT can write a fact. Each of ``--edits`` counterfactual facts
(``fact_requests``: different subjects, prompt and rephrase two trained templates the model
answers) is edited ALONE by ``easyeditor.models.memit.memit_main.apply_memit_to_model`` on the
unedited model, measured, and the weights restored. The covariance is written once, from every
line of the world's statistics corpus, where EasyEdit looks for it (``bench_compare.write_statistics``);
the context templates are sampled once from the unedited model and handed to EasyEdit's cache;
the other settings are ``bench_compare``'s (EasyEdit's MEMIT key names).

Metrics, greedy exact match of the whole answer (``WorldModel.knows``), averaged over the edits:
efficacy (the edit prompt gives ``target_new``), generalisation (the rephrase does), locality
(``--locality`` facts of other subjects, each through a prompt the unedited model answers, keep
their answers after the edit) and the request's own neighbourhood prompts. Writes
``world-<preset>-easyedit-memit-<arch>[-layers-<L>]-<date>.md`` and ``.json`` under ``--out``
(``benchmarks/results``; the layers are named when ``--layers`` is given).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if os.environ.get("EASYEDIT_SRC"):
    sys.path.insert(0, os.environ["EASYEDIT_SRC"])

import torch

from bench_compare import easyedit_editor, easyedit_handle, easyedit_version, locality_pairs, write_statistics
from results_file import RESULTS_DIR, command_line, machine, produced_by
from easyedit_plugins.core.context import generate_templates
from easyedit_plugins.core.files import write_text_atomically
from easyedit_plugins.world import load_world_model
from easyedit_plugins.world.presets import EDIT_LAYERS
from easyedit_plugins.world.requests import fact_requests


def easyedit_prefix() -> str:
    """The ``EASYEDIT_SRC=...`` the command needs, with a placeholder for this machine's path."""
    return "EASYEDIT_SRC=/path/to/EasyEdit " if os.environ.get("EASYEDIT_SRC") else ""


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def hit_rate(world: Any, pairs: list[tuple[str, str]]) -> float:
    hits = world.knows(pairs)
    return sum(hits) / len(hits)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if easyedit_handle() is None:
        raise SystemExit("EasyEdit 2026 is not importable: set EASYEDIT_SRC to its source tree")
    torch.set_num_threads(args.threads)
    world = load_world_model(args.preset, args.arch, args.seed, threads=args.threads)
    layers = args.layers or EDIT_LAYERS[args.preset]
    work = Path(tempfile.mkdtemp(prefix="world-memit-"))
    samples = write_statistics(world, layers, work / "stats")
    requests = fact_requests(world.world, args.edits, seed=args.seed, knows=world.knows)
    locality = [(prompt, answer) for prompt, answer, _ in locality_pairs(world, requests, args.locality, args.seed)]
    plan = {"model_path": str(world.path), "num_layers": world.model.config.num_hidden_layers, "layers": layers,
            "stats_dir": str(work / "stats"), "stats_samples": samples,
            "templates": generate_templates(world.model, world.tok, seed=args.seed)}
    settings = argparse.Namespace(batch=1, v_num_grad_steps=args.v_num_grad_steps,
                                  mom2_update_weight=args.mom2_update_weight)
    with open(work / "easyedit.log", "w", encoding="utf-8") as log:
        edit, label, hparams, setup = easyedit_editor("MEMIT", world, plan, settings, log)
        setup()
        original = {name: tensor.clone() for name, tensor in world.model.state_dict().items()}
        per_edit = []
        for request in requests:
            started = time.perf_counter()
            edit([request])
            seconds = time.perf_counter() - started
            neighbourhood = request["locality"]["neighborhood"]
            per_edit.append({
                "subject": request["subject"], "prompt": request["prompt"], "target_new": request["target_new"],
                "efficacy": hit_rate(world, [(request["prompt"], request["target_new"])]),
                "generalisation": hit_rate(world, [(request["rephrase_prompt"], request["target_new"])]),
                "neighbourhood": hit_rate(world, list(zip(neighbourhood["prompt"], neighbourhood["ground_truth"]))),
                "locality": hit_rate(world, locality),
                "seconds": round(seconds, 2),
            })
            world.model.load_state_dict(original)
            print(f"{request['subject']}: {per_edit[-1]}", flush=True)
    metrics = ("efficacy", "generalisation", "neighbourhood", "locality")
    return {
        "preset": args.preset, "arch": args.arch, "seed": args.seed, "method": label,
        "easyedit": easyedit_version(easyedit_handle()), "model": world.path.name,
        "world_accuracy": world.report["accuracy"], "layers": layers, "edits": len(requests),
        "statistics_lines": samples, "locality_facts": len(locality), "hparams": hparams,
        "means": {name: mean([row[name] for row in per_edit]) for name in metrics},
        "seconds_per_edit": mean([row["seconds"] for row in per_edit]), "per_edit": per_edit,
    }


def markdown(record: dict[str, Any]) -> str:
    results, means = record["results"], record["results"]["means"]
    lines = [
        f"# EasyEdit's own MEMIT on the {results['preset']} world ({results['arch']}), {record['date']}",
        "",
        *produced_by(record["command"]),
        f"* Machine: {record['machine']['cpu']}, {record['machine']['cores']} cores, load average "
        f"{', '.join(f'{load:.2f}' for load in record['machine']['load_average'])}, torch {record['machine']['torch']}, transformers "
        f"{record['machine']['transformers']}.",
        f"* Method: {results['method']}, {results['easyedit']}; layers {results['layers']} "
        f"(`EDIT_LAYERS['{results['preset']}']` unless `--layers`), lambda (`mom2_update_weight`) "
        f"{results['hparams']['mom2_update_weight']}, {results['hparams']['v_num_grad_steps']} target steps, covariance "
        f"from {results['statistics_lines']} lines of the world's statistics corpus.",
        f"* Model: `{results['model']}`.",
        f"* {results['edits']} single edits of different subjects, each on the unedited model (weights restored "
        f"after each); {results['seconds_per_edit']:.1f} s per edit.",
        "",
        "## Greedy exact match of the whole answer, mean over the edits",
        "",
        "| efficacy | generalisation | neighbourhood (same relation, other subjects) | locality "
        f"({results['locality_facts']} other facts) |",
        "|---|---|---|---|",
        f"| {means['efficacy']:.2f} | {means['generalisation']:.2f} | {means['neighbourhood']:.2f} | "
        f"{means['locality']:.3f} |",
        "",
        "Efficacy by where the subject stands in the edit prompt (MEMIT writes at the subject's last token):",
        "",
        "| subject at | edits | efficacy |",
        "|---|---|---|",
        *(f"| {where} | {len(hits)} | {sum(hits) / len(hits):.2f} |" for where, hits in by_position(results["per_edit"])),
        "",
        "Raw per-edit numbers and the full hyper-parameters are in the JSON file beside this one.",
    ]
    return "\n".join(lines) + "\n"


def by_position(per_edit: list[dict[str, Any]]) -> list[tuple[str, list[float]]]:
    """Per-edit efficacies grouped by the subject's place in the prompt: start, middle, end."""
    groups: dict[str, list[float]] = {"start": [], "middle": [], "end": []}
    for edit in per_edit:
        prompt, subject = edit["prompt"], edit["subject"]
        where = "start" if prompt.startswith(subject) else "end" if prompt.endswith(subject) else "middle"
        groups[where].append(edit["efficacy"])
    return [(where, hits) for where, hits in groups.items() if hits]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="natural")
    parser.add_argument("--arch", default="gpt2", choices=("gpt2", "llama"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--layers", type=int, nargs="+", default=None)
    parser.add_argument("--mom2-update-weight", type=float, default=100.0)
    parser.add_argument("--v-num-grad-steps", type=int, default=100)
    parser.add_argument("--locality", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    results = run(args)
    date = datetime.date.today().isoformat()
    record = {"benchmark": "world-easyedit-memit", "date": date, "machine": machine(), "command": easyedit_prefix() + command_line(),
              "results": results}
    layers = "" if args.layers is None else "-layers-" + "-".join(map(str, args.layers))  # beside the default's file
    stem = args.out / f"world-{args.preset}-easyedit-memit-{args.arch}{layers}-{date}"
    args.out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(stem.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    write_text_atomically(stem.with_suffix(".md"), markdown(record))
    print(markdown(record))


if __name__ == "__main__":
    main()
