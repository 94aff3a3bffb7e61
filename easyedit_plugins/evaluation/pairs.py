"""Pairing evaluation prompts with their expected answers, refusing lists of unequal length.

``zip(prompts, answers)`` stops at the shorter list, so a locality block with three prompts and
two answers used to lose its third prompt without a word, and the score was computed on fewer
prompts than the data holds. Every evaluation pairs through :func:`paired` instead; a mismatch
is an :class:`UnpairedPromptsError` naming the request and the block.
"""

from __future__ import annotations

from typing import Sequence


class UnpairedPromptsError(ValueError):
    """An evaluation block has a different number of prompts and answers."""


def as_list(value: str | Sequence[str]) -> list[str]:
    """A single prompt or answer as a one-element list; lists as they are."""
    return [value] if isinstance(value, str) else list(value)


def paired(prompts: str | Sequence[str], answers: str | Sequence[str], where: str,
           answer_key: str = "ground_truth") -> list[tuple[str, str]]:
    """``(prompt, answer)`` pairs of one block; ``where`` names the request and block in the error."""
    prompt_list, answer_list = as_list(prompts), as_list(answers)
    if len(prompt_list) != len(answer_list):
        raise UnpairedPromptsError(
            f"{where}: {len(prompt_list)} prompts but {len(answer_list)} {answer_key} entries; "
            "every prompt needs exactly one answer"
        )
    return list(zip(prompt_list, answer_list))


def request_name(position: int, request: dict) -> str:
    """``rule 7, case 1`` for RuleEdit requests, ``request 3`` otherwise."""
    if "rule_id" in request and "case_id" in request:
        return f"rule {request['rule_id']}, case {request['case_id']}"
    return f"request {position}"
