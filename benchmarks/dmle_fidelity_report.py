"""Aggregating and writing DMLE's fidelity measurements (no torch: tests feed it synthetic data).

``bench_dmle_fidelity.py`` measures, for every method and every rule edited alone, one record
per evaluation prompt (:data:`Item` fields below) plus the fact-locality prompts and the target
losses. This module turns those records into the section's tables:

* per metric, a case's score is the mean over its prompts, a rule's the mean over its cases
  that have such prompts, the method's the mean over rules (the aggregation of
  ``easyedit_plugins.evaluation.rule_metrics.summarize_rules``); every metric twice: greedy
  generation judged by the offline judges (the headline) and teacher-forced token accuracy
  (EasyEdit's number);
* ``IP_moved``: the share of Instance prompts whose greedy answer differs from the unedited
  model's, whether or not it is the new rule's: did the edit reach instances at all;
* the target-loss table of the candidate settings (:func:`parse_candidate`) and the choice
  among them, by convergence only (never by a score);
* one or two sentences on what ``bench_target_convergence.py`` found token by token.

An item is a dict with ``form`` (the case: formula, description, instance), ``metric``
(rewrite, rephrase, Instance, Rule, neighborhood), ``index``, ``answer`` (the judged span of
the greedy generation), ``judge`` (0/1), ``token_acc`` (0..1), ``held_out`` (Instance prompts:
held-out operand pair) and ``repeats`` (Rule prompts: another case's edit prompt).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from statistics import fmean
from typing import Any, Callable, Iterable, Mapping, Sequence

#: The section's metrics, in table order: name -> (label, which items count).
Selector = Callable[[Mapping[str, Any]], bool]
METRICS: dict[str, tuple[str, Selector]] = {
    "formula": ("formula reliability", lambda i: i["metric"] == "rewrite" and i["form"] == "formula"),
    "description": ("description reliability", lambda i: i["metric"] == "rewrite" and i["form"] == "description"),
    "instance": ("instance reliability", lambda i: i["metric"] == "rewrite" and i["form"] == "instance"),
    "generalisation": ("generalisation (rephrase, all forms)", lambda i: i["metric"] == "rephrase"),
    "IP": ("Instance Portability", lambda i: i["metric"] == "Instance"),
    "IP_held_out": ("IP, held-out operand pairs only", lambda i: i["metric"] == "Instance" and bool(i.get("held_out"))),
    "RU": ("Rule Understanding (RuleEdit's)", lambda i: i["metric"] == "Rule"),
    "RU_excl_duplicates": ("RU without prompts that are another case's edit prompt",
                           lambda i: i["metric"] == "Rule" and not i.get("repeats")),
    "rule_locality": ("rule locality (other rules' prompts)", lambda i: i["metric"] == "neighborhood"),
}
SCORES = ("judge", "token_acc")
SCORE_LABELS = {"judge": "greedy generation, offline judges", "token_acc": "teacher-forced token accuracy"}


def _mean(values: Iterable[float]) -> float | None:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return fmean(values) if values else None


def rule_scores(items: Sequence[Mapping[str, Any]], fact_locality: Mapping[str, Sequence[float]],
                score: str) -> dict[str, float | None]:
    """One rule's value of every metric: mean over each case's prompts, then over its cases."""
    result: dict[str, float | None] = {}
    forms = list(dict.fromkeys(item["form"] for item in items))
    for name, (_, chosen) in METRICS.items():
        case_means = [_mean(float(i[score]) for i in items if i["form"] == form and chosen(i)) for form in forms]
        result[name] = _mean(m for m in case_means if m is not None)
    result["fact_locality"] = _mean(fact_locality.get(score, []))
    return result


def moved_share(items: Sequence[Mapping[str, Any]], before: Sequence[Mapping[str, Any]]) -> float | None:
    """The share of Instance prompts whose answer differs from the unedited model's answer."""
    previous = {(i["form"], i["index"]): i["answer"] for i in before if i["metric"] == "Instance"}
    changed = [float(i["answer"] != previous[(i["form"], i["index"])]) for i in items
               if i["metric"] == "Instance" and (i["form"], i["index"]) in previous]
    return _mean(changed)


def method_summary(per_rule: Mapping[str, Mapping[str, Any]],
                   unedited: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """Mean over rules of every metric and score kind, plus ``IP_moved`` when the unedited
    model's answers are given. ``per_rule`` maps a rule id to ``{"items", "fact_locality"}``."""
    summary: dict[str, Any] = {"rules": len(per_rule)}
    for score in SCORES:
        by_rule = [rule_scores(record["items"], record["fact_locality"], score) for record in per_rule.values()]
        summary[score] = {name: _mean(scores[name] for scores in by_rule) for name in [*METRICS, "fact_locality"]}
    if unedited is not None:
        summary["IP_moved"] = _mean(moved_share(record["items"], unedited[rule]["items"])
                                    for rule, record in per_rule.items() if rule in unedited)
    return summary


def loss_statistics(losses: Mapping[str, Mapping[str, Sequence[float]]], early_stop: float) -> dict[str, Any]:
    """Target losses ``{rule: {stage: [loss per request]}}`` summarised per stage and overall:
    mean, max, and the share of requests whose loss ended below ``early_stop`` (converged)."""
    stages: dict[str, list[float]] = {}
    for per_stage in losses.values():
        for stage, values in per_stage.items():
            stages.setdefault(stage, []).extend(values)
    every = [v for values in stages.values() for v in values]

    def stats(values: list[float]) -> dict[str, float | None]:
        return {"mean": _mean(values), "max": max(values) if values else None, "requests": len(values),
                "converged": _mean(float(v < early_stop) for v in values)}

    return {"stages": {stage: stats(values) for stage, values in stages.items()}, "all": stats(every)}


#: The target optimisation with its constraints switched off (a candidate's ``:free``): no norm
#: clamp (a factor no target reaches; the hparams checks refuse infinity), no KL term, no decay.
FREE_CONSTRAINTS: dict[str, float] = {"clamp_norm_factor": 1e6, "kl_factor": 0.0, "v_weight_decay": 0.0}
_CANDIDATE = re.compile(r"(sampled|bare):([0-9]+)(:free)?")


@dataclass(frozen=True)
class Candidate:
    """A target setting tried: context templates, number of steps, constraints on or off."""

    templates: str  # "sampled" (from the model) or "bare" ("{}")
    steps: int
    free: bool  # clamp, KL and decay off (FREE_CONSTRAINTS)


def parse_candidate(text: str) -> Candidate:
    """``TEMPLATES:STEPS[:free]``, e.g. ``bare:300`` or ``bare:300:free``; anything else is refused
    with a message naming the candidate."""
    match = _CANDIDATE.fullmatch(text)
    if match is None or int(match.group(2)) < 1:
        raise ValueError(f"candidate {text!r} is not TEMPLATES:STEPS[:free] (TEMPLATES sampled or bare, STEPS a "
                         "whole number of at least 1, ':free' to switch clamp, KL and decay off)")
    return Candidate(match.group(1), int(match.group(2)), match.group(3) is not None)


def choose_setting(candidates: Mapping[str, Mapping[str, Any]]) -> str:
    """The candidate whose targets converge best: the highest share of requests below the
    early-stop loss, then the lowest mean final loss, then the fewest steps (cheapest), then the
    engine's own constraints before ``free`` (the library's setting where nothing else decides).

    ``candidates`` maps a setting key to ``{"steps": int, "free": bool (default False), "loss":
    {method: loss_statistics}}``; every method's losses count. Scores are deliberately not an input.
    """
    def rank(key: str) -> tuple[float, float, int, bool]:
        methods = candidates[key]["loss"].values()
        converged = _mean(m["all"]["converged"] for m in methods) or 0.0
        mean = _mean(m["all"]["mean"] for m in methods)
        return (-converged, math.inf if mean is None else mean, int(candidates[key]["steps"]),
                bool(candidates[key].get("free", False)))

    if not candidates:
        raise ValueError("no candidate settings to choose from")
    return min(candidates, key=rank)


def percent(value: float | None) -> str:
    """A rate as a percentage with one decimal, ``n/a`` where nothing was measured."""
    return "n/a" if value is None else f"{100 * value:.1f}"


def _loss(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def metrics_table(methods: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str]) -> list[str]:
    """Markdown rows: one per metric, a column pair (judges / token accuracy) per method."""
    names = list(methods)
    header = "| metric | " + " | ".join(f"{labels[n]}: judges | {labels[n]}: token acc." for n in names) + " |"
    lines = [header, "|---|" + "---|---|" * len(names)]
    for metric in [*METRICS, "fact_locality"]:
        label = METRICS[metric][0] if metric in METRICS else "fact locality (known facts keep their answer)"
        cells = []
        for name in names:
            cells += [percent(methods[name]["judge"].get(metric)), percent(methods[name]["token_acc"].get(metric))]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    moved = [name for name in names if "IP_moved" in methods[name]]
    if moved:
        cells = []
        for name in names:
            cells += [percent(methods[name].get("IP_moved")), ""]
        lines.append("| Instance prompts whose answer moved at all | " + " | ".join(cells) + " |")
    return lines


def loss_table(candidates: Mapping[str, Mapping[str, Any]], chosen: str) -> list[str]:
    """Markdown rows: per candidate setting and method, the target loss per stage."""
    lines = ["| setting | method | stage | requests | mean final loss | max final loss | converged (< early stop) |",
             "|---|---|---|---|---|---|---|"]
    for key, candidate in candidates.items():
        mark = f"**{key}** (chosen)" if key == chosen else key
        for method, stats in candidate["loss"].items():
            for stage, values in stats["stages"].items():
                lines.append(f"| {mark} | {method} | {stage} | {values['requests']} | {_loss(values['mean'])} | "
                             f"{_loss(values['max'])} | {percent(values['converged'])}% |")
    return lines


def delta(a: Mapping[str, Any], b: Mapping[str, Any], metric: str, score: str = "judge") -> float | None:
    """``a - b`` of one metric, or None when either is missing."""
    x, y = a[score].get(metric), b[score].get(metric)
    return None if x is None or y is None else x - y


def claims(dmle: Mapping[str, Any], baseline: Mapping[str, Any], ceiling: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The paper's headline against DMLE minus one-group MEMIT, greedy generation judged.

    Not measurable (``holds`` None): IP when even a perfect statement edit moves no instance
    (then IP is 0 for every method by construction of the world, not because of DMLE), and
    both claims when neither method edits the rule at all (every form's reliability 0): a
    difference between two edits that did not happen says nothing about where to write.
    """
    metric = "greedy generation judged by the offline judges, each rule edited alone, mean over rules"
    ip_delta, ru_delta = delta(dmle, baseline, "IP"), delta(dmle, baseline, "RU")
    ru_clean = delta(dmle, baseline, "RU_excl_duplicates")
    ceiling_ip = ceiling["judge"].get("IP")
    edited = any(summary["judge"].get(form) for summary in (dmle, baseline)
                 for form in ("formula", "description", "instance"))
    ip_measurable = edited and bool(ceiling.get("IP_moved")) and ip_delta is not None
    nothing = "" if edited else "; neither method edits the rule (reliability 0 for every form)"
    rows = [{
        "claim": "DMLE improves Instance Portability over the strongest baseline",
        "paper": "+13.91 pp IP (mean over 4 7-8B models)",
        "measured": (f"DMLE minus one-group MEMIT: {_signed(ip_delta)} pp IP "
                     f"(DMLE {percent(dmle['judge'].get('IP'))}%, one group {percent(baseline['judge'].get('IP'))}%; "
                     f"ceiling of a perfect statement edit {percent(ceiling_ip)}%, instances moved "
                     f"{percent(ceiling.get('IP_moved'))}%){nothing}"),
        "metric": metric,
        "holds": (ip_delta > 0) if ip_measurable and ip_delta is not None else None,
    }, {
        "claim": "DMLE improves Rule Understanding over the strongest baseline",
        "paper": "+50.19 pp RU (mean over 4 7-8B models)",
        "measured": (f"DMLE minus one-group MEMIT: {_signed(ru_delta)} pp RU, {_signed(ru_clean)} pp RU without "
                     f"repeated edit prompts{nothing}"),
        "metric": metric,
        "holds": None if ru_delta is None or not edited else ru_delta > 0,
    }]
    return rows


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.1f}"



def token_finding(convergence: Mapping[str, Any]) -> str:
    """What ``bench_target_convergence.py``'s per-token analysis found, in one or two sentences.

    ``convergence`` is that benchmark's raw record: ``settings`` maps a setting key to
    ``{"constraints", "layer", "summary"}`` (summary fields as its ``summarise`` writes them).
    Only the settings with the constraints off count: they are the most a target can do.
    """
    free = {key: s for key, s in convergence["settings"].items() if s["constraints"] == "free"}
    if not free:
        raise ValueError("the target-convergence record has no setting with the constraints off")
    best_key = max(free, key=lambda k: (free[k]["summary"]["converged"], -free[k]["summary"]["mean_loss"]))
    best = free[best_key]["summary"]
    layers = sorted(s["layer"] for s in free.values())
    unseen_total = best["with_unseen_token"]
    unseen_best = max(s["summary"]["with_unseen_token_converged"] for s in free.values())
    seen_total = best["requests"] - unseen_total
    seen_converged = best["without_unseen_token_converged"]
    in_changed = best["worst_token_where"]["changed"]
    tokens = sorted({t for s in free.values() for t in s["summary"].get("unseen_tokens", [])})
    unseen_p = max((s["summary"]["unseen_max_p"] for s in free.values()
                    if s["summary"].get("unseen_max_p") is not None), default=None)
    probability = "" if unseen_p is None else f" (such a token's probability stays at most {unseen_p:.2f})"
    unseen_converged = "none converges" if unseen_best == 0 else f"at most {unseen_best} converge"
    verdict = (" The plateau is what the world model learned to say, not the optimisation's constraints or layer."
               if unseen_total and unseen_best == 0 and seen_converged > 0 else "")
    headline = (f"{best['converged']} of {best['requests']} formula/description targets converge at the best layer "
                f"for the vector (layer {free[best_key]['layer']} of {layers[0]}-{layers[-1]}; mean final loss "
                f"{best['mean_loss']:.3f})")
    unmoved = ""
    if best.get("wrong_tokens"):
        unmoved = (f" There, {best['wrong_as_unedited']} of the {best['wrong_tokens']} answer tokens the model still "
                   "gets wrong are what the unedited model predicts at that point.")
    if not unseen_total:
        return (f"Token by token, with clamp, KL and decay off, {headline}; every new answer uses only tokens the "
                f"trained rules' answers of its form contain, and {in_changed} of the {best['unconverged']} others "
                "have their highest-NLL token where the new answer differs from the old one." + unmoved)
    return (
        f"Token by token, with clamp, KL and decay off: of the {unseen_total} formula/description requests whose new "
        f"answer holds a token that no trained rule's answer of that form contains "
        f"({', '.join(f'`{t}`' for t in tokens)}), {unseen_converged} with the vector at any of layers "
        f"{layers[0]}-{layers[-1]}{probability}, while {seen_converged} of the other {seen_total} converge at the "
        f"best layer (layer {free[best_key]['layer']}; {best['converged']} of {best['requests']} in all, mean final "
        f"loss {best['mean_loss']:.3f})." + verdict
    )
