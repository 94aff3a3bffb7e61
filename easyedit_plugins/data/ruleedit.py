"""Loading RuleEdit-200 (the DMLE authors' rule-editing benchmark) into typed rules.

``load_ruleedit(path)`` reads the benchmark from its zip or its folder, validates every case
(:mod:`.schema`), and returns the rules with a report of what it skipped and repaired. One broken
rule does not stop the load: the released archive has one (``145/ins.json`` is not valid JSON),
and the other 199 rules are what every published number is computed on. ``strict=True`` raises
at the first unusable rule instead.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from .cases import CaseForm, Rule, RuleCase
from .report import LoadIssue, LoadReport, RuleEditFormatError
from .schema import parse_case
from .sources import RuleFile, RuleFolder, find_rule_folders

logger = logging.getLogger(__name__)

#: The cases each per-rule file must hold, in order.
FILE_FORMS: dict[str, tuple[CaseForm, ...]] = {
    "f_d.json": ("formula", "description"),
    "ins.json": ("instance",),
}


@dataclass(frozen=True)
class RuleEditBenchmark:
    """The loaded rules, in numeric order of their folders, and the load report."""

    source: str
    rules: tuple[Rule, ...]
    report: LoadReport

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.rule_id == rule_id:
                return rule
        raise KeyError(f"no rule {rule_id!r} in {self.source}")

    def cases(self, forms: Iterable[CaseForm] | None = None) -> list[RuleCase]:
        wanted = set(forms) if forms is not None else None
        return [case for rule in self.rules for case in rule.cases if wanted is None or case.form in wanted]

    def requests(self, forms: Iterable[CaseForm] | None = None) -> list[dict[str, Any]]:
        """Every case as an EasyEdit request, rule by rule (optionally only some forms)."""
        return [case.to_request() for case in self.cases(forms)]

    def counts(self) -> dict[str, int]:
        """How many prompts of each kind the loaded rules hold (after the repairs)."""
        cases = self.cases()
        rule_prompts = sum(len(c.rule_understanding) for c in cases)
        repeats = sum(sum(c.rule_prompt_repeats_edit_prompt) for c in cases)
        return {
            "rules": len(self.rules),
            "cases": len(cases),
            "rephrase_prompts": len(cases),
            "instance_prompts": sum(len(c.instance) for c in cases),
            "rule_understanding_prompts": rule_prompts,
            "rule_understanding_prompts_repeating_an_edit_prompt": repeats,
            "rule_understanding_prompts_excluding_repeats": rule_prompts - repeats,
            "locality_prompts": sum(len(c.neighborhood) + len(c.distracting) for c in cases),
            "neighborhood_prompts": sum(len(c.neighborhood) for c in cases),
            "distracting_prompts": sum(len(c.distracting) for c in cases),
        }


def _read_json(rule_id: str, file: RuleFile) -> Any:
    def failure(message: str) -> RuleEditFormatError:
        return RuleEditFormatError(LoadIssue(rule_id, file.display_name, None, None, message))

    try:
        text = file.read().decode("utf-8-sig")
    except OSError as error:
        raise failure(f"cannot be read ({error})") from error
    except UnicodeDecodeError as error:
        raise failure(f"is not UTF-8 ({error})") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise failure(f"is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from error


def _mark_repeated_rule_prompts(cases: list[RuleCase]) -> list[RuleCase]:
    """Flag each Rule Understanding prompt that is word for word another case's edit prompt.

    Such a prompt measures the edit of that other case again rather than understanding of the
    rule, which is why the summary also reports RU without them.
    """
    marked = []
    for case in cases:
        other_prompts = {other.prompt for other in cases if other is not case}
        flags = tuple(prompt in other_prompts for prompt in case.rule_understanding.prompts)
        marked.append(dataclasses.replace(case, rule_prompt_repeats_edit_prompt=flags))
    return marked


def _load_rule(folder: RuleFolder) -> tuple[Rule, list[LoadIssue]]:
    cases: list[RuleCase] = []
    warnings: list[LoadIssue] = []
    for file_name, forms in FILE_FORMS.items():
        file = folder.files.get(file_name)
        if file is None:
            missing = LoadIssue(folder.rule_id, f"{folder.rule_id}/{file_name}", None, None, "file missing")
            raise RuleEditFormatError(missing)
        raw = _read_json(folder.rule_id, file)
        if not isinstance(raw, list) or len(raw) != len(forms):
            found = f"a list of {len(raw)}" if isinstance(raw, list) else type(raw).__name__
            expected = " and ".join(forms)
            raise RuleEditFormatError(
                LoadIssue(folder.rule_id, file.display_name, None, None,
                          f"expected a list of {len(forms)} case(s) ({expected}), found {found}")
            )
        for index, (raw_case, form) in enumerate(zip(raw, forms)):
            case, case_warnings = parse_case(
                raw_case, rule_id=folder.rule_id, file=file.display_name, index=index, form=form
            )
            cases.append(case)
            warnings.extend(case_warnings)
    cases = _mark_repeated_rule_prompts(cases)
    return Rule(rule_id=folder.rule_id, name=cases[0].rule_name, cases=tuple(cases)), warnings


def load_ruleedit(path: str | Path, strict: bool = False) -> RuleEditBenchmark:
    """Load RuleEdit-200 from its zip (with or without the top ``RuleEdit-200/`` folder) or
    from a folder of numbered rule folders.

    A rule with an unusable file or case is skipped and reported in ``report.skipped``
    (``strict=False``, the default) or raises :class:`~.report.RuleEditFormatError` naming the
    file, the case and the key (``strict=True``). Documented repairs (see :mod:`.schema` and
    :mod:`.subjects`) are listed in ``report.warnings`` in both modes.
    """
    rules: list[Rule] = []
    skipped: list[LoadIssue] = []
    warnings: list[LoadIssue] = []
    for folder in find_rule_folders(path):
        try:
            rule, rule_warnings = _load_rule(folder)
        except RuleEditFormatError as error:
            if strict:
                raise
            logger.warning("skipping rule %s: %s", folder.rule_id, error.issue)
            skipped.append(error.issue)
            continue
        rules.append(rule)
        warnings.extend(rule_warnings)
    for issue in warnings:
        logger.info("repaired: %s", issue)
    report = LoadReport(str(path), len(rules), tuple(skipped), tuple(warnings))
    logger.info("%s: %d rules loaded, %d skipped, %d repairs", path, len(rules), len(skipped), len(warnings))
    return RuleEditBenchmark(str(path), tuple(rules), report)
