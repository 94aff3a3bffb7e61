"""Parsing formulas safely and deciding whether two formulas say the same thing.

Model output is untrusted text, so it never reaches ``eval`` or a bare ``sympify``. The text is
first rewritten into a small arithmetic language and rejected if anything else is left: names
(any letters, Greek included), numbers, ``+ - * / ^ ( ) =`` and spaces. ``π``, ``×``, ``·``,
``÷``, ``−``, ``²``, ``³``, ``√``, ``|x|`` (absolute value), ``f'`` (a name of its own) and
``sin^2(x)`` are translated; a number directly before a name or a parenthesis multiplies it
(``2x``, ``22π``, ``2(x + y)``). Every name is bound explicitly:
``pi`` is π, a known function name (``sqrt``, ``sin``, ``log``, ``ln``, ...) is that function,
any other name followed by ``(`` is an undefined function (``f(x)``), and every other name is a
plain symbol, so ``E``, ``I`` or ``N`` in a physics formula are variables, not sympy constants.
sympy's ``parse_expr`` then runs with no builtins and only those bindings. The expression is
built unevaluated first and rejected if evaluating it exactly could explode (an exponent above
64, a constant above 64 inside a symbolic exponent, or more than 2000 digits of exact
arithmetic, as in ``9^9^9``).

An equation ``L = R`` (or a chain ``L = ... = R``) is compared by its last side; when both
formulas name a left-hand side, those must agree too. Two expressions are equivalent when
their difference is zero after sympy's automatic simplification or, when it would give at most
5000 terms, after expanding products and integer powers; otherwise both are evaluated to 50
digits at 8 random points (fixed seed, every variable drawn from [0.5, 2.5], so variables are
taken as positive quantities, as the lengths and masses of the rules are) and must agree at
each point where both are finite, at least 3 of them, to a relative 1e-30. Decimals are read
as exact fractions, so that tolerance only absorbs rounding of irrational values and ``x^12``
never equals ``x^12 + 1``. No unbounded ``simplify`` is ever called.
"""

from __future__ import annotations

import keyword
import math
import random
import re
from dataclasses import dataclass
from typing import Any, Iterator

import sympy
from sympy.parsing.sympy_parser import auto_number, parse_expr

MAX_TEXT_LENGTH = 1000
MAX_EXPONENT = 64
MAX_EXACT_DIGITS = 2000
MAX_EXPANDED_TERMS = 5000
SAMPLE_POINTS = 8
MIN_AGREEING_POINTS = 3
SAMPLE_SEED = 1729
SAMPLE_RANGE = (0.5, 2.5)
SAMPLE_DIGITS = 50
RELATIVE_TOLERANCE = 1e-30
ABSOLUTE_TOLERANCE = 1e-40

_FUNCTIONS: dict[str, Any] = {
    "sqrt": sympy.sqrt, "exp": sympy.exp, "log": sympy.log, "ln": sympy.log, "abs": sympy.Abs,
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "cot": sympy.cot, "sec": sympy.sec,
    "csc": sympy.csc, "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan,
    "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
}
# What the code parse_expr generates may call: number and operator constructors, nothing else.
_SAFE_GLOBALS: dict[str, Any] = {
    "__builtins__": {},
    "Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational,
    "Add": sympy.Add, "Mul": sympy.Mul, "Pow": sympy.Pow,
}
_TRANSLATIONS = {
    "×": "*", "·": "*", "⋅": "*", "∙": "*", "÷": "/", "−": "-", "–": "-",
    "π": "(pi)", "²": "^2", "³": "^3",
}
# expand() also rewrites powers and logs by default; products and integer powers are enough.
_POLYNOMIAL_EXPANSION = {"mul": True, "multinomial": True, "power_exp": False, "power_base": False, "log": False}
_ALLOWED = re.compile(r"[\w\s.+\-*/()=^]*")
_NAME = re.compile(r"[^\W\d]\w*")
# decimals become exact fractions, so that 0.1 * x and x / 10 are the same expression
_DECIMAL = re.compile(r"(?<![\w.])(\d+)\.(\d+)")
# sin^2(x), the usual way of writing (sin(x))^2
_POWER_OF_FUNCTION = re.compile(r"\b([a-z]+)\s*\^\s*(\d+)\s*\(([^()]*)\)")


class FormulaError(ValueError):
    """The text is not a formula this parser accepts (or is too costly to evaluate exactly)."""


@dataclass(frozen=True)
class Formula:
    """A parsed formula: ``lhs`` is None for a bare expression such as ``x * y``."""

    lhs: sympy.Expr | None
    rhs: sympy.Expr


def _to_python(text: str) -> str:
    text = text.strip().rstrip(".;:").strip()
    if not text or len(text) > MAX_TEXT_LENGTH:
        raise FormulaError("empty or too long")
    for source, replacement in _TRANSLATIONS.items():
        text = text.replace(source, replacement)
    text = re.sub(r"√\s*\(", "sqrt(", text)
    text = re.sub(r"√\s*([^\W\d_]\w*|\d+(?:\.\d+)?)", r"sqrt(\1)", text)
    text = re.sub(r"\|([^|]+)\|", r"abs(\1)", text)
    text = re.sub(r"([^\W\d]\w*)('+)", lambda m: m.group(1) + "_prime" * len(m.group(2)), text)
    text = _POWER_OF_FUNCTION.sub(r"(\1(\3))^\2", text)
    if not _ALLOWED.fullmatch(text) or "__" in text:
        raise FormulaError("contains characters outside the formula language")
    text = text.replace("^", "**")
    text = _DECIMAL.sub(lambda m: f"({int(m.group(1) + m.group(2))}/{10 ** len(m.group(2))})", text)
    text = re.sub(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?=[^\W\d_]|\()", r"\1*", text)
    text = re.sub(r"\)\s*(?=[\w(])", ")*", text)
    return text


def _bindings(side: str) -> dict[str, Any]:
    names: dict[str, Any] = {}
    for match in _NAME.finditer(side):
        name = match.group(0)
        if keyword.iskeyword(name):
            raise FormulaError(f"{name!r} is a word, not a formula")
        called = side[match.end():].lstrip().startswith("(")
        if name == "pi":
            binding: Any = sympy.pi
        elif name in _FUNCTIONS:
            if not called:
                raise FormulaError(f"function {name!r} without arguments")
            binding = _FUNCTIONS[name]
        else:
            binding = sympy.Function(name) if called else sympy.Symbol(name)
        if names.setdefault(name, binding) != binding:
            raise FormulaError(f"{name!r} is used both as a function and as a variable")
    return names


def _exact_digits(expr: sympy.Basic) -> float:
    """An upper bound on the digits exact evaluation of ``expr`` can produce; raises when an
    exponent is too large to evaluate exactly."""
    if expr.is_Integer:
        return float(len(str(abs(int(expr)))))
    if expr.is_Rational:
        return float(len(str(abs(expr.p))) + len(str(expr.q)))
    if expr.is_Pow:
        base, exponent = expr.args
        base_digits = _exact_digits(base)
        if exponent.free_symbols:  # stays symbolic, but a large constant in it would not
            if any(abs(number) > MAX_EXPONENT for number in exponent.atoms(sympy.Number)):
                raise FormulaError("exponent too large")
            return base_digits + _exact_digits(exponent)
        if _exact_digits(exponent) > 3:
            raise FormulaError("exponent too large")
        try:
            size = abs(complex(exponent.evalf(15)))
        except (TypeError, ValueError) as error:
            raise FormulaError("exponent is not a number") from error
        if size > MAX_EXPONENT:
            raise FormulaError("exponent too large")
        return base_digits * max(1.0, size)
    if expr.is_Add:
        return max(_exact_digits(arg) for arg in expr.args) + 1.0
    if expr.args:
        return sum(_exact_digits(arg) for arg in expr.args)
    return 1.0


def _parse_side(side: str) -> sympy.Expr:
    names = _bindings(side)
    try:
        unevaluated = parse_expr(side, local_dict=names, global_dict=_SAFE_GLOBALS,
                                 transformations=(auto_number,), evaluate=False)
        if _exact_digits(unevaluated) > MAX_EXACT_DIGITS:
            raise FormulaError("exact evaluation would be too large")
        expr = parse_expr(side, local_dict=names, global_dict=_SAFE_GLOBALS, transformations=(auto_number,))
    except FormulaError:
        raise
    except Exception as error:  # parse_expr raises SyntaxError, TypeError, TokenError, ...
        raise FormulaError(f"cannot parse {side!r}: {type(error).__name__}") from error
    if not isinstance(expr, sympy.Expr):
        raise FormulaError(f"{side!r} is not an expression")
    return expr


def parse_formula(text: str) -> Formula:
    """Parse ``text`` (an expression or an equation, possibly a chain ``a = b = c``)."""
    sides = _to_python(text).split("=")
    if any(not side.strip() for side in sides):
        raise FormulaError("an equation side is empty")
    expressions = [_parse_side(side) for side in sides]
    return Formula(lhs=expressions[0] if len(expressions) > 1 else None, rhs=expressions[-1])


def is_formula(text: str) -> bool:
    """True when ``text`` parses and has an operator, an ``=`` or a function call (``2^12``,
    ``n + m``, ``sqrt(2)``): a single word or number such as ``x`` or ``True`` is an answer for
    the exact or numeric judge, not a formula."""
    try:
        parse_formula(text)
    except FormulaError:
        return False
    return re.search(r"[-+*/^=(√]", text.strip().lstrip("-−")) is not None


def _expanded_terms(expr: sympy.Basic) -> int:
    """An upper bound on the number of terms ``expand`` would produce (Newton's multinomial
    count for integer powers of sums)."""
    if expr.is_Add:
        return sum(_expanded_terms(arg) for arg in expr.args)
    if expr.is_Mul:
        return math.prod(_expanded_terms(arg) for arg in expr.args)
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        return math.comb(_expanded_terms(expr.base) + int(expr.exp) - 1, int(expr.exp))
    return 1


def _agree_at_sample_points(a: sympy.Expr, b: sympy.Expr) -> bool:
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    rng = random.Random(SAMPLE_SEED)
    agreeing = 0
    for _ in range(SAMPLE_POINTS):
        point = {symbol: sympy.Rational(rng.uniform(*SAMPLE_RANGE)) for symbol in symbols}
        value_a = a.evalf(SAMPLE_DIGITS, subs=point)
        value_b = b.evalf(SAMPLE_DIGITS, subs=point)
        if not all(v.is_number and v.is_finite for v in (value_a, value_b)):
            continue  # an undefined function, or a pole at this point
        if abs(value_a - value_b) > RELATIVE_TOLERANCE * max(abs(value_a), abs(value_b)) + ABSOLUTE_TOLERANCE:
            return False
        agreeing += 1
    return agreeing >= MIN_AGREEING_POINTS


def equivalent(a: sympy.Expr, b: sympy.Expr) -> bool:
    """True when ``a`` and ``b`` are the same expression (see the module docstring)."""
    difference = a - b
    if difference == 0:
        return True
    if _expanded_terms(difference) <= MAX_EXPANDED_TERMS and sympy.expand(difference, **_POLYNOMIAL_EXPANSION) == 0:
        return True
    return _agree_at_sample_points(a, b)


def _candidates(prediction: str) -> Iterator[str]:
    """The prediction itself, then the equation in it (from the term before its first
    ``=``), then that equation cut at the first comma or semicolon."""
    yield prediction
    equation = re.search(r"[^\s=]+\s*=.*", prediction)
    if equation is not None:
        yield equation.group(0)
        yield re.split(r"[,;]", equation.group(0))[0]


def formulas_equivalent(prediction: str, target: str) -> bool:
    """True when ``prediction`` states the formula ``target`` (see the module docstring)."""
    try:
        expected = parse_formula(target)
    except FormulaError:
        return False
    for candidate in _candidates(prediction):
        try:
            found = parse_formula(candidate)
        except FormulaError:
            continue
        if found.lhs is not None and expected.lhs is not None and not equivalent(found.lhs, expected.lhs):
            return False
        return equivalent(found.rhs, expected.rhs)
    return False
