"""DMLE measured fairly: DMLE against the same MEMIT with one layer group, rule by rule.

    python benchmarks/bench_dmle_fidelity.py --preset natural --arch gpt2 --seed 0 --threads 1
    python benchmarks/bench_dmle_fidelity.py --preset test --quick --section-json parts/dmle.json

On the trained world model of ``--preset`` (``easyedit_plugins.world``), the rule edits of
``rule_requests`` (three RuleEdit cases per rule: formula, description, instance). Each rule is
edited ALONE from the unedited model, as the DMLE authors do, and the weights are restored after
it. Methods, all on the same rules and requests:

* **unedited**: the model before any edit, graded against the NEW targets (every metric's
  pre-edit value: old and new formulas share tokens, so token accuracy is far from 0 here);
* **DMLE**: the preset's ``RULE_STAGES`` (formula and description on the early group, the
  instance on the middle group, one MEMIT batch per stage, in order);
* **one-group MEMIT**: the same engine and settings with ONE stage holding all three forms on
  the union of DMLE's layers. Only DMLE minus this baseline says anything about DMLE's idea;
* **statement fine-tune (IP ceiling)**: the FFN weights of every layer fine-tuned with Adam on
  the new formula and description (edit and rephrase prompts) until greedy generation says all
  of them: a perfect statement edit. Its Instance Portability is the most any edit of the
  statements can carry over to instances on this world; ``IP moved`` says whether instances
  changed at all.

Metrics (per case, mean over its prompts; per rule, mean over its cases; then mean over rules),
each twice: greedy generation judged by the package's offline judges (numbers, formulas,
sentences; the headline) and EasyEdit's teacher-forced token accuracy: reliability of each
form, generalisation (rephrase), Instance Portability (and on held-out operand pairs only),
Rule Understanding as RuleEdit defines it (the other forms' prompts, most of them another
case's edit prompt) and RU without those repeated prompts, rule locality (other rules' prompts)
and fact locality (known facts; greedy whole-answer match).

Target convergence: MEMIT's target vector ``z`` is optimised per request; its final loss is
recorded per request and stage. The candidate settings (``--candidates``: context templates
``sampled`` from the model or ``bare`` ``"{}"``, the number of target steps, and ``:free`` to
switch the optimisation's norm clamp, KL and decay off) are all run, and the headline uses the
one whose targets converge best (share of requests below the early-stop loss, then mean loss,
then fewer steps, then the engine's own constraints): chosen by loss, never by score. Why the
rest do not converge is measured token by token by ``bench_target_convergence.py``; when its
results file for the same world model exists, the report says in two sentences what it found.

Output: ``benchmarks/results/dmle-fidelity-<preset>-<date>.{md,json}`` (``-quick`` added for
``--quick``), and with ``--section-json PATH`` the fidelity report's DMLE section
(``benchmarks/fidelity.py``'s contract). Measurements are kept per (setting, method, rule) in
``--work`` and reused by a rerun with the same settings: an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from dmle_fidelity_report import (
    FREE_CONSTRAINTS, choose_setting, claims, delta, loss_statistics, loss_table, method_summary,
    metrics_table, parse_candidate, percent, token_finding,
)
from fidelity_section import DEFAULT_WORLD
from results_file import RESULTS_DIR, command_line, machine, write_result
from bench_blue import settings as easyedit_settings
from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.context import generate_templates
from easyedit_plugins.core.files import write_text_atomically
from easyedit_plugins.evaluation import evaluate_requests, token_accuracy
from easyedit_plugins.methods.dmle import DMLEHyperParams, dmle_edit
from easyedit_plugins.world import WorldModel, load_world_model, world_statistics_corpus
from easyedit_plugins.world.cache import cache_root
from easyedit_plugins.world.presets import RULE_STAGES
from easyedit_plugins.world.requests import rule_requests

logger = logging.getLogger("bench_dmle_fidelity")

FORMS = ["formula", "description", "instance"]
DEFAULT_CANDIDATES = ["sampled:25", "sampled:100", "sampled:300", "bare:25", "bare:100", "bare:300", "bare:300:free"]
QUICK_CANDIDATES = ["sampled:25", "bare:100"]
METHOD_LABELS = {"unedited": "unedited", "DMLE": "DMLE", "one_group": "one-group MEMIT",
                 "statement_ft": "statement fine-tune (IP ceiling)"}
EARLY_STOP = 5e-2  # TargetOptions.early_stop_loss, the engine's default


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default=None,
                        help="world preset (default natural, the report's; with --quick test)")
    parser.add_argument("--arch", default=DEFAULT_WORLD[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_WORLD[1],
                        help="world seed, also the requests' and templates' seed")
    parser.add_argument("--rules", type=int, default=None, help="edit only the first N usable rules (default: all)")
    parser.add_argument("--candidates", nargs="+", default=None,
                        help="target settings tried, TEMPLATES:STEPS[:free] with TEMPLATES sampled or bare; "
                             ":free switches the norm clamp, KL and decay of the target optimisation off "
                             f"(default {' '.join(DEFAULT_CANDIDATES)}; --quick: {' '.join(QUICK_CANDIDATES)})")
    parser.add_argument("--mom2-update-weight", type=float, default=100.0, help="MEMIT's lambda (the demo's)")
    parser.add_argument("--locality", type=int, default=60, help="known facts whose answers must not change")
    parser.add_argument("--ft-steps", type=int, default=80, help="most Adam steps of the statement fine-tune")
    parser.add_argument("--ft-lr", type=float, default=1e-3, help="learning rate of the statement fine-tune")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (1 on a shared machine)")
    parser.add_argument("--quick", action="store_true",
                        help="CI-sized: the test preset, 3 rules, two candidate settings, 20 locality facts")
    parser.add_argument("--section-json", type=Path, help="also write the fidelity report's DMLE section here")
    parser.add_argument("--work", type=Path, help="where measurements are kept for resuming (default: the cache)")
    parser.add_argument("--no-results-file", action="store_true", help="do not write benchmarks/results files")
    args = parser.parse_args(argv)
    args.preset = args.preset or ("test" if args.quick else "natural")
    if args.quick:
        args.rules = args.rules or 3
        args.locality = min(args.locality, 20)
    args.candidates = args.candidates or (QUICK_CANDIDATES if args.quick else DEFAULT_CANDIDATES)
    for candidate in args.candidates:
        try:
            parse_candidate(candidate)
        except ValueError as error:
            parser.error(f"--candidates: {error}")
    return args


# --- the plan -----------------------------------------------------------------------------------

def rules_of(requests: list[dict[str, Any]], count: int | None) -> dict[str, list[dict[str, Any]]]:
    """The requests grouped by rule, in order, the first ``count`` rules."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for request in requests:
        grouped.setdefault(str(request["rule_id"]), []).append(request)
    chosen = list(grouped)[:count] if count is not None else list(grouped)
    return {rule: grouped[rule] for rule in chosen}


def fact_locality_pairs(world: WorldModel, count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` trained fact prompts the unedited model answers, one per fact, fixed by ``seed``."""
    import random
    rng = random.Random(f"dmle-fidelity-locality:{seed}")
    prompts = list(world.world.trained_fact_prompts)
    rng.shuffle(prompts)
    chosen, seen = [], set()
    for prompt in prompts:
        if prompt.fact in seen:
            continue
        seen.add(prompt.fact)
        chosen.append((prompt.prompt, prompt.answer))
        if len(chosen) == 2 * count:
            break
    known = world.knows(chosen)
    return [pair for pair, hit in zip(chosen, known) if hit][:count]


def stage_plans(preset: str) -> dict[str, list[dict[str, Any]]]:
    """DMLE's stages and the one-group baseline's single stage on the union of their layers."""
    stages = RULE_STAGES[preset]
    union = sorted({layer for stage in stages for layer in stage["layers"]})
    return {"DMLE": copy.deepcopy(stages),
            "one_group": [{"name": "all", "forms": list(FORMS), "layers": union}]}


def common_settings(world: WorldModel, args: argparse.Namespace, work: Path, steps: int,
                    templates: list[str] | None) -> dict[str, Any]:
    spec = arch_spec(world.model)
    num_layers = world.model.config.num_hidden_layers
    settings = easyedit_settings(spec, [], num_layers - 1, steps)
    settings.pop("layers")
    settings.update(model_name=str(world.path), device="cpu", mom2_dataset="world", mom2_n_samples=None,
                    mom2_update_weight=args.mom2_update_weight, stats_dir=str(work / "stats"),
                    stats_corpus=str(work / "world_corpus.txt"), stats_max_length=64,
                    context_templates=templates)
    return settings


# --- measuring ----------------------------------------------------------------------------------

def for_judges(request: dict[str, Any]) -> dict[str, Any]:
    """The request in RuleEdit's shape for ``evaluate_requests`` (Rule Understanding under ``Rule``)."""
    converted = dict(request)
    portability = dict(request.get("portability", {}))
    if "Rule_Understanding" in portability:
        portability["Rule"] = portability.pop("Rule_Understanding")
    converted["portability"] = portability
    return converted


def measure(world: WorldModel, requests: list[dict[str, Any]], facts: list[tuple[str, str]]) -> dict[str, Any]:
    """Every evaluation prompt of one rule's requests, judged and token-scored, plus fact locality."""
    results = evaluate_requests(world.model, world.tok, [for_judges(r) for r in requests], show_progress=False)
    accuracies = token_accuracy(world.model, world.tok, [r.prompt for r in results], [r.target for r in results])
    by_case = {int(r["case_id"]): r for r in requests}
    items = []
    for result, accuracy in zip(results, accuracies):
        held = by_case[result.case_id].get("instance_held_out", [])
        items.append({
            "form": result.form, "metric": result.metric, "index": result.index, "answer": result.answer,
            "judge": int(result.correct), "token_acc": accuracy, "repeats": result.repeats_edit_prompt,
            "held_out": (bool(held[result.index]) if result.metric == "Instance" and result.index < len(held)
                         else None),
        })
    fact_hits = world.knows(facts)
    fact_accuracy = token_accuracy(world.model, world.tok, [p for p, _ in facts], [a for _, a in facts])
    return {"items": items, "fact_locality": {"judge": [float(h) for h in fact_hits], "token_acc": fact_accuracy}}


def edit_with_stages(world: WorldModel, requests: list[dict[str, Any]], hparams: DMLEHyperParams) -> dict[str, Any]:
    """Edit one rule; the final target loss and steps of every request, per stage."""
    outcome = dmle_edit(world.model, world.tok, [dict(r) for r in requests], hparams)
    losses, steps = {}, {}
    for stage in outcome.info["stages"]:
        last = stage["reports"][-1]  # distributed schedule: every layer shares the last layer's targets
        losses[stage["name"]] = [float(x) for x in last["target_loss"]]
        steps[stage["name"]] = [int(x) for x in last["target_steps"]]
    return {"target_loss": losses, "target_steps": steps}


def statement_finetune(world: WorldModel, requests: list[dict[str, Any]], max_steps: int, lr: float) -> dict[str, Any]:
    """Fine-tune every FFN weight on the new formula and description until greedy generation
    says them at their edit and rephrase prompts (checked every 5 steps)."""
    pairs = [(r[key], r["target_new"]) for r in requests if r["form"] in ("formula", "description")
             for key in ("prompt", "rephrase_prompt")]
    model, tok = world.model, world.tok
    trained = [p for name, p in model.named_parameters() if ".mlp." in name]
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in trained:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(trained, lr=lr)
    rows = []
    for prompt, target in pairs:
        prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        target_ids = tok(" " + target, add_special_tokens=False)["input_ids"]
        rows.append((prompt_ids + target_ids, len(prompt_ids)))
    width = max(len(ids) for ids, _ in rows)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (ids, start) in enumerate(rows):
        input_ids[i, :len(ids)] = torch.tensor(ids)
        labels[i, start:len(ids)] = torch.tensor(ids[start:])
        mask[i, :len(ids)] = 1
    said, step = False, 0
    try:
        for step in range(max_steps + 1):
            if step % 5 == 0:
                said = all(world.knows(pairs))
                if said or step == max_steps:
                    break
            model.train()
            optimizer.zero_grad()
            loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            optimizer.step()
    finally:
        model.eval()
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
    return {"steps": step, "says_statements": said}


def token_analysis(preset: str, model_path: str) -> dict[str, Any] | None:
    """The newest ``bench_target_convergence.py`` result for this world model, summarised."""
    for path in sorted(RESULTS_DIR.glob(f"target-convergence-{preset}-*.json"), reverse=True):
        raw = json.loads(path.read_text(encoding="utf-8"))["results"]["raw"]
        if raw["model_path"] == model_path:
            return {"file": f"benchmarks/results/{path.with_suffix('.md').name}", "finding": token_finding(raw)}
    return None


# --- the run ------------------------------------------------------------------------------------

class Parts:
    """Measurements kept on disk, one JSON per (setting, method, rule): a rerun resumes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, *key: str) -> Path:
        return self.directory / ("__".join(key).replace(":", "-").replace("/", "-") + ".json")

    def get(self, *key: str) -> dict[str, Any] | None:
        path = self._path(*key)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def put(self, value: dict[str, Any], *key: str) -> dict[str, Any]:
        write_text_atomically(self._path(*key), json.dumps(value))
        return value


def work_directory(args: argparse.Namespace, world: WorldModel) -> Path:
    if args.work is not None:
        return args.work
    settings = {"model": world.path.name, "seed": args.seed, "stages": RULE_STAGES[args.preset],
                "lambda": args.mom2_update_weight, "locality": args.locality, "ft": [args.ft_steps, args.ft_lr],
                "version": 1}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return cache_root() / "dmle-fidelity" / f"{world.path.name}-{key}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    world = load_world_model(args.preset, args.arch, args.seed, threads=args.threads, progress=False)
    work = work_directory(args, world)
    parts = Parts(work / "parts")
    corpus = work / "world_corpus.txt"
    if not corpus.exists():
        write_text_atomically(corpus, "\n".join(world_statistics_corpus(world.world)))
    started = time.perf_counter()
    rules = rules_of(rule_requests(world.world, seed=args.seed, knows=world.knows), args.rules)
    if not rules:
        raise SystemExit(f"the {args.preset} world model knows no rule in all three forms")
    facts = fact_locality_pairs(world, args.locality, args.seed)
    sampled = generate_templates(world.model, world.tok, seed=args.seed)[1]
    pristine = copy.deepcopy(world.model.state_dict())
    plans = stage_plans(args.preset)
    print(f"{args.preset} world ({world.world.spec.data_version}), {len(rules)} rules, {len(facts)} locality facts; "
          f"work in {work}", file=sys.stderr)

    def measured(key: tuple[str, ...], rule: str, edit: Any) -> dict[str, Any]:
        cached = parts.get(*key, rule)
        if cached is not None:
            return cached
        began = time.perf_counter()
        info = edit(rules[rule]) if edit is not None else {}
        edit_seconds = time.perf_counter() - began
        record = {**info, **measure(world, rules[rule], facts), "edit_seconds": edit_seconds}
        world.model.load_state_dict(pristine)
        print(f"  {'/'.join(key)} rule {rule}: " + (
            f"losses {info['target_loss']}" if "target_loss" in info else json.dumps(
                {k: v for k, v in info.items()})) + f" ({edit_seconds:.1f} s)", file=sys.stderr)
        return parts.put(record, *key, rule)

    unedited = {rule: measured(("unedited",), rule, None) for rule in rules}
    candidates: dict[str, Any] = {}
    for candidate in args.candidates:
        setting = parse_candidate(candidate)
        templates = sampled if setting.templates == "sampled" else ["{}"]
        common = common_settings(world, args, work, setting.steps, templates)
        if setting.free:
            common.update(FREE_CONSTRAINTS)
        candidate_record: dict[str, Any] = {"templates": setting.templates, "steps": setting.steps,
                                            "free": setting.free, "context_templates": templates,
                                            "methods": {}, "loss": {}}
        for method, stages in plans.items():
            hparams = DMLEHyperParams(stages=stages, **common)
            per_rule = {rule: measured((candidate, method), rule, lambda r: edit_with_stages(world, r, hparams))
                        for rule in rules}
            candidate_record["methods"][method] = per_rule
            candidate_record["loss"][method] = loss_statistics(
                {rule: record["target_loss"] for rule, record in per_rule.items()}, EARLY_STOP)
        candidates[candidate] = candidate_record
    chosen = choose_setting(candidates)
    ceiling = {rule: measured(("statement_ft",), rule,
                              lambda r: statement_finetune(world, r, args.ft_steps, args.ft_lr)) for rule in rules}
    summaries = {"unedited": method_summary(unedited, None)}
    for method in plans:
        summaries[method] = method_summary(candidates[chosen]["methods"][method], unedited)
    summaries["statement_ft"] = method_summary(ceiling, unedited)
    candidate_summaries = {key: {method: method_summary(c["methods"][method], unedited) for method in plans}
                           for key, c in candidates.items()}
    return {
        "preset": args.preset, "arch": args.arch, "seed": args.seed, "quick": args.quick,
        "data_version": world.world.spec.data_version, "model_path": world.path.name,
        "world_accuracy": world.report.get("accuracy"),
        "rules": {rule: {"name": requests[0]["subject"], "requests": requests} for rule, requests in rules.items()},
        "stages": plans, "fact_locality_prompts": facts, "candidates": {
            key: {k: v for k, v in c.items() if k != "methods"} for key, c in candidates.items()},
        "candidate_summaries": candidate_summaries, "chosen": chosen, "summaries": summaries,
        "per_rule": {"unedited": unedited, **{m: candidates[chosen]["methods"][m] for m in plans},
                     "statement_ft": ceiling},
        "ft": {"steps": args.ft_steps, "lr": args.ft_lr,
               "said": sum(r["says_statements"] for r in ceiling.values()), "of": len(ceiling)},
        "mom2_update_weight": args.mom2_update_weight, "early_stop_loss": EARLY_STOP,
        "free_constraints": FREE_CONSTRAINTS, "token_analysis": token_analysis(args.preset, world.path.name),
        "seconds": round(time.perf_counter() - started, 1), "threads": args.threads,
    }


# --- the report ---------------------------------------------------------------------------------

def markdown(raw: dict[str, Any], command: str) -> str:
    summaries = raw["summaries"]
    dmle, one, ceiling = summaries["DMLE"], summaries["one_group"], summaries["statement_ft"]
    chosen = raw["candidates"][raw["chosen"]]
    stages = "; ".join(f"{s['name']} ({'+'.join(s['forms'])}) on layers {s['layers']}" for s in raw["stages"]["DMLE"])
    union = raw["stages"]["one_group"][0]["layers"]
    lines = [
        "### DMLE: distributed multi-layer editing against the same MEMIT in one layer group",
        "",
        f"Command: `{command}`",
        "",
        f"World: `{raw['preset']}` preset, {raw['arch']}, seed {raw['seed']}, data version `{raw['data_version']}` "
        f"(model `{raw['model_path']}`); {len(raw['rules'])} rules, each edited ALONE from the unedited model "
        f"(its formula, description and instance cases in one call, weights restored after it), as the authors do.",
        f"DMLE: {stages}. One-group MEMIT: the same engine and settings, one stage with all three forms on layers "
        f"{union}. MEMIT's lambda {raw['mom2_update_weight']:g}; target settings chosen by convergence: "
        f"**{raw['chosen']}** ({chosen['templates']} context templates, {chosen['steps']} target steps"
        + (", norm clamp, KL and decay off" if chosen.get("free") else "") + ").",
        "",
        "Every metric twice: **judges** = greedy generation (budget 3x the target's tokens), its first sentence "
        "judged by the package's offline judges (numbers by value, formulas algebraically, sentences exactly); "
        "**token acc.** = EasyEdit's teacher-forced token accuracy. The unedited column is graded against the NEW "
        "targets: the pre-edit value of each metric. Per case mean over its prompts, per rule mean over its cases, "
        "then mean over rules; values in %.",
        "",
        "#### Results at the chosen target setting",
        "",
        *metrics_table(summaries, METHOD_LABELS),
        "",
        "#### DMLE minus one-group MEMIT (percentage points)",
        "",
        "| metric | judges | token acc. |",
        "|---|---|---|",
    ]
    for metric in ("formula", "description", "instance", "generalisation", "IP", "IP_held_out", "RU",
                   "RU_excl_duplicates", "rule_locality", "fact_locality"):
        cells = [delta(dmle, one, metric, score) for score in ("judge", "token_acc")]
        lines.append(f"| {metric} | " + " | ".join("n/a" if c is None else f"{100 * c:+.1f}" for c in cells) + " |")
    lines += [
        "",
        "#### Target convergence of the candidate settings",
        "",
        "Final loss of MEMIT's target optimisation per request (NLL of the target tokens averaged over them and the "
        f"context templates, plus the KL and decay terms); a request converged when its loss fell below the "
        f"early-stop threshold {raw['early_stop_loss']:g}. A setting ending in `:free` switches the norm clamp, the "
        "KL term and the decay off (" + ", ".join(f"{k} {v:g}" for k, v in raw["free_constraints"].items())
        + "): its loss is the NLL alone. The chosen setting is the one with the most converged "
        "requests (then the lowest mean loss, then the fewest steps, then the engine's constraints); scores played "
        "no part.",
        "",
        *loss_table(raw["candidates"], raw["chosen"]),
        "",
        "Headline scores at every candidate (judges; for reference, not used for the choice):",
        "",
        "| setting | method | formula | description | instance | IP | RU | RU w/o dup. | fact loc. |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, methods in raw["candidate_summaries"].items():
        for method, summary in methods.items():
            judged = summary["judge"]
            cells = [judged.get(m) for m in ("formula", "description", "instance", "IP", "RU", "RU_excl_duplicates",
                                             "fact_locality")]
            lines.append(f"| {key} | {METHOD_LABELS[method]} | " + " | ".join(
                "n/a" if c is None else f"{100 * c:.1f}" for c in cells) + " |")
    ft = raw["ft"]
    converged = {method: stats["all"]["converged"] for method, stats in chosen["loss"].items()}
    lines += [
        "",
        "#### What the numbers mean",
        "",
        f"* **Targets.** At the chosen setting {percent(converged.get('DMLE'))}% of DMLE's and "
        f"{percent(converged.get('one_group'))}% of one-group MEMIT's requests ended below the early-stop loss; a "
        "request whose target did not converge was written with a vector that does not make the model say its "
        "answer, so neither method can be better than its targets."
        + (f" {raw['token_analysis']['finding']} (`{raw['token_analysis']['file']}`, "
           "`benchmarks/bench_target_convergence.py`.)" if raw.get("token_analysis") else ""),
        f"* **IP ceiling.** The statement fine-tune (FFN weights of every layer, Adam lr {ft['lr']:g}, at most "
        f"{ft['steps']} steps) made the model say the new formula and description at both prompts for "
        f"{ft['said']} of {ft['of']} rules. Its IP is {percent(ceiling['judge'].get('IP'))}% (held-out operand pairs "
        f"{percent(ceiling['judge'].get('IP_held_out'))}%), and {percent(ceiling.get('IP_moved'))}% of the Instance "
        "prompts changed their answer at all. IP of any method is only informative up to that ceiling: where a "
        "perfect statement edit moves no instance, instances are recalled, not computed from the rule, and IP is "
        "0 by construction of the world.",
        "* **RU as RuleEdit defines it** asks a case for the rule's other forms; in RuleEdit 725 of the 796 RU "
        "prompts of the loadable rules are word for word another case's edit prompt, so a method that edits all "
        "three forms passes them by construction. Here the RU prompts are the other cases' edit prompts (flagged "
        "as repeats) and, on the natural world, the same questions in the rephrase wording (not flagged): RU "
        "without duplicates is then the other forms' generalisation. On the test/full worlds every RU prompt is a "
        "repeat, so RU without duplicates has no prompt (n/a).",
        "* **Token accuracy** credits every target token predicted teacher-forced; old and new formulas share most "
        "tokens, so its pre-edit value (unedited column) is high and the gain over it is what an edit adds.",
        "* Rule locality: prompts of the same form about other rules, which the unedited model answers; fact "
        "locality: known facts, greedy whole-answer match.",
    ]
    return "\n".join(lines) + "\n"


def section(raw: dict[str, Any], command: str) -> dict[str, Any]:
    summaries = raw["summaries"]
    return {
        "section": "DMLE",
        "title": "DMLE: distributed multi-layer editing against the same MEMIT in one layer group",
        "command": command,
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "claims": claims(summaries["DMLE"], summaries["one_group"], summaries["statement_ft"]),
        "markdown": markdown(raw, command),
        "plots": [],
        "raw": raw,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    raw = run(args)
    command = command_line()
    result = section(raw, command)
    if args.section_json is not None:
        args.section_json.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(args.section_json, json.dumps(result, indent=2))
        print(f"wrote {args.section_json}", file=sys.stderr)
    if not args.no_results_file:
        name = f"dmle-fidelity-{args.preset}" + ("-quick" if args.quick else "")
        path = write_result(name, {"section": {k: v for k, v in result.items() if k != "raw"}, "raw": raw},
                            result["markdown"])
        print(f"wrote {path} and {path.with_suffix('.md')}", file=sys.stderr)
    for row in result["claims"]:
        print(f"{row['claim']}: paper {row['paper']}; measured {row['measured']}; holds {row['holds']}")


if __name__ == "__main__":
    main()
