"""Judges: does a model's answer match the expected one? Offline and deterministic.

``judge(kind, prediction, target)`` with ``kind``:

* ``exact``: equal after :func:`~.text.normalise` (case, whitespace, surrounding quotes,
  trailing punctuation);
* ``numeric``: the final numbers are equal (:mod:`.numbers`: ``"d^2 = (5 + 4)^2 = 81."``
  matches ``"81"``; relative tolerance 1e-6);
* ``symbolic``: the formulas are algebraically the same (:mod:`.formulas`: parsed by the
  package's own grammar, never by ``eval`` or ``sympify``, and compared exactly at random
  rational points; which LaTeX is understood is listed there);
* ``squad_exact``: SQuAD-normalised equality, the offline fallback of EasyEdit's and DMLE's
  generation metrics, for reproducing their numbers (it cannot tell ``+`` from ``*``);
* ``auto``: picks one of the first three from the target (:func:`auto_kind`), the default of
  the rule-level metrics, since RuleEdit-200 mixes numbers, formulas and sentences;
* ``llm``: a user-supplied judge (:func:`set_llm_judge`), for people who grade with a chat
  model as the DMLE authors did. None is configured by default and nothing calls it unless
  asked.

Further kinds can be added with :func:`register_judge`. A judge function takes
``(prediction, target, question)``; ``question`` (the prompt) may be None.

Every built-in judgement answers True or False for any ``str`` input and never raises for one;
:func:`verdict` gives the answer together with the reason when the judge gave up (then the
answer is False). Built-in judgements have a time limit, :data:`DEFAULT_TIME_LIMIT` (2 s) unless
:func:`set_judge_time_limit` or the ``time_limit`` argument of :func:`judge` / :func:`verdict`
says otherwise; past it the answer is False with the reason ``time limit of 2 s reached``. The
symbolic judge checks it between steps that its size guards bound (one node at one point), so
it works on any thread and leaves nothing running; the exact and numeric judges are linear in
their input and finish far inside it. In practice the guards keep judgements to milliseconds
and the limit is a backstop. Registered judges (``llm`` included) are called as they are,
without a limit. A prediction, target or question that is not a ``str`` (``question`` may be
None) is a TypeError naming the argument.
"""

from __future__ import annotations

import logging
import math
from typing import Callable

from .formulas import formula_verdict, is_formula
from .numbers import is_number, numeric_verdict
from .text import normalise, squad_normalise
from .verdicts import Deadline, TimeLimitExceeded, Verdict, require_text

logger = logging.getLogger(__name__)

JudgeFunction = Callable[[str, str, "str | None"], bool]
_BuiltinJudge = Callable[[str, str, Deadline], Verdict]

LLM_JUDGE = "llm"
AUTO_JUDGE = "auto"
#: Seconds a built-in judgement may take before it answers False.
DEFAULT_TIME_LIMIT = 2.0
_time_limit = DEFAULT_TIME_LIMIT


class JudgeNotConfiguredError(LookupError):
    """The judge kind is unknown, or it is ``llm`` and no LLM judge has been set."""


def auto_kind(target: str) -> str:
    """The judge ``auto`` uses for ``target``.

    ``numeric`` when the target ends in a plain quantity after its last ``=`` (``"49"``,
    ``"A = 7 + 12 = 19."``, ``"196π"``); else ``symbolic`` when it is a formula (``"A = x + y."``,
    ``"n + m."``); else ``exact`` (sentences, ``"True"``, matrices).
    """
    require_text(target, "target")
    if is_number(target.split("=")[-1]):
        return "numeric"
    if is_formula(target):
        return "symbolic"
    return "exact"


def _exact(prediction: str, target: str, deadline: Deadline) -> Verdict:
    return Verdict(normalise(prediction) == normalise(target))


def _squad_exact(prediction: str, target: str, deadline: Deadline) -> Verdict:
    return Verdict(squad_normalise(prediction) == squad_normalise(target))


def _numeric(prediction: str, target: str, deadline: Deadline) -> Verdict:
    return numeric_verdict(prediction, target)


def _auto(prediction: str, target: str, deadline: Deadline) -> Verdict:
    return _BUILTIN[auto_kind(target)](prediction, target, deadline)


_BUILTIN: dict[str, _BuiltinJudge] = {
    "exact": _exact,
    "numeric": _numeric,
    "symbolic": formula_verdict,
    "squad_exact": _squad_exact,
    AUTO_JUDGE: _auto,
}
_registered: dict[str, JudgeFunction] = {}
#: The judges :func:`verdict` answers itself (the LLM judge through :func:`set_llm_judge`):
#: called by kind, they keep their time limit and say why they gave up.
PACKAGE_JUDGES = frozenset({*_BUILTIN, LLM_JUDGE})


def register_judge(name: str, function: JudgeFunction, *, replace: bool = False) -> None:
    """Make ``function`` available as ``judge(name, ...)``. Built-in kinds cannot be replaced;
    a registered one only with ``replace=True``."""
    if name in _BUILTIN:
        raise ValueError(f"{name!r} is a built-in judge and cannot be replaced")
    if name in _registered and not replace:
        raise ValueError(f"a judge {name!r} is already registered (pass replace=True)")
    _registered[name] = function
    logger.debug("registered judge %r", name)


def unregister_judge(name: str) -> None:
    """Remove a registered judge (built-in kinds stay); unknown names are ignored."""
    _registered.pop(name, None)


def set_llm_judge(function: JudgeFunction | None) -> None:
    """Set (or with None, remove) the callable behind ``judge('llm', ...)``.

    It receives ``(prediction, target, question)`` and returns whether the prediction is
    correct; calling a model or an API is up to it. Nothing in the package calls it unless
    ``llm`` is asked for.
    """
    if function is None:
        unregister_judge(LLM_JUDGE)
    else:
        register_judge(LLM_JUDGE, function, replace=True)


def judge_kinds() -> list[str]:
    """The kinds ``judge`` accepts now (``llm`` only once it is set)."""
    return sorted(set(_BUILTIN) | set(_registered))


def _seconds(seconds: object) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < math.inf:
        raise ValueError(f"the judge time limit must be a positive number of seconds, got {seconds!r}")
    return float(seconds)


def set_judge_time_limit(seconds: float | None) -> None:
    """Set the time limit of every later built-in judgement, in seconds (None: back to
    :data:`DEFAULT_TIME_LIMIT`)."""
    global _time_limit
    _time_limit = DEFAULT_TIME_LIMIT if seconds is None else _seconds(seconds)


def judge_time_limit() -> float:
    """The time limit of built-in judgements now, in seconds."""
    return _time_limit


def verdict(
    kind: str, prediction: str, target: str, *, question: str | None = None, time_limit: float | None = None
) -> Verdict:
    """The judgement of ``prediction`` against ``target`` by the judge ``kind`` (module
    docstring), with the reason when a built-in judge gave up. ``time_limit`` (seconds)
    overrides the one :func:`set_judge_time_limit` set for this call."""
    require_text(prediction, "prediction")
    require_text(target, "target")
    if question is not None:
        require_text(question, "question")
    builtin = _BUILTIN.get(kind)
    if builtin is None:
        function = _registered.get(kind)
        if function is None:
            if kind == LLM_JUDGE:
                raise JudgeNotConfiguredError(
                    "no LLM judge is set: call easyedit_plugins.evaluation.set_llm_judge(fn) with "
                    "fn(prediction, target, question) -> bool"
                )
            raise JudgeNotConfiguredError(f"unknown judge {kind!r}; available: {', '.join(judge_kinds())}")
        return Verdict(bool(function(prediction, target, question)))
    seconds = _time_limit if time_limit is None else _seconds(time_limit)
    try:
        return builtin(prediction, target, Deadline(seconds))
    except TimeLimitExceeded as error:
        logger.warning("judge %r gave up on %.80r against %.80r: %s", kind, prediction, target, error)
        return Verdict(False, str(error))
    except Exception as error:  # a bug must cost one prompt's score, not the run; it is logged
        logger.error("judge %r failed on %.80r against %.80r", kind, prediction, target, exc_info=True)
        return Verdict(False, f"judge error: {type(error).__name__}: {error}")


def judge(
    kind: str, prediction: str, target: str, *, question: str | None = None, time_limit: float | None = None
) -> bool:
    """Whether ``prediction`` answers like ``target``, by the judge ``kind`` (module docstring)."""
    return verdict(kind, prediction, target, question=question, time_limit=time_limit).correct
