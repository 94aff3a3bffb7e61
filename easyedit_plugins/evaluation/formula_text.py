"""Rewriting the ways models write formulas into the judge's plain formula language.

The plain language (parsed by :mod:`.formula_syntax`) has names, numbers, ``+ - * / ^ ( ) =``
and spaces. This module only rewrites text into it; it never interprets anything. Rewritten:

* Unicode: ``×``, ``·``, ``⋅``, ``∙`` (times), ``÷``, ``−``, ``–`` (minus), ``π``, ``²``, ``³``,
  ``√x`` and ``√(...)``, ``|x|`` (absolute value), ``f'`` (a name of its own, ``f_prime``);
  ``**`` is ``^``;
* LaTeX: ``$`` delimiters, ``\\frac{a}{b}`` (``\\dfrac``, ``\\tfrac``, ``\\frac12``),
  ``\\sqrt{x}``, ``\\sqrt[n]{x}``, ``\\cdot``, ``\\times``, ``\\ast``, ``\\div``, ``\\pi``, Greek
  letters (``\\theta`` is the name ``theta``), the function names of the language (``\\sin``),
  ``\\left`` / ``\\right``, spacing commands (``\\,``, ``\\quad``), ``^{...}`` and any other
  braces as parentheses, and subscripts ``v_{0}`` (the name ``v_0``). Any other command
  (``\\int``, ``\\sum``, ``\\begin``, ...) makes the text unsupported.
"""

from __future__ import annotations

import re

MAX_TEXT_LENGTH = 1000
MAX_BRACE_DEPTH = 20

GREEK_LETTERS = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "omicron rho varrho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi "
    "Sigma Upsilon Phi Psi Omega".split()
)
LATEX_FUNCTIONS = frozenset("sqrt exp log ln sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh".split())
_LATEX_OPERATORS = {"cdot": "*", "times": "*", "ast": "*", "div": "/"}
_LATEX_DROPPED = frozenset({"left", "right", "displaystyle", "quad", "qquad"})
_FRACTIONS = frozenset({"frac", "dfrac", "tfrac"})
_TRANSLATIONS = {
    "×": "*", "·": "*", "⋅": "*", "∙": "*", "÷": "/", "−": "-", "–": "-",
    "π": " pi ", "²": "^2", "³": "^3", "**": "^",
}


class FormulaError(ValueError):
    """The text is not a formula the judge's language accepts."""


class FormulaTooLarge(FormulaError):
    """The text is a formula, but evaluating it exactly would cost too much."""


def _command(text: str, start: int) -> tuple[str, int]:
    """The LaTeX command whose backslash is at ``start`` (``frac``, or one symbol such as
    ``,``) and the position after it."""
    match = re.compile(r"[A-Za-z]+|.", re.DOTALL).match(text, start + 1)
    if match is None:
        raise FormulaError("a lone backslash")
    return match.group(0), match.end()


def _group(text: str, start: int) -> tuple[str, int]:
    """The content of the brace group opening at ``start`` and the position after it."""
    depth = 0
    for position in range(start, len(text)):
        if text[position] == "{":
            depth += 1
        elif text[position] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:position], position + 1
    raise FormulaError("unbalanced braces")


def _argument(text: str, start: int) -> tuple[str, int]:
    """A command's argument: a brace group, a command (``\\pi``) or one character."""
    while start < len(text) and text[start].isspace():
        start += 1
    if start >= len(text):
        raise FormulaError("a LaTeX command without its argument")
    if text[start] == "{":
        return _group(text, start)
    if text[start] == "\\":
        command, end = _command(text, start)
        return "\\" + command, end
    return text[start], start + 1


def _latex(text: str, depth: int = 0) -> str:
    if depth > MAX_BRACE_DEPTH:
        raise FormulaError("braces nested too deeply")
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\\":
            command, position = _command(text, position)
            if command in _FRACTIONS:
                numerator, position = _argument(text, position)
                denominator, position = _argument(text, position)
                out.append(f"(({_latex(numerator, depth + 1)})/({_latex(denominator, depth + 1)}))")
            elif command == "sqrt" and text[position:position + 1] == "[":
                end = text.find("]", position)
                if end < 0:
                    raise FormulaError("unbalanced brackets after \\sqrt")
                index = _latex(text[position + 1:end], depth + 1)
                radicand, position = _argument(text, end + 1)
                out.append(f"(({_latex(radicand, depth + 1)})^(1/({index})))")
            elif command in _LATEX_OPERATORS:
                out.append(f" {_LATEX_OPERATORS[command]} ")
            elif command in LATEX_FUNCTIONS or command in GREEK_LETTERS or command == "pi":
                out.append(f" {command} ")
            elif command in _LATEX_DROPPED or not command.isalpha():
                out.append(" ")  # \left( is (, and \, \; \! are spacing
            else:
                raise FormulaError(f"unsupported LaTeX command \\{command}")
        elif char == "_" and text[position + 1:position + 2] == "{":
            subscript, position = _group(text, position + 1)
            if not subscript.isalnum():
                raise FormulaError(f"unsupported subscript {subscript!r}")
            out.append("_" + subscript)
        elif char == "{":
            content, position = _group(text, position)
            out.append(f"({_latex(content, depth + 1)})")
        elif char == "}":
            raise FormulaError("unbalanced braces")
        else:
            out.append(char)
            position += 1
    return "".join(out)


def to_plain(text: str) -> str:
    """``text`` in the plain formula language (module docstring); FormulaError when it is
    empty, longer than :data:`MAX_TEXT_LENGTH` or uses unsupported LaTeX."""
    text = text.strip().rstrip(".;:").strip()
    if not text or len(text) > MAX_TEXT_LENGTH:
        raise FormulaError("empty or too long")
    text = text.replace("$", " ")
    if "\\" in text or "{" in text:
        text = _latex(text)
    for source, replacement in _TRANSLATIONS.items():
        text = text.replace(source, replacement)
    text = re.sub(r"√\s*\(", "sqrt(", text)
    text = re.sub(r"√\s*([^\W\d_]\w*|\d+(?:\.\d+)?)", r"sqrt(\1)", text)
    text = re.sub(r"\|([^|]+)\|", r"abs(\1)", text)
    return re.sub(r"([^\W\d]\w*)('+)", lambda m: m.group(1) + "_prime" * len(m.group(2)), text)
