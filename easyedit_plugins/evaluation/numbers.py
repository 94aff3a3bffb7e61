"""Reading the final number of an answer, for the numeric judge.

Instance answers of RuleEdit-200 look like ``"49"``, ``"A = 7 + 12 = 19"``,
``"d^2 = (5 + 4)^2 = 81."``, ``"C = π * 14 ^ 2 = 196π"`` or ``"-0.5"``: what matters is the
value at the end. Recognised forms of a number:

* integers and decimals, with thousands separators (``1,000``, ``12,345.5``; a comma is only a
  separator before exactly three digits, so ``1,2`` is two numbers);
* a minus sign: ``-3`` written against its digits is negative unless it is glued to an
  operand (``5-3``, ``x-3``); ``- 3`` with a space is negative only after an operator or at
  the start: ``x = -3``, ``the answer is -3``, ``(- 3`` are negative, ``5 - 3`` ends in ``3``;
* scientific notation ``2.5e-3``, ``3 × 10^8``, ``3 * 10^8``, ``3x10^8``;
* a fraction of two plain numbers, ``3/4`` (value 0.75);
* a multiple of π, ``196π``, ``2 pi`` and a bare ``π``.

Two values are equal when they agree to a relative tolerance of 1e-6 (absolute 1e-9 near
zero): ``3`` equals ``3.0`` and ``3/4`` equals ``0.75``, but ``615.75`` does not equal ``196π``
(a rounded value is not the exact answer).
"""

from __future__ import annotations

import math
import re

RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_TOLERANCE = 1e-9

_UNSIGNED = r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
_QUANTITY = re.compile(
    rf"""
    (?P<sign>[-−]\s?)?
    (?:
        (?P<mantissa>{_UNSIGNED})\s*(?:[×xX*]|\\times)\s*10\s*(?:\^|\*\*)\s*\(?(?P<power>[-−]?\d+)\)?
      | (?P<numerator>{_UNSIGNED})\s*/\s*(?P<denominator>{_UNSIGNED})(?![\d.]|\s*[\^*])
      | (?P<number>{_UNSIGNED}(?:[eE][-+]?\d+)?)(?P<pi>\s*(?:π|(?<![A-Za-z])pi(?![A-Za-z])))?
      | (?P<bare_pi>π|(?<![A-Za-z])pi(?![A-Za-z]))
    )
    """,
    re.VERBOSE,
)
_BINARY_CONTEXT = re.compile(r"[\w).\]]")


def _to_float(text: str) -> float:
    return float(text.replace(",", "").replace("−", "-"))


def _is_negative(text: str, match: re.Match[str]) -> bool:
    sign = match.group("sign")
    if not sign:
        return False
    before = text[: match.start()]
    if sign == sign.rstrip():  # "-3": a minus sign unless glued to an operand, as in "5-3"
        return not (before and _BINARY_CONTEXT.match(before[-1]))
    before = before.rstrip()  # "- 3": a minus sign only after an operator or at the start
    return not (before and _BINARY_CONTEXT.match(before[-1]))


def _value(match: re.Match[str]) -> float:
    if match.group("mantissa") is not None:
        return _to_float(match.group("mantissa")) * 10.0 ** int(match.group("power").replace("−", "-"))
    if match.group("numerator") is not None:
        denominator = _to_float(match.group("denominator"))
        return math.inf if denominator == 0 else _to_float(match.group("numerator")) / denominator
    if match.group("number") is not None:
        value = _to_float(match.group("number"))
        return value * math.pi if match.group("pi") else value
    return math.pi


def final_number(text: str) -> float | None:
    """The value of the last number in ``text`` (forms in the module docstring), or None."""
    last: re.Match[str] | None = None
    for match in _QUANTITY.finditer(text):
        if match.start() > 0 and (text[match.start() - 1].isalnum() or text[match.start() - 1] in "_."):
            if not match.group("sign"):
                continue  # digits inside a name such as x2 or v0, or a decimal's tail
        last = match
    if last is None:
        return None
    value = _value(last)
    return -value if _is_negative(text, last) else value


def is_number(text: str) -> bool:
    """True when ``text`` is one quantity and nothing else (trailing period allowed)."""
    return _QUANTITY.fullmatch(text.strip().rstrip(".").strip()) is not None


def numbers_equal(a: float, b: float) -> bool:
    """Equal within the module's tolerances (relative 1e-6, absolute 1e-9)."""
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


def numeric_judge(prediction: str, target: str) -> bool:
    """True when the final number of ``prediction`` equals the final number of ``target``."""
    expected = final_number(target)
    found = final_number(prediction)
    return expected is not None and found is not None and numbers_equal(found, expected)
