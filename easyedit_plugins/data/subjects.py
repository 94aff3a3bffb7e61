"""Choosing a subject that occurs in the prompt, as every locate-then-edit method needs.

ROME, MEMIT and their descendants read keys at the subject's last token, and EasyEdit's request
builder asserts ``subject in prompt``. A few RuleEdit-200 cases break that (rule 165 writes
"Determinant" in the subject and "determinant" in the prompt; the instance case of rule 186
names "charge" while its prompt speaks of a capacitor). The rule below picks, in order:

1. the subject itself, when it occurs verbatim;
2. the prompt's own spelling of it, when it occurs ignoring case;
3. the longest run of consecutive words of the subject, then of the rule's name, that occurs in
   the prompt (ignoring case, on word boundaries, not made only of function words such as
   "a" or "of"), in the prompt's spelling; ties go to the earliest in the prompt;
4. the prompt's last word, without trailing punctuation.

Only rule 1 is silent: the loader reports every other outcome as a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SubjectRule = Literal["verbatim", "case-insensitive", "subject words", "rule-name words", "last word"]

#: Words that never make a subject on their own (rule 3).
FUNCTION_WORDS = frozenset(
    "a an the of in on at to for by with and or is are as from into its their this that".split()
)

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_TRAILING_PUNCTUATION = ".,;:!?\"'()[]{}"


@dataclass(frozen=True)
class SubjectChoice:
    """The subject to use and which step of the rule chose it."""

    subject: str
    rule: SubjectRule


def _word_runs(words: list[str]) -> list[list[str]]:
    runs = [words[i:j] for i in range(len(words)) for j in range(i + 1, len(words) + 1)]
    return [run for run in runs if any(w.lower() not in FUNCTION_WORDS for w in run)]


def _longest_run_in_prompt(phrase: str, prompt: str) -> str | None:
    best: tuple[int, int, str] | None = None  # (-length, position, matched text)
    for run in _word_runs(_WORD.findall(phrase)):
        pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in run) + r"(?!\w)"
        match = re.search(pattern, prompt, flags=re.IGNORECASE)
        if match is None:
            continue
        candidate = (-len(match.group(0)), match.start(), match.group(0))
        if best is None or candidate < best:
            best = candidate
    return best[2] if best is not None else None


def _last_word(prompt: str) -> str:
    words = prompt.split()
    for word in reversed(words):
        stripped = word.strip(_TRAILING_PUNCTUATION)
        if stripped:
            return stripped
    return words[-1] if words else prompt


def choose_subject(subject: str, prompt: str, rule_name: str = "") -> SubjectChoice:
    """The subject to edit with for ``prompt`` (see the module docstring for the rule).

    The result always satisfies ``choice.subject in prompt`` for a non-empty prompt.
    """
    if subject and subject in prompt:
        return SubjectChoice(subject, "verbatim")
    if subject:
        match = re.search(re.escape(subject), prompt, flags=re.IGNORECASE)
        if match is not None:
            return SubjectChoice(match.group(0), "case-insensitive")
    words_of_subject = _longest_run_in_prompt(subject, prompt)
    if words_of_subject is not None:
        return SubjectChoice(words_of_subject, "subject words")
    words_of_rule = _longest_run_in_prompt(rule_name, prompt)
    if words_of_rule is not None:
        return SubjectChoice(words_of_rule, "rule-name words")
    return SubjectChoice(_last_word(prompt), "last word")
