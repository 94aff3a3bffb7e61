"""Typed records of RuleEdit-200 and their conversion into EasyEdit request dictionaries.

A rule comes in three forms (formula, description, instance), one edit case each. Every case
carries its own evaluation prompts; the field names of the requests follow the DMLE authors'
runner so that per-rule results read the same as theirs (``portability.Instance`` and
``portability.Rule``, ``locality.neighborhood`` and ``locality.distracting``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CaseForm = Literal["formula", "description", "instance"]

#: What EasyEdit's own editor passes as ``ground_truth`` when a caller gives none. Instance
#: cases of RuleEdit-200 have no ground truth, so their requests carry the same placeholder.
MISSING_GROUND_TRUTH = "<|endoftext|>"


@dataclass(frozen=True)
class PromptSet:
    """Prompts and the answer expected for each, in the same order."""

    prompts: tuple[str, ...]
    answers: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.prompts) != len(self.answers):
            raise ValueError(f"{len(self.prompts)} prompts but {len(self.answers)} answers")

    def __len__(self) -> int:
        return len(self.prompts)

    def as_easyedit(self) -> dict[str, list[str]]:
        """The ``{'prompt': [...], 'ground_truth': [...]}`` shape EasyEdit evaluates."""
        return {"prompt": list(self.prompts), "ground_truth": list(self.answers)}


@dataclass(frozen=True)
class RuleCase:
    """One edit case of a rule, validated.

    ``subject`` always occurs verbatim in ``prompt`` (see :mod:`.subjects`);
    ``subject_as_given`` is the dataset's own value. ``rule_understanding.answers`` are the
    EDITED answers of the other forms, which is what Rule Understanding is graded against.
    ``rule_prompt_repeats_edit_prompt`` says, for each Rule Understanding prompt, whether it
    is word for word the edit prompt of another case of the same rule.
    """

    rule_id: str
    form: CaseForm
    case_id: int
    source: str
    rule_name: str
    subject: str
    subject_as_given: str
    prompt: str
    target_new: str
    ground_truth: tuple[str, ...]
    rephrase_prompt: str
    rule_understanding: PromptSet
    instance: PromptSet
    neighborhood: PromptSet
    distracting: PromptSet
    rule_prompt_repeats_edit_prompt: tuple[bool, ...] = ()

    def to_request(self) -> dict[str, Any]:
        """This case as an EasyEdit request dictionary.

        EasyEdit wants ``ground_truth`` as one string: it gets the first listed answer (the
        dataset lists the canonical one first), or EasyEdit's own placeholder when the case has
        none; every listed answer stays under ``ground_truth_all``.
        """
        return {
            "prompt": self.prompt,
            "target_new": self.target_new,
            "ground_truth": self.ground_truth[0] if self.ground_truth else MISSING_GROUND_TRUTH,
            "ground_truth_all": list(self.ground_truth),
            "subject": self.subject,
            "rephrase_prompt": self.rephrase_prompt,
            "locality": {
                "neighborhood": self.neighborhood.as_easyedit(),
                "distracting": self.distracting.as_easyedit(),
            },
            "portability": {
                "Instance": self.instance.as_easyedit(),
                "Rule": self.rule_understanding.as_easyedit(),
            },
            "rule_id": self.rule_id,
            "case_id": self.case_id,
            "form": self.form,
            "rule_prompt_repeats_edit_prompt": list(self.rule_prompt_repeats_edit_prompt),
        }


@dataclass(frozen=True)
class Rule:
    """A rule of the benchmark: its folder name, its name and its three cases in form order."""

    rule_id: str
    name: str
    cases: tuple[RuleCase, ...]

    def case(self, form: CaseForm) -> RuleCase:
        for case in self.cases:
            if case.form == form:
                return case
        raise KeyError(f"rule {self.rule_id} has no {form} case")

    @property
    def edit_cases(self) -> tuple[tuple[RuleCase, ...], tuple[RuleCase, ...]]:
        """The cases DMLE edits together in each stage: (formula + description, instance)."""
        return (
            tuple(c for c in self.cases if c.form != "instance"),
            tuple(c for c in self.cases if c.form == "instance"),
        )

    def requests(self) -> list[dict[str, Any]]:
        return [case.to_request() for case in self.cases]
