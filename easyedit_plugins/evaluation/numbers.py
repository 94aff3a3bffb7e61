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

Values are exact fractions (π is a 60-digit fraction), so no magnitude overflows: ``3 × 10^400``
is a number like any other and ``1e999`` differs from ``1e998``. Two values are equal when they
agree to a relative tolerance of 1e-6 (absolute 1e-9 near zero), computed exactly: ``3`` equals
``3.0`` and ``3/4`` equals ``0.75``, but ``615.75`` does not equal ``196π`` (a rounded value is
not the exact answer). A power of ten beyond ±:data:`MAX_DECIMAL_EXPONENT` is out of range:
the judge answers False and says so. A fraction with a zero denominator has no value.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .verdicts import Verdict, require_text

RELATIVE_TOLERANCE = Fraction(1, 10**6)
ABSOLUTE_TOLERANCE = Fraction(1, 10**9)
MAX_DECIMAL_EXPONENT = 10_000
MAX_DIGITS = 4000  # below Python's limit on converting digit strings to int
PI = Fraction("3.14159265358979323846264338327950288419716939937510582097494459")

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


class _OutOfRange(ValueError):
    """A power of ten beyond ±MAX_DECIMAL_EXPONENT, or more than MAX_DIGITS digits."""


def _power_of_ten(exponent: str) -> Fraction:
    exponent = exponent.replace("−", "-")
    if len(exponent) > 8 or abs(int(exponent)) > MAX_DECIMAL_EXPONENT:
        raise _OutOfRange(f"10^{exponent[:20]} is beyond 10^±{MAX_DECIMAL_EXPONENT}")
    return Fraction(10) ** int(exponent)


def _exact(text: str) -> Fraction:
    mantissa, _, exponent = text.replace(",", "").lower().partition("e")
    if len(mantissa) > MAX_DIGITS:
        raise _OutOfRange(f"a number of more than {MAX_DIGITS} digits")
    return Fraction(mantissa) * (_power_of_ten(exponent) if exponent else 1)


def _is_negative(text: str, match: re.Match[str]) -> bool:
    sign = match.group("sign")
    if not sign:
        return False
    before = text[: match.start()]
    if sign == sign.rstrip():  # "-3": a minus sign unless glued to an operand, as in "5-3"
        return not (before and _BINARY_CONTEXT.match(before[-1]))
    before = before.rstrip()  # "- 3": a minus sign only after an operator or at the start
    return not (before and _BINARY_CONTEXT.match(before[-1]))


def _value(match: re.Match[str]) -> Fraction | None:
    if match.group("mantissa") is not None:
        return _exact(match.group("mantissa")) * _power_of_ten(match.group("power"))
    if match.group("numerator") is not None:
        denominator = _exact(match.group("denominator"))
        return None if denominator == 0 else _exact(match.group("numerator")) / denominator
    if match.group("number") is not None:
        value = _exact(match.group("number"))
        return value * PI if match.group("pi") else value
    return PI


def _final_value(text: str) -> Fraction | None:
    last: re.Match[str] | None = None
    for match in _QUANTITY.finditer(text):
        if match.start() > 0 and (text[match.start() - 1].isalnum() or text[match.start() - 1] in "_."):
            if not match.group("sign"):
                continue  # digits inside a name such as x2 or v0, or a decimal's tail
        last = match
    if last is None:
        return None
    value = _value(last)
    return -value if value is not None and _is_negative(text, last) else value


def final_number(text: str) -> Fraction | None:
    """The exact value of the last number in ``text`` (forms in the module docstring), or None
    (also when it is out of range)."""
    try:
        return _final_value(require_text(text, "text"))
    except _OutOfRange:
        return None


def is_number(text: str) -> bool:
    """True when ``text`` is one quantity and nothing else (trailing period allowed)."""
    return _QUANTITY.fullmatch(require_text(text, "text").strip().rstrip(".").strip()) is not None


def numbers_equal(a: Fraction, b: Fraction) -> bool:
    """Equal within the module's tolerances (relative 1e-6, absolute 1e-9), computed exactly."""
    return abs(a - b) <= max(RELATIVE_TOLERANCE * max(abs(a), abs(b)), ABSOLUTE_TOLERANCE)


def numeric_verdict(prediction: str, target: str) -> Verdict:
    """Whether the final number of ``prediction`` equals the final number of ``target``, with
    the reason when a number is out of range."""
    require_text(prediction, "prediction")
    require_text(target, "target")
    try:
        expected, found = _final_value(target), _final_value(prediction)
    except _OutOfRange as error:
        return Verdict(False, str(error))
    return Verdict(expected is not None and found is not None and numbers_equal(found, expected))


def numeric_judge(prediction: str, target: str) -> bool:
    """True when the final number of ``prediction`` equals the final number of ``target``."""
    return numeric_verdict(prediction, target).correct
