"""Per-rule records in the DMLE authors' layout, and the benchmark summary.

:func:`rule_records` groups per-prompt results into one list of case records per rule, with
the field names of DMLE's ``metrics_rule_<id>.json`` files (``post.rewrite_acc``,
``post.rephrase_acc``, ``post.locality.neighborhood_acc`` / ``distracting_acc``,
``post.portability.Instance_acc`` / ``Rule_acc``, each a list with one 0/1 score per prompt,
next to the generations under ``*_gen_content`` / ``*_output``). Fields are added:
``post.portability.Rule_repeats_edit_prompt`` flags the Rule Understanding prompts that are
word for word the edit prompt of another case of the same rule, and where a judge gave up on
a prompt of a metric (time limit, formula too large to evaluate), ``<metric>_judge_notes``
next to its scores lists the reason for each prompt (None where the judge decided).

:func:`summarize_rules` averages: a case's score is the mean over its prompts of that metric,
a rule's the mean over its cases that have such prompts, the benchmark's the mean over rules.
DMLE's ``cal_avg.py`` averages case scores over all cases at once, which is the same as long
as every rule has its three cases scored, as the released data does except for
``RU_excl_duplicates``, where cases without any remaining prompt drop out. Locality pools a
case's neighborhood and distracting prompts, as ``cal_avg.py`` does. Summary fields:
``Reliability`` (rewrite), ``Generalisation`` (rephrase), ``Locality``, ``IP`` (Instance
portability), ``RU`` (Rule Understanding) and ``RU_excl_duplicates`` (RU over the prompts that
do not repeat an edit prompt; 725 of the 796 RU prompts of the 199 loadable rules do, so a
method that edits all three forms passes RU largely by construction). Scores are fractions in
[0, 1]; a metric no rule has prompts for is None.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import fmean
from typing import Any, Iterable, Mapping

from ..core.files import write_text_atomically
from .rule_evaluation import LOCALITY_METRICS, PORTABILITY_METRICS, PromptResult

RuleRecords = dict[str, list[dict[str, Any]]]

SUMMARY_METRICS = ("Reliability", "Generalisation", "Locality", "IP", "RU", "RU_excl_duplicates")


def _stage_record(results: list[PromptResult]) -> dict[str, Any]:
    record: dict[str, Any] = {"locality": {}, "portability": {}}
    for metric in ("rewrite", "rephrase", *LOCALITY_METRICS, *PORTABILITY_METRICS):
        chosen = sorted((r for r in results if r.metric == metric), key=lambda r: r.index)
        if not chosen:
            continue
        scores = [1.0 if r.correct else 0.0 for r in chosen]
        generations = [r.generation for r in chosen]
        if metric in LOCALITY_METRICS:
            section = record["locality"]
            section.update({f"{metric}_acc": scores, f"{metric}_output": generations})
        elif metric in PORTABILITY_METRICS:
            section = record["portability"]
            section.update({f"{metric}_acc": scores, f"{metric}_gen_content": generations})
            if metric == "Rule":
                section["Rule_repeats_edit_prompt"] = [r.repeats_edit_prompt for r in chosen]
        else:
            section = record
            section.update({f"{metric}_acc": scores, f"{metric}_gen_content": generations})
        if any(r.judge_note is not None for r in chosen):
            section[f"{metric}_judge_notes"] = [r.judge_note for r in chosen]
    return record


def _by_case(results: Iterable[PromptResult]) -> dict[tuple[str, int, str], list[PromptResult]]:
    cases: dict[tuple[str, int, str], list[PromptResult]] = {}
    for result in results:
        cases.setdefault((result.rule_id, result.case_id, result.form), []).append(result)
    return cases


def rule_records(post: Iterable[PromptResult], pre: Iterable[PromptResult] | None = None) -> RuleRecords:
    """One list of case records per rule id, cases in the order they first appear.

    ``post`` are the results on the edited model; ``pre`` (optional) on the unedited one,
    stored under ``pre`` as DMLE does.
    """
    pre_cases = _by_case(pre) if pre is not None else {}
    records: RuleRecords = {}
    for (rule_id, case_id, form), results in _by_case(post).items():
        record: dict[str, Any] = {"case_id": case_id, "form": form, "post": _stage_record(results)}
        if (rule_id, case_id, form) in pre_cases:
            record["pre"] = _stage_record(pre_cases[(rule_id, case_id, form)])
        records.setdefault(rule_id, []).append(record)
    return records


def _case_scores(stage: Mapping[str, Any]) -> dict[str, list[float]]:
    portability = stage.get("portability", {})
    locality = stage.get("locality", {})
    rule_scores = list(portability.get("Rule_acc", []))
    # Records without the flags (DMLE's own files) cannot say which prompts repeat: no score.
    repeats = portability.get("Rule_repeats_edit_prompt", [True] * len(rule_scores))
    return {
        "Reliability": list(stage.get("rewrite_acc", [])),
        "Generalisation": list(stage.get("rephrase_acc", [])),
        "Locality": list(locality.get("neighborhood_acc", [])) + list(locality.get("distracting_acc", [])),
        "IP": list(portability.get("Instance_acc", [])),
        "RU": rule_scores,
        "RU_excl_duplicates": [s for s, repeated in zip(rule_scores, repeats) if not repeated],
    }


def _mean_of_means(groups: Iterable[list[float]]) -> float | None:
    means = [fmean(group) for group in groups if group]
    return fmean(means) if means else None


def summarize_rules(records: Mapping[str, list[dict[str, Any]]], stage: str = "post") -> dict[str, Any]:
    """The benchmark summary of ``records`` (as :func:`rule_records` returns or as read back
    from DMLE-style files): each metric of :data:`SUMMARY_METRICS`, plus ``rules`` and
    ``rules_scored`` (how many rules contributed to each metric). Records without
    ``Rule_repeats_edit_prompt`` (DMLE's own files) get no ``RU_excl_duplicates``."""
    summary: dict[str, Any] = {}
    scored: dict[str, int] = {}
    for metric in SUMMARY_METRICS:
        rule_means = []
        for cases in records.values():
            rule_mean = _mean_of_means(_case_scores(case.get(stage, {}))[metric] for case in cases)
            if rule_mean is not None:
                rule_means.append(rule_mean)
        summary[metric] = fmean(rule_means) if rule_means else None
        scored[metric] = len(rule_means)
    summary["rules"] = len(records)
    summary["rules_scored"] = scored
    return summary


def write_rule_records(records: Mapping[str, list[dict[str, Any]]], directory: str | Path) -> list[Path]:
    """Write one ``metrics_rule_<id>.json`` per rule, DMLE's file name, each atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for rule_id, cases in records.items():
        path = directory / f"metrics_rule_{rule_id}.json"
        write_text_atomically(path, json.dumps(cases, indent=2, ensure_ascii=False))
        written.append(path)
    return written
