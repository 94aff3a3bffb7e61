"""Parsing formulas safely and deciding whether two formulas say the same thing.

Model output and the targets of a benchmark file are untrusted text, so no part of them ever
reaches ``eval``, ``sympify``, ``parse_expr`` or any other string parser that can run code:

1. :mod:`.formula_text` rewrites Unicode and common LaTeX into a plain arithmetic language;
2. :mod:`.formula_syntax` parses that with its own grammar (numbers, names, ``+ - * / ^``,
   unary minus, parentheses, ``=``, calls of the functions on a fixed list and of undefined
   functions ``f(x)``; nothing else) into a syntax tree, and refuses trees beyond its size
   guards (depth, node count, exponents, polynomial degree, exact size);
3. :mod:`.formula_values` compares two trees by evaluating them at random rational points,
   exactly where the arithmetic is rational.

:func:`parse_formula` builds sympy expressions from the tree with sympy's constructors
(``Symbol``, ``Rational``, ``Add``, ``Mul``, ``Pow``, the listed functions, and
``Function(name)`` for an undefined function whose name passed the grammar's identifier rule,
applied to an expression already built); the judges themselves do not use sympy.

An equation ``L = R`` (or a chain ``L = ... = R``) is compared by its last side; when both
formulas name a left-hand side, those must agree too. In a free answer the judge tries the
whole answer, then the equation in it (from the term before its first ``=``), then that
equation cut at the first comma or semicolon.

Understood: ``2x``, ``2(x + y)``, ``E = m c^2`` (juxtaposed single-letter variables
multiply), ``×``, ``·``, ``÷``, ``−``, ``π``, ``²``, ``³``, ``√``, ``|x|``, ``f'(t)``,
``sin^2(x)``, ``**``, decimals and scientific notation as exact numbers, and the LaTeX of
:mod:`.formula_text` (``\\frac{a}{b}``, ``\\cdot``, ``\\times``, ``^{...}``, ``\\sqrt``,
``\\pi``, Greek letters, ``\\sin``, ...). Not understood, so never equal to anything: other LaTeX
commands (``\\int``, ``\\sum``, matrices), functions of several arguments, ``½``, words
juxtaposed with names (``The rule gives W = ...`` is read from ``W``), and ``sin x`` without
parentheses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

import sympy

from .formula_syntax import PI, Call, Inverse, Name, Negative, Node, Number, Product, Sum, parse_sides, variable_names
from .formula_text import FormulaError, FormulaTooLarge
from .formula_values import compare
from .verdicts import NO_DEADLINE, Deadline, Verdict, require_text

__all__ = ["Formula", "FormulaError", "FormulaTooLarge", "formula_verdict", "formulas_equivalent",
           "is_formula", "parse_formula"]

_LARGE_NUMBER = 10**50
_SYMPY_FUNCTIONS: dict[str, Any] = {
    "exp": sympy.exp, "log": sympy.log, "ln": sympy.log, "abs": sympy.Abs,
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "cot": sympy.cot, "sec": sympy.sec,
    "csc": sympy.csc, "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan,
    "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
}


@dataclass(frozen=True)
class Formula:
    """A parsed formula: ``lhs`` is None for a bare expression such as ``x * y``."""

    lhs: sympy.Expr | None
    rhs: sympy.Expr


def _power(base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    """``base ** exponent``, left unevaluated for a root of a number above 10^50: sympy would
    look for its factors (half a second for 1000 digits)."""
    if base.is_Rational and not exponent.is_Integer and max(abs(base.p), base.q) > _LARGE_NUMBER:
        return sympy.Pow(base, exponent, evaluate=False)
    return sympy.Pow(base, exponent)


def _to_sympy(node: Node) -> sympy.Expr:
    if isinstance(node, Number):
        return sympy.Rational(node.value.numerator, node.value.denominator)
    if isinstance(node, Name):
        return sympy.pi if node.name == PI else sympy.Symbol(node.name)
    if isinstance(node, Negative):
        return sympy.Mul(sympy.S.NegativeOne, _to_sympy(node.operand))
    if isinstance(node, Call):
        argument = _to_sympy(node.argument)
        if node.function == "sqrt":
            return _power(argument, sympy.S.Half)
        if node.function in _SYMPY_FUNCTIONS:
            return _SYMPY_FUNCTIONS[node.function](argument)
        return sympy.Function(node.function)(argument)  # a checked identifier, a built argument
    if isinstance(node, Inverse):
        return sympy.Pow(_to_sympy(node.operand), sympy.S.NegativeOne)
    if isinstance(node, Sum):
        return sympy.Add(*(_to_sympy(term) for term in node.terms))
    if isinstance(node, Product):
        return sympy.Mul(*(_to_sympy(factor) for factor in node.factors))
    return _power(_to_sympy(node.base), _to_sympy(node.exponent))


def parse_formula(text: str) -> Formula:
    """Parse ``text`` (an expression or an equation, possibly a chain ``a = b = c``) into sympy
    expressions; FormulaError when it is not in the language or beyond the size guards."""
    sides = [_to_sympy(side) for side in parse_sides(require_text(text, "text"))]
    return Formula(lhs=sides[0] if len(sides) > 1 else None, rhs=sides[-1])


def is_formula(text: str) -> bool:
    """True when ``text`` parses and is more than one name or number: it has an operator, an
    ``=`` or a function call (``2^12``, ``n + m``, ``sqrt(2)``). A single word or number such
    as ``x`` or ``True`` is an answer for the exact or numeric judge, not a formula."""
    try:
        sides = parse_sides(require_text(text, "text"))
    except FormulaError:
        return False
    side = sides[0].operand if isinstance(sides[0], Negative) else sides[0]
    return len(sides) > 1 or not isinstance(side, (Name, Number))


def _equation(text: str) -> str | None:
    """``text`` from the term before its first ``=`` that has one (a scan, not a regular
    expression, so that long answers cost linear time)."""
    for position, char in enumerate(text):
        if char != "=":
            continue
        end = position
        while end > 0 and text[end - 1].isspace():
            end -= 1
        start = end
        while start > 0 and not text[start - 1].isspace() and text[start - 1] != "=":
            start -= 1
        if start < end:
            return text[start:]
    return None


def _candidates(prediction: str) -> Iterator[str]:
    """The prediction itself, then the equation in it (from the term before its first
    ``=``), then that equation cut at the first comma or semicolon."""
    yield prediction
    equation = _equation(prediction)
    if equation is not None:
        yield equation
        yield re.split(r"[,;]", equation)[0]


def _compare_sides(found: Node, expected: Node, deadline: Deadline) -> Verdict:
    comparison = compare(found, expected, variable_names(found, expected), deadline)
    if not comparison.equal and comparison.too_large and comparison.compared < comparison.too_large:
        return Verdict(False, f"{comparison.too_large} of the sample points gave values too large to evaluate")
    return Verdict(comparison.equal)


def formula_verdict(prediction: str, target: str, deadline: Deadline = NO_DEADLINE) -> Verdict:
    """Whether ``prediction`` states the formula ``target`` (module docstring), with the reason
    when the judge gave up. Raises :class:`~.verdicts.TimeLimitExceeded` past ``deadline``,
    TypeError for non-string input, nothing else."""
    require_text(prediction, "prediction")
    try:
        expected = parse_sides(require_text(target, "target"))
    except FormulaTooLarge as error:
        return Verdict(False, f"target too large to evaluate: {error}")
    except FormulaError:
        return Verdict(False)
    too_large = None
    for candidate in _candidates(prediction):
        try:
            found = parse_sides(candidate)
        except FormulaTooLarge as error:
            too_large = error
            continue
        except FormulaError:
            continue
        if len(found) > 1 and len(expected) > 1:
            left = _compare_sides(found[0], expected[0], deadline)
            if not left.correct:
                return left
        return _compare_sides(found[-1], expected[-1], deadline)
    return Verdict(False, None if too_large is None else f"answer too large to evaluate: {too_large}")


def formulas_equivalent(prediction: str, target: str) -> bool:
    """True when ``prediction`` states the formula ``target`` (see the module docstring)."""
    return formula_verdict(prediction, target).correct
