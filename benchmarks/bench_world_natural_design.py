"""Small design experiments for the natural world: what makes tracing find the subject, and MEMIT edit?

    python benchmarks/bench_world_natural_design.py --tag pool24-6L --names pool [--layers 6] [--width 160]
        [--steps 800] [--subjects 120] [--pool 24] [--arch gpt2] [--attribute-lines K] [--asides K]
        [--edits N --edit-layers 1 2]

Trains a SMALL natural world model (not the preset; nothing is cached) with one naming scheme and
the given numbers of attribute lines and aside copies (``NaturalWorldSpec``; 0 here unless set),
and records its greedy exact-match accuracy per category, causal tracing (indirect effect per
layer at the subject's last token and at the final token, ``--cases`` known trained prompts per
template, 5 noise draws each) and, with ``--edits``, single MEMIT edits (the package's reference
MEMIT) as one row of ``world-natural-design-<date>.json`` and ``.md``
(rows of earlier runs of the day are kept). Naming schemes (``--names``):

* ``oneword``: one invented two-syllable word per subject (the ``natural-data-1`` world);
* ``pool``: two words from one shared pool (the ``natural-data-2`` world);
* ``separate``: a given name from one pool and a family name from another;
* ``mirrored``: pooled names in mirror pairs ("Tomas Lerin" and "Lerin Tomas" both exist), so
  the two words as an unordered bag never name a person (``mirrored_names``, the current world).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import torch

from easyedit_plugins.evaluation.causal_tracing import TracingCase, causal_trace
from easyedit_plugins.world import natural
from easyedit_plugins.world.evaluation import accuracy_report, greedy_hits
from easyedit_plugins.world.natural import NaturalWorldSpec, build_natural_world
from easyedit_plugins.world.tokenizer import train_tokenizer
from easyedit_plugins.world.train import ModelSpec, TrainSpec, train, untrained_model
from easyedit_plugins.core.files import write_text_atomically
from bench_world_easyedit_memit import by_position
from bench_world_editability import fact_scores, statistics_settings
from easyedit_plugins import BLUEHyperParams, apply_blue_to_model
from easyedit_plugins.world.model import WorldModel
from results_file import RESULTS_DIR, command_line, machine


def separate_pools(forge, rng, count, pool):  # type: ignore[no-untyped-def]
    given, family = forge.words(pool, (1, 2), capital=True), forge.words(pool, (1, 2), capital=True)
    return [f"{g} {f}" for g, f in rng.sample([(g, f) for g in given for f in family], count)]


def pooled(forge, rng, count, pool):  # type: ignore[no-untyped-def]
    words = forge.words(pool, (1, 2), capital=True)
    return [f"{g} {f}" for g, f in rng.sample([(g, f) for g in words for f in words if g != f], count)]


def one_word(forge, rng, count, pool):  # type: ignore[no-untyped-def]
    return forge.words(count, (2, 2), capital=True)


def tracing_groups(model, tok, world, per_template: int) -> dict[str, list[TracingCase]]:  # type: ignore[no-untyped-def]
    rng = random.Random(0)
    prompts = list(world.trained_fact_prompts)
    known = [p for p, hit in zip(prompts, greedy_hits(model, tok, [(p.prompt, p.answer) for p in prompts])) if hit]
    groups: dict[str, list[TracingCase]] = {"start": [], "middle": [], "end": []}
    for template in sorted({p.template for p in known}):
        group = "start" if template.startswith("{subject}") else "end" if template.endswith("{subject}") else "middle"
        of_template = [p for p in known if p.template == template]
        groups[group] += [TracingCase(p.prompt, p.fact.subject, p.answer)
                          for p in rng.sample(of_template, min(per_template, len(of_template)))]
    del groups["end"]  # the subject's last token is the final token there: nothing to tell apart
    return groups


#: Settings shown beside the naming scheme when they differ from their default (older rows lack them).
EXTRA_SETTINGS = (("attribute_lines", "attribute lines", 0), ("asides", "aside copies", 0), ("prompt_loss_weight", "prompt loss weight", 0.1))


def memit_scores(model, tok, world, edits: int, layers: list[int]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Single MEMIT edits, each undone: efficacy, generalisation and locality (greedy exact match),
    and efficacy per position of the subject in the edit prompt (start / middle / end)."""
    world_model = WorldModel(model, tok, world, {}, Path("design"))
    requests = world_model.fact_requests(edits, seed=0)
    with tempfile.TemporaryDirectory() as work:
        hparams = BLUEHyperParams(layers=layers, schedule="distributed",
                                  **statistics_settings(world_model, Path(work), 100.0))
        outcomes = [fact_scores(world_model, apply_blue_to_model, [request], hparams) for request in requests]
    per_edit = [{"prompt": r["prompt"], "subject": r["subject"], "efficacy": o["efficacy"]}
                for r, o in zip(requests, outcomes)]
    mean = lambda key: sum(o[key] for o in outcomes) / len(outcomes)  # noqa: E731
    return {"layers": layers, "requests": len(requests), "efficacy": mean("efficacy"),
            "generalisation": mean("generalisation"), "locality": mean("locality"),
            "efficacy_by_subject_position": {where: [sum(hits) / len(hits), len(hits)]
                                             for where, hits in by_position(per_edit)}}


def editing_text(editing: dict[str, Any] | None) -> str:
    if not editing:
        return "-"
    positions = editing["efficacy_by_subject_position"]
    where = ", ".join(f"{positions[k][0]:.2f} of {positions[k][1]}" if k in positions else "-"
                      for k in ("start", "middle", "end"))
    return (f"{editing['efficacy']:.2f} / {editing['generalisation']:.2f} / {editing['locality']:.2f} ({where}), "
            f"{editing['requests']} edits at layers {editing['layers']}")


def markdown(rows: list[dict]) -> str:
    lines = ["# Natural world design experiments, " + rows[0]["date"], "",
             "Small models (not the preset), one naming scheme each, written by the command in each row. Accuracy is "
             "greedy exact match of the whole answer; tracing is the indirect effect per layer (recovered p(answer) "
             "after noising the subject's embeddings) at the subject's last token (S) and the final token (F), for "
             "subjects at the start and in the middle of the prompt. World: the data version whose generator "
             "drew names, facts and lines (the row's settings on top of it). MEMIT: single edits with the "
             "package's reference MEMIT (lambda 100), each undone; efficacy also per subject position.", "",
             "| tag | world | names | arch, layers x width, steps | trained facts | held-out pairs | S start | F start | "
             "S middle | F middle | MEMIT single edits: eff / gen / loc (eff. start, middle, end) | train s (load) | command |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        a, acc, tr = row["args"], row["accuracy"], row["tracing"]
        curve = lambda g, k: " ".join(f"{v:.2f}" for v in tr[g][k]) if g in tr else "-"  # noqa: E731
        extras = "".join(f", {label} {a[key]}" for key, label, default in EXTRA_SETTINGS if a.get(key, default) != default)
        lines.append(f"| {a['tag']} | {row.get('world_version', 'natural-data-2')} | {a['names']}{extras} | {a['arch']}, {a['layers']}x{a['width']}, {a['steps']} | "
                     f"{acc['trained_facts']:.1%} | {acc['held_out_pairs']:.1%} | {curve('start', 'subject_last')} | "
                     f"{curve('start', 'last')} | {curve('middle', 'subject_last')} | {curve('middle', 'last')} | "
                     f"{editing_text(row.get('editing'))} | "
                     f"{row['seconds']} ({row['load']:.1f}) | `{row['command']}` |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--names", default="mirrored", choices=("pool", "separate", "oneword", "mirrored"))
    parser.add_argument("--arch", default="gpt2", choices=("gpt2", "llama"))
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--subjects", type=int, default=120)
    parser.add_argument("--pool", type=int, default=24)
    parser.add_argument("--rules", type=int, default=8)
    parser.add_argument("--skill", type=int, default=800)
    parser.add_argument("--cases", type=int, default=4)
    parser.add_argument("--attribute-lines", type=int, default=0,
                        help="lines per subject naming all its objects right after it (NaturalWorldSpec.attribute_lines)")
    parser.add_argument("--asides", type=int, default=0,
                        help="copies of every trained fact line with an aside after the subject (NaturalWorldSpec.aside_copies)")
    parser.add_argument("--edits", type=int, default=0,
                        help="single MEMIT edits (package reference, lambda 100, C0 from the world corpus) measured after training")
    parser.add_argument("--edit-layers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--prompt-loss-weight", type=float, default=0.1)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.names != "mirrored":
        natural.mirrored_names = {"separate": separate_pools, "oneword": one_word, "pool": pooled}[args.names]
    spec = NaturalWorldSpec(subjects=args.subjects, name_pool=args.pool, rules=args.rules, skill_lines=args.skill,
                            attribute_lines=args.attribute_lines, aside_copies=args.asides)
    world = build_natural_world(spec, 0)
    tok = train_tokenizer(2048, extra_corpus=world.all_text)
    model = untrained_model(args.arch, ModelSpec(layers=args.layers, width=args.width, vocab_size=2048), tok, 0)
    schedule = TrainSpec(steps=args.steps, batch_size=64, learning_rate=args.lr, row_tokens=40, instance_repeats=1,
                         prompt_loss_weight=args.prompt_loss_weight)
    examples = world.training_examples(schedule.statement_repeats, schedule.instance_repeats)
    log = train(model, tok, examples, schedule, 0, progress=False)
    tracing = {}
    for group, cases in tracing_groups(model, tok, world, args.cases).items():
        if cases:
            result = causal_trace(model, tok, cases, samples=5)
            tracing[group] = {"subject_last": result.subject_last, "last": result.last, "clean": result.clean,
                              "corrupted": result.corrupted, "cases": result.cases}
    editing = memit_scores(model, tok, world, args.edits, args.edit_layers) if args.edits else None
    date = datetime.date.today().isoformat()
    row = {"world_version": natural.NATURAL_WORLD_VERSION, "editing": editing, "date": date, "args": {k: v for k, v in vars(args).items() if k != "out"}, "command": command_line(),
           "machine": machine(), "seconds": round(log.seconds), "load": os.getloadavg()[0],
           "final_loss": log.final_loss, "accuracy": accuracy_report(model, tok, world), "tracing": tracing}
    path = args.out / f"world-natural-design-{date}.json"
    rows = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    rows = [r for r in rows if r["args"]["tag"] != args.tag] + [row]
    write_text_atomically(path, json.dumps(rows, indent=2) + "\n")
    write_text_atomically(path.with_suffix(".md"), markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
