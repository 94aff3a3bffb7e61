"""The natural world model: what it learnt, what training cost, and where it reads the subject.

    python benchmarks/bench_world_natural.py [--arch gpt2] [--seed 0] [--threads 2] [--cases 120]
                                             [--results benchmarks/results]

Loads the ``natural`` preset's world model (training and caching it first if missing; set
``EASYEDIT_PLUGINS_CACHE`` to train into another cache) and writes
``world-natural-<arch>-<date>.md``, ``.json`` and ``-tracing.png`` under ``--results``:

* greedy exact-match accuracy per category (a prompt counts when the argmax at every answer
  position is the answer's token, i.e. greedy decoding reproduces the whole answer), from the
  report written at training time;
* training time, CPU time, steps per second, PyTorch threads and the machine's mean load
  during training (the machine may be shared: the load says how much);
* causal tracing (:mod:`easyedit_plugins.evaluation.causal_tracing`) on trained fact prompts the
  model answers correctly, the same number per template: the indirect effect of every layer at
  the subject's last token and at the final token, over all prompts and per subject position
  (start, middle, end of the prompt);
* the same tracing on the trained rule prompts the model answers, per form (formula,
  description, instance), with the rule's name as the subject: where DMLE's stages should write.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
from pathlib import Path
from typing import Any

import torch

from easyedit_plugins.evaluation.causal_tracing import TracingCase, TracingResult, causal_trace
from easyedit_plugins.plotting import matplotlib_parts
from easyedit_plugins.world import load_world_model
from easyedit_plugins.world.data import FactPrompt
from easyedit_plugins.world.presets import preset_named
from results_file import command_line, machine, produced_by

def subject_position(prompt: FactPrompt) -> str:
    """Where the template puts the subject: 'start', 'middle' or 'end'."""
    if prompt.template.startswith("{subject}"):
        return "start"
    return "end" if prompt.template.endswith("{subject}") else "middle"


def tracing_cases(world: Any, per_template: int, seed: int) -> dict[str, list[TracingCase]]:
    """``per_template`` known trained fact prompts of every template, grouped by subject position."""
    rng = random.Random(f"tracing:{seed}")
    prompts = list(world.world.trained_fact_prompts)
    known = [p for p, hit in zip(prompts, world.knows([(p.prompt, p.answer) for p in prompts])) if hit]
    groups: dict[str, list[TracingCase]] = {"start": [], "middle": [], "end": []}
    for template in sorted({p.template for p in known}):
        of_template = [p for p in known if p.template == template]
        for prompt in rng.sample(of_template, min(per_template, len(of_template))):
            groups[subject_position(prompt)].append(TracingCase(prompt.prompt, prompt.fact.subject, prompt.answer))
    return groups


def rule_tracing_cases(world: Any) -> dict[str, list[TracingCase]]:
    """Every trained rule prompt the model answers, per form, with the rule's name as the subject."""
    cases: dict[str, list[TracingCase]] = {}
    for form in ("formula", "description", "instance"):
        prompts = [p for rule in world.world.rules for p in world.world.rule_prompts(rule, form)]
        known = [p for p, hit in zip(prompts, world.knows([(p.prompt, p.answer) for p in prompts])) if hit]
        cases[form] = [TracingCase(p.prompt, p.rule.name, p.answer) for p in known]
    return cases


def plot(results: dict[str, TracingResult], title: str, path: Path) -> None:
    parts = matplotlib_parts("the causal-tracing plot")
    figure = parts.Figure(figsize=(8, 4.5))
    parts.Canvas(figure)
    axes = figure.add_subplot()
    layers = range(results["all"].layers)
    colours = {"all": "black", "start": "tab:blue", "middle": "tab:orange", "end": "tab:green"}
    for group, result in results.items():
        width = 2.5 if group == "all" else 1.0
        axes.plot(layers, result.subject_last, color=colours[group], linewidth=width, marker="o",
                  label=f"subject's last token ({group}, n={result.cases})")
        axes.plot(layers, result.last, color=colours[group], linewidth=width, linestyle="--", marker="s",
                  label=f"final token ({group})")
    axes.set_xlabel("layer whose output is restored")
    axes.set_ylabel("indirect effect (recovered p(answer))")
    axes.set_title(title, fontsize=10)
    axes.set_xticks(list(layers))
    axes.set_ylim(bottom=min(0.0, *(min(r.subject_last + r.last) for r in results.values())))
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(str(path), dpi=120)


def markdown(record: dict[str, Any]) -> str:
    report, tracing = record["world_report"], record["tracing"]
    accuracy, sizes = report["accuracy"], record["category_sizes"]
    lines = [
        f"# The {record['preset']} world model ({record['arch']}, seed {record['seed']}), {record['date']}",
        "",
        *produced_by(record["command"]),
        f"* Machine: {record['machine']['cpu']}, {record['machine']['cores']} cores, torch {record['machine']['torch']}, "
        f"transformers {record['machine']['transformers']}; load average {record['load_before']:.2f} before and "
        f"{record['load_after']:.2f} after this script (shared machine).",
        f"* Model: {report['parameters']:,} parameters ({record['model']['layers']} layers, width "
        f"{record['model']['width']}), plain causal attention; {report['subjects']} subjects, {report['facts']} facts, "
        f"{report['rules']} rules; {report['training_lines']} training lines.",
        f"* Training: {report['steps']} steps of {record['batch_size']} lines in {report['train_seconds']} s "
        f"({report['train_cpu_seconds']} CPU s), {report['steps'] / report['train_seconds']:.2f} steps/s with "
        f"{report['torch_threads']} PyTorch thread(s), mean load during training "
        f"{report.get('mean_load', 'not recorded')} on {record['machine']['cores']} cores; "
        f"final loss {report['final_loss']:.4f}.",
        "",
        "## Accuracy (greedy exact match on the whole answer)",
        "",
        "| category | prompts | accuracy |",
        "|---|---|---|",
        *(f"| {name} | {sizes[name]} | {value:.1%} |" for name, value in accuracy.items()),
        "",
        "`held_out_pairs`: subject-template pairs never trained (the fact and the template were, apart). "
        "`rule_instances_held_out_operands`: operand pairs of each rule never trained, answered in the worked "
        "form (`B = 3 + 2 * 2 + 3 = 10.`), so the model must recall the rule's formula and compute.",
        "",
        "## Causal tracing",
        "",
        f"Subject embeddings corrupted with Gaussian noise ({record['noise_factor']}x the embedding matrix's standard "
        f"deviation, {record['samples']} draws per prompt); one layer's output restored at one position; the "
        "indirect effect is the recovered probability of the answer's first token. Trained fact prompts the model "
        f"answers, {record['per_template']} per template. Clean p(answer) {tracing['all']['clean']:.3f}, "
        f"corrupted {tracing['all']['corrupted']:.3f}.",
        "",
        "| layer | " + " | ".join(f"{kind} ({group}, n={tracing[group]['cases']})" for group in tracing
                                   for kind in ("subject's last token", "final token")) + " |",
        "|---|" + "---|" * (2 * len(tracing)),
    ]
    for layer in range(len(tracing["all"]["last"])):
        cells = [tracing[group][kind][layer] for group in tracing for kind in ("subject_last", "last")]
        lines.append(f"| {layer} | " + " | ".join(f"{value:.3f}" for value in cells) + " |")
    lines += ["", f"![causal tracing]({record['plot']})", ""]
    if record.get("rule_tracing"):
        rules = record["rule_tracing"]
        lines += ["### Rules (the rule's name noised; its last token and the final token restored)", "",
                  f"Every trained rule prompt the model answers, {record['samples']} draws each; the answer's first "
                  "token is the formula's symbol, the description's first word or the worked form's symbol.", "",
                  "| layer | " + " | ".join(f"{kind} ({form}, n={rules[form]['cases']})" for form in rules
                                           for kind in ("name's last token", "final token")) + " |",
                  "|---|" + "---|" * (2 * len(rules))]
        for layer in range(len(rules[next(iter(rules))]["last"])):
            cells = [rules[form][kind][layer] for form in rules for kind in ("subject_last", "last")]
            lines.append(f"| {layer} | " + " | ".join(f"{value:.3f}" for value in cells) + " |")
        lines.append("")
    lines += ["Summary:", ""]
    lines += [f"* {line}" for line in record["summary"]]
    return "\n".join(lines) + "\n"


#: Below this spread (max - min over layers) a tracing curve counts as flat.
FLAT_SPREAD = 0.05


def summarise(results: dict[str, TracingResult]) -> list[str]:
    """What the tracing shows, in sentences computed from the numbers."""
    overall = results["all"]
    subject, final = overall.subject_last, overall.last
    peak = max(range(overall.layers), key=subject.__getitem__)
    spread = max(subject) - min(subject)
    lines = [f"At the subject's last token the effect peaks at layer {peak} ({subject[peak]:.3f}) and is "
             f"{subject[-1]:.3f} at the last layer: spread {spread:.3f} over layers, "
             f"{'flat' if spread < FLAT_SPREAD else 'not flat'} (flat below {FLAT_SPREAD})."]
    crossing = next((layer for layer in range(overall.layers) if final[layer] > subject[layer] + FLAT_SPREAD), None)
    line = (f"At the final token the effect goes from {final[0]:.3f} at layer 0 to {final[-1]:.3f} at the last "
            f"layer (= clean - corrupted). ")
    if crossing is None:
        line += "It never exceeds the subject's last token's by more than the flatness margin."
    elif crossing == 0:
        line += (f"Restoring the final token from layer 0 on already recovers {final[0] / final[-1]:.0%} of it: the "
                 "final token reads the subject's tokens with layer-0 attention, not from the subject's enriched "
                 "position in later layers.")
    else:
        line += (f"It first exceeds the subject's last token's at layer {crossing}: the answer's information moves "
                 f"from the subject's position to the final token in the layers before {crossing}.")
    lines.append(line)
    for group in ("start", "middle", "end"):
        if group in results and group != "all":
            result = results[group]
            group_peak = max(range(result.layers), key=result.subject_last.__getitem__)
            lines.append(f"Subject at the {group} of the prompt ({result.cases} prompts): the subject-last effect "
                         f"peaks at layer {group_peak} ({result.subject_last[group_peak]:.3f}).")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="natural", help="world preset (others for comparison)")
    parser.add_argument("--arch", default="gpt2", choices=("gpt2", "llama"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (training and tracing)")
    parser.add_argument("--cases", type=int, default=10, help="traced prompts per fact template")
    parser.add_argument("--samples", type=int, default=10, help="noise draws per traced prompt")
    parser.add_argument("--noise-factor", type=float, default=3.0)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]

    world = load_world_model(args.preset, args.arch, args.seed, threads=args.threads)
    groups = tracing_cases(world, args.cases, args.seed)
    groups["all"] = [case for group in ("start", "middle", "end") for case in groups[group]]
    results = {name: causal_trace(world.model, world.tok, groups[name], samples=args.samples,
                                  noise_factor=args.noise_factor, seed=args.seed)
               for name in ("all", "start", "middle", "end") if groups[name]}
    rule_results = {form: causal_trace(world.model, world.tok, cases, samples=args.samples,
                                       noise_factor=args.noise_factor, seed=args.seed)
                     for form, cases in rule_tracing_cases(world).items() if cases}
    date = datetime.date.today().isoformat()
    stem = f"world-{args.preset}-{args.arch}-{date}"
    args.results.mkdir(parents=True, exist_ok=True)
    plot({name: result for name, result in results.items() if name != "end"},
         f"Causal tracing, {args.preset} world ({args.arch}, seed {args.seed})", args.results / f"{stem}-tracing.png")
    recipe = preset_named(args.preset)
    record = {
        "preset": args.preset, "arch": args.arch, "seed": args.seed, "date": date, "machine": machine(),
        "command": command_line(), "load_before": load_before, "load_after": os.getloadavg()[0],
        "world_report": world.report, "model": {"layers": recipe.model.layers, "width": recipe.model.width},
        "batch_size": recipe.schedule(args.arch).batch_size,
        "category_sizes": {name: len(pairs) for name, pairs in world.world.evaluation_sets().items()},
        "per_template": args.cases, "samples": args.samples, "noise_factor": args.noise_factor,
        "tracing": {name: {"cases": r.cases, "clean": r.clean, "corrupted": r.corrupted,
                           "subject_last": r.subject_last, "last": r.last} for name, r in results.items()},
        "rule_tracing": {form: {"cases": r.cases, "clean": r.clean, "corrupted": r.corrupted,
                                "subject_last": r.subject_last, "last": r.last} for form, r in rule_results.items()},
        "summary": summarise(results), "plot": f"{stem}-tracing.png",
    }
    (args.results / f"{stem}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    (args.results / f"{stem}.md").write_text(markdown(record), encoding="utf-8")
    print(markdown(record))


if __name__ == "__main__":
    main()
