"""The numbers in the demo's table. Two readings of "the model now gives the new answer" exist,
and each has its own name wherever it is printed or written:

* exact match (what the benchmarks report): greedy decoding reproduces EVERY token of
  ``target_new``, 1 or 0 per prompt (read teacher-forced: every argmax along the answer is the
  answer's token);
* token accuracy (EasyEdit's ``rewrite_acc``): the share of the answer's tokens predicted
  right, teacher-forced, so a formula left unchanged can still score 0.70.

Efficacy is either after the edit prompt, generalisation after the rephrased prompt; locality
is the share of the neighbourhood prompts' answer tokens the model predicts exactly as before
the edit (token agreement, EasyEdit's definition).

The old and new answers are greedy generations of the target's length, so a reader sees what
the model says, not only a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean
from typing import Any

from ..evaluation import TargetTokens, greedy_generate, prediction_agreement, target_token_predictions
from ..evaluation.generation import generation_budget
from ..evaluation.pairs import paired


@dataclass
class Before:
    """What the unedited model said, kept to compare with after the edit."""

    answers: list[str]
    locality: list[list[tuple[int, ...]]]


@dataclass
class Row:
    """One edited request, before and after."""

    method: str
    prompt: str
    target: str
    old_answer: str
    new_answer: str
    efficacy_exact: float
    efficacy_tokens: float
    generalisation_exact: float | None
    generalisation_tokens: float | None
    locality: float | None


def _locality_pairs(request: dict[str, Any], position: int = 0) -> tuple[list[str], list[str]]:
    prompts: list[str] = []
    answers: list[str] = []
    for name, block in (request.get("locality") or {}).items():
        for prompt, answer in paired(block["prompt"], block["ground_truth"], f"request {position}, locality {name!r}"):
            prompts.append(prompt)
            answers.append(str(answer))
    return prompts, answers


def _first_sentence(text: str) -> str:
    """The answer without what the model goes on to say after it ("Rome. The city of" -> "Rome.")."""
    head, period, _ = text.strip().partition(". ")
    return head + period.strip()


def _answers(model: Any, tok: Any, requests: list[dict[str, Any]]) -> list[str]:
    budgets = [generation_budget(tok, r["target_new"], factor=1) for r in requests]
    return [_first_sentence(a) for a in greedy_generate(model, tok, [r["prompt"] for r in requests], budgets)]


def measure_before(model: Any, tok: Any, requests: list[dict[str, Any]]) -> Before:
    locality = []
    for position, request in enumerate(requests):
        prompts, answers = _locality_pairs(request, position)
        locality.append([p.predicted for p in target_token_predictions(model, tok, prompts, answers)] if prompts else [])
    return Before(_answers(model, tok, requests), locality)


def _exact(tokens: TargetTokens) -> float:
    return float(tokens.predicted == tokens.expected)


def measure_after(method: str, model: Any, tok: Any, requests: list[dict[str, Any]], before: Before) -> list[Row]:
    after_answers = _answers(model, tok, requests)
    efficacy = target_token_predictions(model, tok, [r["prompt"] for r in requests], [r["target_new"] for r in requests])
    rows = []
    for index, request in enumerate(requests):
        rephrase = request.get("rephrase_prompt")
        general = target_token_predictions(model, tok, [rephrase], [request["target_new"]])[0] if rephrase else None
        prompts, answers = _locality_pairs(request, index)
        locality = None
        if prompts:
            now = [p.predicted for p in target_token_predictions(model, tok, prompts, answers)]
            locality = fmean(prediction_agreement(b, a) for b, a in zip(before.locality[index], now))
        rows.append(Row(method, request["prompt"], request["target_new"], before.answers[index], after_answers[index],
                        _exact(efficacy[index]), efficacy[index].accuracy,
                        None if general is None else _exact(general), None if general is None else general.accuracy,
                        locality))
    return rows
