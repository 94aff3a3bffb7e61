"""The benchmark summary of a run: Reliability, Generalisation, Locality, IP, RU and RU
without the prompts that repeat an edit prompt, before and after editing.

Scores come from :func:`easyedit_plugins.evaluation.summarize_rules` (mean over a case's
prompts, then over a rule's cases, then over rules) and are shown as percentages.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..evaluation import SUMMARY_METRICS, summarize_rules

COLUMN_TITLES = {
    "Reliability": "Reliability",
    "Generalisation": "Generalisation",
    "Locality": "Locality",
    "IP": "IP",
    "RU": "RU",
    "RU_excl_duplicates": "RU excl. duplicates",
}
STAGE_TITLES = {"pre": "before editing", "post": "after editing"}


def build_summary(records: Mapping[str, list[dict[str, Any]]], run: dict[str, Any]) -> dict[str, Any]:
    """``run`` (method, model, data, rule counts) plus the scores of ``records`` per stage; a
    stage no record has (``pre`` when it was switched off) is left out."""
    summary = dict(run)
    for stage in STAGE_TITLES:
        scores = summarize_rules(records, stage=stage)
        if any(scores[metric] is not None for metric in SUMMARY_METRICS):
            summary[stage] = scores
    return summary


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def summary_markdown(summary: dict[str, Any]) -> str:
    """A Markdown table of the summary with a line saying what it covers."""
    rules = summary["rules"]
    lines = [
        f"# RuleEdit: {summary['method']} on {summary['model']}",
        "",
        "| | " + " | ".join(COLUMN_TITLES[m] for m in SUMMARY_METRICS) + " |",
        "|---|" + "---:|" * len(SUMMARY_METRICS),
    ]
    for stage, title in STAGE_TITLES.items():
        if stage in summary:
            lines.append(f"| {title} | " + " | ".join(_percent(summary[stage][m]) for m in SUMMARY_METRICS) + " |")
    lines += [
        "",
        f"{rules['finished']} of {rules['selected']} selected rules finished "
        f"({rules['computed']} edited in this run, {rules['reused']} from an earlier run); "
        f"{len(rules['failed'])} failed" + (f" ({', '.join(rules['failed'])})" if rules["failed"] else "")
        + f"; {len(rules['skipped_at_load'])} skipped when loading the data"
        + (f" ({', '.join(rules['skipped_at_load'])})" if rules["skipped_at_load"] else "") + ".",
        *(f"Rule {rule_id} skipped when loading: {reason}." for rule_id, reason in rules.get("skipped_at_load_reasons", {}).items()),
        "Scores in %: mean over a case's prompts, then over a rule's cases, then over rules. "
        "RU excl. duplicates leaves out the Rule Understanding prompts that are word for word "
        "another case's edit prompt.",
        "",
    ]
    return "\n".join(lines)
