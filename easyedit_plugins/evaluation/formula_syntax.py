"""The judge's formula language: tokens, a syntax tree, and the size guards.

Model output and dataset targets are untrusted, so formulas are parsed here, by a grammar that
can only express arithmetic, and never by Python or sympy's string parsers:

.. code-block:: text

    formula  := sum ("=" sum)*
    sum      := product (("+" | "-") product)*
    product  := signed (("*" | "/") signed | juxtaposed)*
    signed   := ("+" | "-") signed | power
    power    := primary ("^" signed)?
    primary  := NUMBER | NAME | call | "(" sum ")"
    call     := FUNCTION ("^" NUMBER)? "(" sum ")" | NAME "(" sum ")"

There is no attribute access, subscript, string, keyword argument or comma: text with any
character outside names, numbers, ``+ - * / ^ ( ) =`` and spaces is refused. ``FUNCTION`` is a
name on :data:`FUNCTIONS` (``sin^2(x)`` is ``sin(x)^2``); any other name written directly
before ``(`` is an *undefined* function such as ``f(x)`` or ``g_prime(t)``: it is only a
label (:mod:`.formula_values` gives it a fixed random value per argument, and
:func:`~.formulas.parse_formula` an undefined sympy function of that name, applied to the
already-built argument), so no text is ever looked up or evaluated as code. Names are a letter
followed by letters, digits and underscores, without ``__``, at most 32 characters.

Juxtaposition multiplies: a number before a name or a parenthesis (``2x``, ``2 pi r``,
``2(x + y)``), a closing parenthesis before a name, number or parenthesis
(``(a + b)(a - b)``), and a variable-like name (one letter with digits or a subscript, such as
``m``, ``v0``, ``m_1``, a Greek letter or ``pi``) before another, before a function or, after
a space, before a parenthesis (``E = m c^2``, ``m sin(t)``, ``c (a + b)``; without the space,
``c(a + b)`` is the undefined function ``c``). Two words side by side (``The rule gives W``)
are not a formula, so a sentence around an equation is not read as a product.

The guards run on the tree before anything is evaluated and raise
:class:`~.formula_text.FormulaTooLarge`: at most :data:`MAX_NODES` nodes and
:data:`MAX_DEPTH` levels, numbers of at most :data:`MAX_NUMBER_DIGITS` digits, constant
integer exponents of at most :data:`MAX_EXPONENT`, a polynomial degree of at most
:data:`MAX_DEGREE`, and at most :data:`MAX_EXACT_BITS` bits in any exact intermediate value at a
sample point (``9^9^9``, ``x^100000``, ``(x + 1)^(10^10)`` are refused at once).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

from .formula_text import GREEK_LETTERS, FormulaError, FormulaTooLarge, to_plain

FUNCTIONS = frozenset(
    "sqrt exp log ln abs sin cos tan cot sec csc asin acos atan arcsin arccos arctan sinh cosh tanh".split()
)
PI = "pi"
MAX_NAME_LENGTH = 32
MAX_NODES = 1000
MAX_DEPTH = 40
MAX_NUMBER_DIGITS = 1000
MAX_EXPONENT = 1000
MAX_DEGREE = 1000
MAX_EXACT_BITS = 1 << 16
#: Bits of a sample point's value (see :mod:`.formula_values`), for the exact-size guard.
POINT_BITS = 48

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)
      | (?P<name>[^\W\d_]\w*)
      | (?P<operator>[-+*/^()=])""",
    re.VERBOSE,
)
_VARIABLE_LIKE = re.compile(r"[^\W\d_][0-9]*(?:_[^\W_]+)*")


@dataclass(frozen=True)
class Number:
    value: Fraction


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Call:
    """``function(argument)``: a name on :data:`FUNCTIONS`, or an undefined function."""

    function: str
    argument: Node


@dataclass(frozen=True)
class Negative:
    operand: Node


@dataclass(frozen=True)
class Inverse:
    """``1 / operand``, a divisor in a :class:`Product`."""

    operand: Node


@dataclass(frozen=True)
class Sum:
    """A chain ``a + b - c`` as the terms ``(a, b, Negative(c))``: chains are flat, so the
    tree is only as deep as the parentheses, signs and powers nest."""

    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Product:
    """A chain ``a * b / c`` (or ``a b``) as the factors ``(a, b, Inverse(c))``."""

    factors: tuple[Node, ...]


@dataclass(frozen=True)
class Power:
    base: Node
    exponent: Node


Node = Union[Number, Name, Call, Negative, Inverse, Sum, Product, Power]


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "operator" or "end"
    text: str
    spaced: bool  # whitespace came before it


def _number(text: str) -> Fraction:
    mantissa, _, exponent = text.lower().partition("e")
    digits = mantissa.replace(".", "").lstrip("0")
    if len(digits) > MAX_NUMBER_DIGITS or len(exponent) > 5 or (exponent and abs(int(exponent)) > MAX_NUMBER_DIGITS):
        raise FormulaTooLarge(f"the number {text[:20]}... is too long")
    return Fraction(text)


def _tokens(text: str) -> list[_Token]:
    tokens = []
    position, spaced = 0, False
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FormulaError(f"{text[position]!r} is not part of the formula language")
        kind = match.lastgroup or ""
        if kind == "space":
            spaced = True
        else:
            word = match.group(0)
            if kind == "name" and ("__" in word or len(word) > MAX_NAME_LENGTH or not word.isidentifier()):
                raise FormulaError(f"{word[:40]!r} is not a name of the formula language")
            tokens.append(_Token(kind, word, spaced))
            spaced = False
        position = match.end()
    tokens.append(_Token("end", "", spaced))
    return tokens


def _variable_like(name: str) -> bool:
    return name == PI or name in GREEK_LETTERS or _VARIABLE_LIKE.fullmatch(name) is not None


class _Parser:
    """Recursive descent over the grammar of the module docstring, one side at a time."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.position]

    def _take(self, text: str | None = None) -> _Token:
        token = self.token
        if text is not None and token.text != text:
            raise FormulaError(f"expected {text!r}, found {token.text or 'the end'!r}")
        self.position += 1
        return token

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaTooLarge("the formula is nested too deeply")

    def sides(self) -> list[Node]:
        sides = [self.sum()]
        while self.token.text == "=":
            self._take()
            sides.append(self.sum())
        if self.token.kind != "end":
            raise FormulaError(f"unexpected {self.token.text!r}")
        return sides

    def sum(self) -> Node:
        self._enter()
        terms = [self.product()]
        while self.token.text in ("+", "-"):
            negative = self._take().text == "-"
            term = self.product()
            terms.append(Negative(term) if negative else term)
        self.depth -= 1
        return terms[0] if len(terms) == 1 else Sum(tuple(terms))

    def product(self) -> Node:
        factors = [self.signed()]
        while True:
            last = self.tokens[self.position - 1]
            if self.token.text in ("*", "/"):
                divide = self._take().text == "/"
                factor = self.signed()
                factors.append(Inverse(factor) if divide else factor)
            elif self._juxtaposed(last, self.token):
                factors.append(self.power())
            else:
                return factors[0] if len(factors) == 1 else Product(tuple(factors))

    @staticmethod
    def _juxtaposed(last: _Token, token: _Token) -> bool:
        """Whether ``token`` starts a factor multiplying the one that ended with ``last``."""
        if token.kind not in ("number", "name") and token.text != "(":
            return False
        if last.text == ")":
            return True
        if token.kind == "number":
            return False
        if last.kind == "number":
            return True
        if last.kind == "name" and _variable_like(last.text):
            return token.text == "(" or token.text in FUNCTIONS or _variable_like(token.text)
        return False

    def signed(self) -> Node:
        if self.token.text in ("+", "-"):
            self._enter()
            negative = self._take().text == "-"
            operand = self.signed()
            self.depth -= 1
            return Negative(operand) if negative else operand
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        if self.token.text != "^":
            return base
        self._take()
        self._enter()
        exponent = self.signed()
        self.depth -= 1
        return Power(base, exponent)

    def primary(self) -> Node:
        token = self._take()
        if token.kind == "number":
            return Number(_number(token.text))
        if token.text == "(":
            node = self.sum()
            self._take(")")
            return node
        if token.kind != "name":
            raise FormulaError(f"unexpected {token.text or 'end'!r}")
        if token.text in FUNCTIONS:
            return self._function(token.text)
        if self.token.text == "(" and not self.token.spaced and token.text != PI:
            return Call(token.text, self._argument())
        return Name(token.text)

    def _function(self, function: str) -> Node:
        power = None
        if self.token.text == "^" and self.tokens[self.position + 1].kind == "number":
            self._take()
            power = Number(_number(self._take().text))
        if self.token.text != "(":
            raise FormulaError(f"the function {function!r} without parenthesised arguments")
        call = Call(function, self._argument())
        return call if power is None else Power(call, power)

    def _argument(self) -> Node:
        self._take("(")
        argument = self.sum()
        self._take(")")
        return argument


def children(node: Node) -> tuple[Node, ...]:
    """The subtrees directly below ``node``."""
    if isinstance(node, Call):
        return (node.argument,)
    if isinstance(node, (Negative, Inverse)):
        return (node.operand,)
    if isinstance(node, Sum):
        return node.terms
    if isinstance(node, Product):
        return node.factors
    if isinstance(node, Power):
        return (node.base, node.exponent)
    return ()


def constant_value(node: Node) -> Fraction | None:
    """The exact value of a subtree without names or calls (None if it has any, divides by
    zero or takes a non-integer power). Only call it on a subtree :func:`check_size` passed."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, (Negative, Inverse)):
        value = constant_value(node.operand)
        if value is None or isinstance(node, Inverse) and value == 0:
            return None
        return -value if isinstance(node, Negative) else 1 / value
    if isinstance(node, (Sum, Product)):
        values = [constant_value(child) for child in children(node)]
        if any(value is None for value in values):
            return None
        return sum(values, Fraction(0)) if isinstance(node, Sum) else math.prod(values, start=Fraction(1))
    if isinstance(node, Power):
        base, exponent = constant_value(node.base), constant_value(node.exponent)
        if base is None or exponent is None or exponent.denominator != 1 or base == 0 and exponent < 0:
            return None
        return base ** int(exponent)
    return None


@dataclass(frozen=True)
class _Size:
    nodes: int
    degree: int
    bits: int  # of the exact value at a sample point (0 when the value is approximate)


def _checked(size: _Size) -> _Size:
    if size.nodes > MAX_NODES:
        raise FormulaTooLarge(f"more than {MAX_NODES} nodes")
    if size.degree > MAX_DEGREE:
        raise FormulaTooLarge(f"a degree above {MAX_DEGREE}")
    if size.bits > MAX_EXACT_BITS:
        raise FormulaTooLarge("exact evaluation would be too large")
    return size


def _size(node: Node) -> _Size:
    """The size of ``node``, raising as soon as a subtree is beyond a guard, so that
    :func:`constant_value` is only ever asked for values the guards allow."""
    if isinstance(node, Number):
        return _checked(_Size(1, 0, node.value.numerator.bit_length() + node.value.denominator.bit_length()))
    if isinstance(node, Name):
        return _Size(1, int(node.name != PI), 0 if node.name == PI else POINT_BITS)
    if isinstance(node, Call):
        inner = _size(node.argument)
        return _checked(_Size(inner.nodes + 1, 1, max(inner.bits, 2 * POINT_BITS)))
    if isinstance(node, (Negative, Inverse)):
        inner = _size(node.operand)
        return _checked(_Size(inner.nodes + 1, inner.degree, inner.bits))
    if isinstance(node, (Sum, Product)):
        parts = [_size(child) for child in children(node)]
        nodes = sum(part.nodes for part in parts) + 1
        bits = sum(part.bits for part in parts)
        if isinstance(node, Sum):  # a/b + c/d = (ad + bc)/(bd): the bits add, plus carries
            return _checked(_Size(nodes, max(part.degree for part in parts), bits + len(parts)))
        return _checked(_Size(nodes, sum(part.degree for part in parts), bits))
    base, exponent_size = _size(node.base), _size(node.exponent)
    nodes = base.nodes + exponent_size.nodes + 1
    exponent = constant_value(node.exponent)
    if exponent is None or exponent.denominator != 1:
        return _checked(_Size(nodes, int(bool(base.degree or exponent_size.degree)), 0))
    if abs(exponent) > MAX_EXPONENT:
        raise FormulaTooLarge(f"an exponent above {MAX_EXPONENT}")
    return _checked(_Size(nodes, base.degree * abs(int(exponent)), base.bits * abs(int(exponent))))


def _names(node: Node, variables: set[str], functions: set[str]) -> None:
    if isinstance(node, Name) and node.name != PI:
        variables.add(node.name)
    if isinstance(node, Call):
        functions.add(node.function)
    for child in children(node):
        _names(child, variables, functions)


def check_size(node: Node) -> None:
    """Raise :class:`~.formula_text.FormulaTooLarge` when ``node`` is beyond the guards of the
    module docstring. The checks are linear in the tree, which the depth limit keeps shallow."""
    _size(node)


def variable_names(*nodes: Node) -> set[str]:
    """The variables of ``nodes`` (``pi`` is a constant, not a variable)."""
    variables: set[str] = set()
    for node in nodes:
        _names(node, variables, set())
    return variables


def parse_sides(text: str) -> list[Node]:
    """The sides of the formula ``text`` (one for an expression, two or more for an equation),
    each within the guards; FormulaError (or FormulaTooLarge) otherwise."""
    tokens = _tokens(to_plain(text))
    if len(tokens) > MAX_NODES:
        raise FormulaTooLarge(f"more than {MAX_NODES} tokens")
    sides = _Parser(tokens).sides()
    variables: set[str] = set()
    functions: set[str] = set()
    for side in sides:
        check_size(side)
        _names(side, variables, functions)
    if variables & functions:
        raise FormulaError(f"{sorted(variables & functions)[0]!r} is used both as a function and as a variable")
    return sides
