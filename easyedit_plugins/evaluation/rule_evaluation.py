"""Generation-based evaluation of rule edits, prompt by prompt, as the DMLE authors grade it.

For every prompt of a request the model generates greedily, with DMLE's budget: three times the
target's token count for the edit, rephrase, Instance and Rule prompts, and the gold answer's
token count for the locality prompts (DMLE generates more but keeps only that many tokens).
The answer is then taken from the generation (:func:`~.text.answer_span`) and judged:

=================  ================================  =========================================
metric             prompts                           graded against
=================  ================================  =========================================
``rewrite``        ``prompt``                        ``target_new``
``rephrase``       ``rephrase_prompt``               ``target_new``
``neighborhood``   ``locality.neighborhood.prompt``  its gold ``ground_truth``
``distracting``    ``locality.distracting.prompt``   its gold ``ground_truth``
``Instance``       ``portability.Instance.prompt``   the edited instance answers
``Rule``           ``portability.Rule.prompt``       the edited answers of the other forms
=================  ================================  =========================================

DMLE grades the whole generation with a chat model told to accept answers that *include* the
right formula or value, or, without one, by SQuAD-normalised exact match of the whole
generation (which fails whenever the model keeps talking, and cannot tell ``+`` from ``*``).
Here the answer span is judged, by default with ``auto`` (numbers, formulas and sentences each
by their own deterministic judge); ``judge_kind="squad_exact"`` on the span, or ``"llm"`` with
your own judge, are the closer stand-ins for the two DMLE modes. A built-in judge that gives up
(its time limit, ``judge_time_limit`` seconds, or a formula too large to evaluate) scores the
prompt 0 and its reason is kept in :attr:`PromptResult.judge_note`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable

from ..progress import progress_bar
from .generation import BUDGET_FACTOR, generation_budget, greedy_generate
from .judges import AUTO_JUDGE, JudgeFunction, auto_kind, verdict
from .pairs import paired, request_name
from .text import answer_span
from .verdicts import Verdict

logger = logging.getLogger(__name__)

METRICS = ("rewrite", "rephrase", "neighborhood", "distracting", "Instance", "Rule")
LOCALITY_METRICS = ("neighborhood", "distracting")
PORTABILITY_METRICS = ("Instance", "Rule")
#: Locality generations are cut to the gold answer's length, as in DMLE.
LOCALITY_BUDGET_FACTOR = 1


@dataclass(frozen=True)
class PromptResult:
    """The verdict on one evaluation prompt of one case.

    ``index`` is the prompt's position in its list (0 for ``rewrite``/``rephrase``); ``judge``
    is the judge that decided (``auto`` resolved to the kind it chose); ``repeats_edit_prompt``
    is set for Rule prompts that are word for word another case's edit prompt; ``judge_note``
    says why the judge gave up (time limit, too large to evaluate), None when it decided.
    """

    rule_id: str
    case_id: int
    form: str
    metric: str
    index: int
    prompt: str
    target: str
    generation: str
    answer: str
    judge: str
    correct: bool
    repeats_edit_prompt: bool = False
    judge_note: str | None = None


@dataclass(frozen=True)
class _Item:
    request: int
    metric: str
    index: int
    prompt: str
    target: str
    repeats_edit_prompt: bool


def _items(position: int, request: dict[str, Any]) -> list[_Item]:
    items = [_Item(position, "rewrite", 0, request["prompt"], request["target_new"], False)]
    if request.get("rephrase_prompt"):
        items.append(_Item(position, "rephrase", 0, request["rephrase_prompt"], request["target_new"], False))
    sections = [(m, request.get("locality", {}).get(m)) for m in LOCALITY_METRICS]
    sections += [(m, request.get("portability", {}).get(m)) for m in PORTABILITY_METRICS]
    repeats = list(request.get("rule_prompt_repeats_edit_prompt", []))
    for metric, section in sections:
        if not section:
            continue
        where = f"{request_name(position, request)} ({request.get('form', '')}), {metric!r}"
        for index, (prompt, target) in enumerate(paired(section["prompt"], section["ground_truth"], where)):
            repeated = metric == "Rule" and index < len(repeats) and bool(repeats[index])
            items.append(_Item(position, metric, index, prompt, target, repeated))
    return items


def evaluate_requests(
    model: Any,
    tok: Any,
    requests: Iterable[dict[str, Any]],
    *,
    judge_kind: str = AUTO_JUDGE,
    batch_size: int = 8,
    show_progress: bool = True,
    judge_function: JudgeFunction | None = None,
    judge_time_limit: float | None = None,
) -> list[PromptResult]:
    """Generate for and judge every evaluation prompt of ``requests`` (RuleEdit requests as
    :mod:`easyedit_plugins.data` builds them: they carry ``rule_id``, ``case_id`` and
    ``form``). Returns one result per prompt, request by request.

    ``judge_function`` is the judge named ``judge_kind`` as the caller found it (the runner
    passes the plugin registry's, so a plugin's judge works); it returns a bool or a
    :class:`~.verdicts.Verdict` (the built-in judges do, with the reason when they gave up).
    Without it the judge is :func:`~.judges.verdict` of that kind, and ``judge_time_limit`` is
    the seconds each judgement may take (None: :func:`~.judges.judge_time_limit`)."""
    requests = list(requests)
    items = [item for position, request in enumerate(requests) for item in _items(position, request)]
    factors = [LOCALITY_BUDGET_FACTOR if item.metric in LOCALITY_METRICS else BUDGET_FACTOR for item in items]
    budgets = [generation_budget(tok, item.target, factor) for item, factor in zip(items, factors)]
    generations: list[str] = []
    with progress_bar(total=len(items), desc="Generating", unit="prompt", disable=not show_progress) as progress:
        for start in range(0, len(items), batch_size):
            stop = start + batch_size
            generations += greedy_generate(
                model, tok, [item.prompt for item in items[start:stop]], budgets[start:stop], batch_size=batch_size
            )
            progress.update(len(items[start:stop]))
    results = []
    for item, generation in zip(items, generations):
        request = requests[item.request]
        answer = answer_span(generation)
        used = auto_kind(item.target) if judge_kind == AUTO_JUDGE else judge_kind
        if judge_function is None:
            decided = verdict(used, answer, item.target, question=item.prompt, time_limit=judge_time_limit)
        else:
            outcome = judge_function(answer, item.target, question=item.prompt)
            decided = outcome if isinstance(outcome, Verdict) else Verdict(bool(outcome))
        results.append(
            PromptResult(
                rule_id=str(request["rule_id"]),
                case_id=int(request["case_id"]),
                form=str(request["form"]),
                metric=item.metric,
                index=item.index,
                prompt=item.prompt,
                target=item.target,
                generation=generation,
                answer=answer,
                judge=used,
                correct=decided.correct,
                repeats_edit_prompt=item.repeats_edit_prompt,
                judge_note=decided.reason,
            )
        )
    logger.info("judged %d prompts of %d requests", len(results), len(requests))
    return results
