"""Deciding whether two formula trees are the same function, by evaluating them at points.

Every variable is drawn from [0.5, 2.5] as an exact rational (denominator 2^22: the rules'
lengths and masses are positive), from a fixed seed, so judgements are deterministic. Both
trees are evaluated at :data:`SAMPLE_POINTS` such points:

* Exactly, with :class:`fractions.Fraction`, as long as only ``+ - * /``, integer powers,
  ``abs`` and square roots of perfect squares occur. Two rational functions are then equal at
  a point only if they agree exactly, so ``(x+y+z+w)^60`` never equals ``(x+y+z+w)^60 + 1``;
  and by the Schwartz-Zippel lemma, two different rational functions of degree at most 1000
  each (numerator plus denominator, the guard of :mod:`.formula_syntax`) agree at a random
  point of this grid with probability below 2000 / 2^23, at all of them practically never.
* Otherwise (``pi``, ``sin``, ``exp``, ``log``, non-integer or symbolic powers) with mpmath,
  first at 128 bits to find the largest magnitude of any intermediate value, then again with
  200 bits plus twice that magnitude, so that rounding stays far below the tolerance: the
  values must agree to 2^-160 (about 1e-48) absolutely, or relative to the largest
  intermediate when every value is below 1. So a difference of 1 is seen however large the
  values are. Complex values (``sqrt(-x)``, ``log(-x)``) are compared as such.

A point where either side divides by zero, leaves a function's domain or exceeds
:data:`MAX_MAGNITUDE_BITS` (``exp(exp(exp(x)))``) is skipped; the formulas are equivalent when
they agree at every other point and at least :data:`MIN_COMPARED_POINTS` were compared.
Undefined functions (``f(x)``) take a fixed pseudo-random rational value per name and argument
(arguments computed approximately are rounded to 30 digits first), so ``f(x) + f(y)`` equals
``f(y) + f(x)`` and ``f(x)`` differs from ``g(x)`` and from ``f(2x)``.
"""

from __future__ import annotations

import hashlib
import math
import operator
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Union

from mpmath.ctx_mp import MPContext

from .formula_syntax import MAX_EXACT_BITS, PI, Call, Inverse, Name, Negative, Node, Number, Power, Sum
from .verdicts import Deadline

SAMPLE_POINTS = 6
MIN_COMPARED_POINTS = 3
SAMPLE_SEED = 1729
POINT_DENOMINATOR = 1 << 22
FIRST_PASS_BITS = 128
EXTRA_BITS = 200
TOLERANCE_BITS = 160
#: Magnitude in bits (2^1000 is about 1e301) above which an approximate value is not evaluated;
#: it also bounds the second pass's precision to 2200 bits.
MAX_MAGNITUDE_BITS = 1000
#: sin, cos and tan of arguments above this are not evaluated (argument reduction costs).
MAX_TRIGONOMETRIC_ARGUMENT = 1 << 40

Value = Union[Fraction, Any]  # Fraction, or an mpmath mpf / mpc


class Undefined(Exception):
    """A formula has no value at this point (division by zero, outside a domain)."""


class TooLarge(Exception):
    """A value at this point is beyond :data:`MAX_MAGNITUDE_BITS`."""


@dataclass(frozen=True)
class Comparison:
    """The outcome at the sample points: ``equal``, and how many points were ``compared`` or
    skipped because a value was ``too_large``."""

    equal: bool
    compared: int
    too_large: int


def _perfect_square_root(value: Fraction) -> Fraction | None:
    if value < 0:
        return None
    numerator, denominator = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if numerator * numerator == value.numerator and denominator * denominator == value.denominator:
        return Fraction(numerator, denominator)
    return None


class _Evaluator:
    """Values of trees at one point, with one mpmath context at one precision."""

    def __init__(self, point: dict[str, Fraction], context: MPContext, deadline: Deadline) -> None:
        self.point = point
        self.mp = context
        self.deadline = deadline
        self.magnitude = -math.inf  # largest magnitude (bits) of an approximate value so far
        self._functions: dict[str, Callable[[Any], Any]] = {
            "exp": self._exp, "log": self._log, "ln": self._log,
            "sin": self._trigonometric(context.sin), "cos": self._trigonometric(context.cos),
            "tan": self._trigonometric(context.tan), "cot": self._trigonometric(context.cot),
            "sec": self._trigonometric(context.sec), "csc": self._trigonometric(context.csc),
            "asin": context.asin, "arcsin": context.asin, "acos": context.acos, "arccos": context.acos,
            "atan": context.atan, "arctan": context.atan,
            "sinh": self._exponential(context.sinh), "cosh": self._exponential(context.cosh),
            "tanh": context.tanh, "sqrt": context.sqrt,
        }

    def _approximate(self, value: Value) -> Any:
        if isinstance(value, Fraction):
            return self.mp.mpf(value.numerator) / value.denominator
        return value

    def _checked(self, value: Any) -> Any:
        """``value`` (approximate), after the magnitude guard."""
        if not self.mp.isfinite(value):
            raise Undefined("not finite")
        if value != 0:
            magnitude = self.mp.mag(value)
            if magnitude > MAX_MAGNITUDE_BITS:
                raise TooLarge(f"a value above 2^{MAX_MAGNITUDE_BITS}")
            self.magnitude = max(self.magnitude, magnitude)
        return value

    def _exp(self, argument: Any) -> Any:
        if self.mp.re(argument) > MAX_MAGNITUDE_BITS:
            raise TooLarge(f"exp of {self.mp.nstr(self.mp.re(argument), 5)}")
        return self.mp.exp(argument)

    def _exponential(self, function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def guarded(argument: Any) -> Any:
            if abs(self.mp.re(argument)) > MAX_MAGNITUDE_BITS:
                raise TooLarge("hyperbolic function of a large argument")
            return function(argument)
        return guarded

    def _trigonometric(self, function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def guarded(argument: Any) -> Any:
            if abs(argument) > MAX_TRIGONOMETRIC_ARGUMENT:
                raise TooLarge("trigonometric function of a large argument")
            return function(argument)
        return guarded

    def _log(self, argument: Any) -> Any:
        if argument == 0:
            raise Undefined("log(0)")
        return self.mp.log(argument)

    def value(self, node: Node) -> Value:
        self.deadline.check()
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Name):
            return self._checked(+self.mp.pi) if node.name == PI else self.point[node.name]
        if isinstance(node, Negative):
            return -self.value(node.operand)
        if isinstance(node, Inverse):
            return self._arithmetic(operator.truediv, Fraction(1), self.value(node.operand))
        if isinstance(node, Call):
            return self._call(node.function, self.value(node.argument))
        if isinstance(node, Power):
            return self._power(self.value(node.base), self.value(node.exponent))
        combine = operator.add if isinstance(node, Sum) else operator.mul
        values = iter(node.terms if isinstance(node, Sum) else node.factors)
        total = self.value(next(values))
        for child in values:
            total = self._arithmetic(combine, total, self.value(child))
        return total

    def _call(self, function: str, argument: Value) -> Value:
        if isinstance(argument, Fraction):
            if function == "abs":
                return abs(argument)
            if function == "sqrt" and (root := _perfect_square_root(argument)) is not None:
                return root
        if function == "abs":
            return self._checked(abs(argument))
        if function not in self._functions:
            return _undefined_function_value(function, argument, self.mp)
        try:
            return self._checked(self._functions[function](self._approximate(argument)))
        except (ArithmeticError, ValueError) as error:
            raise Undefined(f"{function}: {error}") from error

    def _arithmetic(self, combine: Callable[[Any, Any], Any], left: Value, right: Value) -> Value:
        if combine is operator.truediv and right == 0:
            raise Undefined("division by zero")
        if isinstance(left, Fraction) and isinstance(right, Fraction):
            return combine(left, right)
        return self._checked(combine(self._approximate(left), self._approximate(right)))

    def _power(self, base: Value, exponent: Value) -> Value:
        if isinstance(exponent, Fraction) and exponent.denominator == 1:
            if base == 0 and exponent < 0:
                raise Undefined("division by zero")
            if not isinstance(base, Fraction):
                return self._checked(base ** int(exponent))
            bits = base.numerator.bit_length() + base.denominator.bit_length()
            if bits * abs(exponent) > MAX_EXACT_BITS:  # an exponent that is a variable's value
                raise TooLarge("an exact power too large")
            return base ** int(exponent)
        base, exponent = self._approximate(base), self._approximate(exponent)
        if base == 0:
            if self.mp.re(exponent) > 0:
                return Fraction(0)
            raise Undefined("0 to a power that is not positive")
        if abs(self.mp.re(exponent * self.mp.log(base))) > MAX_MAGNITUDE_BITS:
            raise TooLarge("a power too large")
        return self._checked(self.mp.power(base, exponent))


def _undefined_function_value(function: str, argument: Value, context: MPContext) -> Fraction:
    if isinstance(argument, Fraction):
        key = f"{argument.numerator}/{argument.denominator}"
    else:
        key = context.nstr(argument, 30)
    digest = hashlib.sha256(f"{function}({key})".encode()).digest()
    return Fraction(POINT_DENOMINATOR + int.from_bytes(digest[:4], "big") % (4 * POINT_DENOMINATOR), 2 * POINT_DENOMINATOR)


def sample_points(names: set[str]) -> list[dict[str, Fraction]]:
    """The :data:`SAMPLE_POINTS` points at which formulas over ``names`` are compared."""
    rng = random.Random(SAMPLE_SEED)
    ordered = sorted(names)
    return [
        {name: Fraction(rng.randint(POINT_DENOMINATOR // 2, 5 * POINT_DENOMINATOR // 2), POINT_DENOMINATOR)
         for name in ordered}
        for _ in range(SAMPLE_POINTS)
    ]


def _agree(a: Node, b: Node, point: dict[str, Fraction], context: MPContext, deadline: Deadline) -> bool:
    """Whether ``a`` and ``b`` have the same value at ``point``; Undefined or TooLarge when
    either has none there."""
    context.prec = FIRST_PASS_BITS
    first = _Evaluator(point, context, deadline)
    value_a, value_b = first.value(a), first.value(b)
    if isinstance(value_a, Fraction) and isinstance(value_b, Fraction):
        return value_a == value_b
    first._checked(first._approximate(value_a))  # the compared values count as intermediates
    first._checked(first._approximate(value_b))
    context.prec = EXTRA_BITS + 2 * int(max(first.magnitude, 0))
    second = _Evaluator(point, context, deadline)
    value_a, value_b = second._approximate(second.value(a)), second._approximate(second.value(b))
    scale = min(first.magnitude, 0) if first.magnitude > -math.inf else 0
    return abs(value_a - value_b) <= context.ldexp(1, int(scale) - TOLERANCE_BITS)


def compare(a: Node, b: Node, names: set[str], deadline: Deadline) -> Comparison:
    """Whether trees ``a`` and ``b`` (over the variables ``names``) agree at the sample
    points (module docstring). Raises :class:`~.verdicts.TimeLimitExceeded` past ``deadline``."""
    if a == b:
        return Comparison(True, SAMPLE_POINTS, 0)
    context = MPContext()
    compared = too_large = 0
    for point in sample_points(names):
        try:
            if not _agree(a, b, point, context, deadline):
                return Comparison(False, compared + 1, too_large)
        except TooLarge:
            too_large += 1
            continue
        except Undefined:
            continue
        compared += 1
    return Comparison(compared >= MIN_COMPARED_POINTS, compared, too_large)
