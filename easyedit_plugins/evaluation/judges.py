"""Judges: does a model's answer match the expected one? Offline and deterministic.

``judge(kind, prediction, target)`` with ``kind``:

* ``exact``: equal after :func:`~.text.normalise` (case, whitespace, surrounding quotes,
  trailing punctuation);
* ``numeric``: the final numbers are equal (:mod:`.numbers`: ``"d^2 = (5 + 4)^2 = 81."``
  matches ``"81"``; relative tolerance 1e-6);
* ``symbolic``: the formulas are algebraically the same (:mod:`.formulas`);
* ``squad_exact``: SQuAD-normalised equality, the offline fallback of EasyEdit's and DMLE's
  generation metrics, for reproducing their numbers (it cannot tell ``+`` from ``*``);
* ``auto``: picks one of the first three from the target (:func:`auto_kind`), the default of
  the rule-level metrics, since RuleEdit-200 mixes numbers, formulas and sentences;
* ``llm``: a user-supplied judge (:func:`set_llm_judge`), for people who grade with a chat
  model as the DMLE authors did. None is configured by default and nothing calls it unless
  asked.

Further kinds can be added with :func:`register_judge`. A judge function takes
``(prediction, target, question)``; ``question`` (the prompt) may be None.
"""

from __future__ import annotations

import logging
from typing import Callable

from .formulas import formulas_equivalent, is_formula
from .numbers import is_number, numeric_judge
from .text import normalise, squad_normalise

logger = logging.getLogger(__name__)

JudgeFunction = Callable[[str, str, "str | None"], bool]

LLM_JUDGE = "llm"
AUTO_JUDGE = "auto"


class JudgeNotConfiguredError(LookupError):
    """The judge kind is unknown, or it is ``llm`` and no LLM judge has been set."""


def auto_kind(target: str) -> str:
    """The judge ``auto`` uses for ``target``.

    ``numeric`` when the target ends in a plain quantity after its last ``=`` (``"49"``,
    ``"A = 7 + 12 = 19."``, ``"196π"``); else ``symbolic`` when it is a formula (``"A = x + y."``,
    ``"n + m."``); else ``exact`` (sentences, ``"True"``, matrices).
    """
    if is_number(target.split("=")[-1]):
        return "numeric"
    if is_formula(target):
        return "symbolic"
    return "exact"


def _exact(prediction: str, target: str, question: str | None = None) -> bool:
    return normalise(prediction) == normalise(target)


def _squad_exact(prediction: str, target: str, question: str | None = None) -> bool:
    return squad_normalise(prediction) == squad_normalise(target)


def _numeric(prediction: str, target: str, question: str | None = None) -> bool:
    return numeric_judge(prediction, target)


def _symbolic(prediction: str, target: str, question: str | None = None) -> bool:
    return formulas_equivalent(prediction, target)


def _auto(prediction: str, target: str, question: str | None = None) -> bool:
    return _BUILTIN[auto_kind(target)](prediction, target, question)


_BUILTIN: dict[str, JudgeFunction] = {
    "exact": _exact,
    "numeric": _numeric,
    "symbolic": _symbolic,
    "squad_exact": _squad_exact,
    AUTO_JUDGE: _auto,
}
_registered: dict[str, JudgeFunction] = {}


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


def judge(kind: str, prediction: str, target: str, *, question: str | None = None) -> bool:
    """Whether ``prediction`` answers like ``target``, by the judge ``kind`` (module docstring)."""
    function = _BUILTIN.get(kind) or _registered.get(kind)
    if function is None:
        if kind == LLM_JUDGE:
            raise JudgeNotConfiguredError(
                "no LLM judge is set: call easyedit_plugins.evaluation.set_llm_judge(fn) with "
                "fn(prediction, target, question) -> bool"
            )
        raise JudgeNotConfiguredError(f"unknown judge {kind!r}; available: {', '.join(judge_kinds())}")
    return bool(function(prediction, target, question))
