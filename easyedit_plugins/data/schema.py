"""Validating one RuleEdit-200 case and turning it into a :class:`~.cases.RuleCase`.

The format, as found in the released data (checked field by field on all 600 cases). Both
files: ``case_id`` (int); ``subject``, ``rule``, ``prompt``, ``target_new``,
``rephrase_prompt`` (str); ``Instance.prompt`` and ``Instance.target_new`` (lists of str);
``locality.neighborhood`` and ``locality.distracting``, each ``{prompt, ground_truth}`` (lists
of str). They differ in two places:

* ``ground_truth`` (list of str) is required in ``f_d.json``; ``ins.json`` cases mostly have
  none (3 of 200 do).
* ``Rule_Understanding.prompt`` and ``.target_new`` are single strings in ``f_d.json`` (with
  an unused ``rephrase_prompt``) and lists of strings in ``ins.json``. Its ``ground_truth``
  (the unedited answers) is optional: Rule Understanding is graded against ``target_new``.

A wrong type or a missing required key is an error (:class:`~.report.RuleEditFormatError`).
Two defects of the released data are repaired with a warning instead, because the rest of the
rule is sound: an unknown key is ignored (rule 133 spells ``ground_university``), and parallel
lists of different lengths are paired up to the shorter one, as EasyEdit's and DMLE's ``zip``
would do (rules 132 and 164 list 8 and 3 instance prompts for 4 answers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .cases import CaseForm, PromptSet, RuleCase
from .report import LoadIssue, RuleEditFormatError
from .subjects import choose_subject

_TOP_KEYS = {
    "case_id", "subject", "rule", "prompt", "target_new", "ground_truth", "rephrase_prompt",
    "Rule_Understanding", "Instance", "locality",
}
_RULE_UNDERSTANDING_KEYS = {"prompt", "target_new", "ground_truth", "rephrase_prompt"}
_INSTANCE_KEYS = {"prompt", "target_new"}
_LOCALITY_KEYS = {"neighborhood", "distracting"}
_LOCALITY_SET_KEYS = {"prompt", "ground_truth"}


@dataclass
class _CaseReader:
    """Reads typed values out of one raw case, raising errors that say where."""

    rule_id: str
    file: str
    index: int
    warnings: list[LoadIssue] = field(default_factory=list)

    def issue(self, key: str | None, message: str) -> LoadIssue:
        return LoadIssue(self.rule_id, self.file, self.index, key, message)

    def fail(self, key: str | None, message: str) -> RuleEditFormatError:
        return RuleEditFormatError(self.issue(key, message))

    def warn(self, key: str | None, message: str) -> None:
        self.warnings.append(self.issue(key, message))

    def section(self, raw: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(key or None, f"expected an object, got {type(raw).__name__}")
        for unknown in sorted(set(raw) - allowed):
            name = f"{key}.{unknown}" if key else unknown
            self.warn(name, "unknown key ignored")
        return raw

    def value(self, raw: dict[str, Any], key: str, path: str, required: bool = True) -> Any:
        if key not in raw:
            if required:
                raise self.fail(path, "missing")
            return None
        return raw[key]

    def text(self, raw: dict[str, Any], key: str, path: str) -> str:
        value = self.value(raw, key, path)
        if not isinstance(value, str):
            raise self.fail(path, f"expected a string, got {type(value).__name__}")
        if not value.strip():
            raise self.fail(path, "empty string")
        return value

    def texts(self, raw: dict[str, Any], key: str, path: str, required: bool = True) -> tuple[str, ...]:
        value = self.value(raw, key, path, required)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list of strings, got {type(value).__name__}")
        for position, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{path}[{position}]", f"expected a string, got {type(item).__name__}")
        return tuple(value)

    def paired(self, prompts: tuple[str, ...], answers: tuple[str, ...], path: str) -> PromptSet:
        if len(prompts) != len(answers):
            kept = min(len(prompts), len(answers))
            self.warn(path, f"{len(prompts)} prompts but {len(answers)} answers: the first {kept} pairs are used")
            prompts, answers = prompts[:kept], answers[:kept]
        return PromptSet(prompts, answers)


def parse_case(raw: Any, *, rule_id: str, file: str, index: int, form: CaseForm) -> tuple[RuleCase, list[LoadIssue]]:
    """Validate one raw case of ``file`` (``index`` is its position there).

    Returns the case and the warnings about repairs; raises
    :class:`~.report.RuleEditFormatError` when the case cannot be used.
    """
    reader = _CaseReader(rule_id, file, index)
    case = reader.section(raw, "", _TOP_KEYS)
    in_instance_file = form == "instance"

    case_id = reader.value(case, "case_id", "case_id")
    if not isinstance(case_id, int) or isinstance(case_id, bool):
        raise reader.fail("case_id", f"expected an integer, got {type(case_id).__name__}")
    subject = reader.text(case, "subject", "subject")
    rule_name = reader.text(case, "rule", "rule")
    prompt = reader.text(case, "prompt", "prompt")
    target_new = reader.text(case, "target_new", "target_new")
    rephrase_prompt = reader.text(case, "rephrase_prompt", "rephrase_prompt")
    ground_truth = reader.texts(case, "ground_truth", "ground_truth", required=not in_instance_file)

    understanding = reader.section(
        reader.value(case, "Rule_Understanding", "Rule_Understanding"), "Rule_Understanding", _RULE_UNDERSTANDING_KEYS
    )
    if in_instance_file:
        ru_prompts = reader.texts(understanding, "prompt", "Rule_Understanding.prompt")
        ru_targets = reader.texts(understanding, "target_new", "Rule_Understanding.target_new")
    else:
        ru_prompts = (reader.text(understanding, "prompt", "Rule_Understanding.prompt"),)
        ru_targets = (reader.text(understanding, "target_new", "Rule_Understanding.target_new"),)
        if "rephrase_prompt" in understanding:
            reader.text(understanding, "rephrase_prompt", "Rule_Understanding.rephrase_prompt")
    reader.texts(understanding, "ground_truth", "Rule_Understanding.ground_truth", required=False)
    rule_understanding = reader.paired(ru_prompts, ru_targets, "Rule_Understanding")

    instance_raw = reader.section(reader.value(case, "Instance", "Instance"), "Instance", _INSTANCE_KEYS)
    instance = reader.paired(
        reader.texts(instance_raw, "prompt", "Instance.prompt"),
        reader.texts(instance_raw, "target_new", "Instance.target_new"),
        "Instance",
    )

    locality_raw = reader.section(reader.value(case, "locality", "locality"), "locality", _LOCALITY_KEYS)
    locality: dict[str, PromptSet] = {}
    for name in ("neighborhood", "distracting"):
        path = f"locality.{name}"
        entry = reader.section(reader.value(locality_raw, name, path), path, _LOCALITY_SET_KEYS)
        locality[name] = reader.paired(
            reader.texts(entry, "prompt", f"{path}.prompt"),
            reader.texts(entry, "ground_truth", f"{path}.ground_truth"),
            path,
        )

    choice = choose_subject(subject, prompt, rule_name)
    if choice.rule != "verbatim":
        reader.warn(
            "subject",
            f"subject {subject!r} does not occur verbatim in the prompt; using {choice.subject!r} ({choice.rule})",
        )

    parsed = RuleCase(
        rule_id=rule_id,
        form=form,
        case_id=case_id,
        source=f"{file}[{index}]",
        rule_name=rule_name,
        subject=choice.subject,
        subject_as_given=subject,
        prompt=prompt,
        target_new=target_new,
        ground_truth=ground_truth,
        rephrase_prompt=rephrase_prompt,
        rule_understanding=rule_understanding,
        instance=instance,
        neighborhood=locality["neighborhood"],
        distracting=locality["distracting"],
    )
    return parsed, reader.warnings
