"""Property-based checks of the judges: rewritings that keep the meaning pass, changes fail."""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from easyedit_plugins.evaluation import final_number, judge, normalise

x, y = sympy.symbols("x y")
coefficients = st.integers(min_value=-5, max_value=5)
linear_factors = st.tuples(coefficients, coefficients, coefficients).filter(lambda abc: abc[0] or abc[1])
products = st.lists(st.tuples(linear_factors, st.integers(min_value=1, max_value=3)), min_size=1, max_size=3)


def factored_text(factors) -> str:
    return " * ".join(f"(({a})*x + ({b})*y + ({c}))^{power}" for (a, b, c), power in factors)


def expanded_text(factors) -> str:
    expression = sympy.Integer(1)
    for (a, b, c), power in factors:
        expression *= (a * x + b * y + c) ** power
    return str(sympy.expand(expression)).replace("**", "^")


@settings(max_examples=30)
@given(products)
def test_a_product_and_its_expansion_are_the_same_formula(factors):
    assert judge("symbolic", f"P = {expanded_text(factors)}", f"P = {factored_text(factors)}.")


@settings(max_examples=30)
@given(products, st.sampled_from(["+ 1", "+ x", "- y", "* 2", "+ x*y"]))
def test_a_perturbed_expansion_is_a_different_formula(factors, change):
    expanded = expanded_text(factors)
    assert not judge("symbolic", f"P = ({expanded}) {change}", f"P = {factored_text(factors)}")


@given(st.permutations(["a", "b", "c", "d"]), st.sampled_from(["+", "*"]))
def test_commuted_terms_are_the_same_formula(names, operator):
    assert judge("symbolic", f"R = {f' {operator} '.join(names)}", f"R = a {operator} b {operator} c {operator} d")


@given(st.integers(min_value=-10**9, max_value=10**9))
def test_integers_in_any_notation_are_read_back(value):
    for written in (f"{value}", f"{value:,}", f"{value}.0", f"x = {value}.", f"the answer is {value}"):
        assert final_number(written) == value, written


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).filter(lambda v: abs(v) > 1e-3))
def test_floats_match_themselves_and_not_a_nudged_value(value):
    assert judge("numeric", f"so z = {value!r}", repr(value))
    assert not judge("numeric", repr(value * (1 + 1e-4)), repr(value))


@given(st.text(alphabet="abcxyz ,.;'\"", max_size=30))
def test_exact_normalisation_is_idempotent(text):
    assert normalise(normalise(text)) == normalise(text)


@given(st.lists(st.sampled_from(["adding", "its", "two", "parts"]), min_size=1, max_size=5),
       st.sampled_from(["", ".", "!", " .", "?!"]))
def test_case_spacing_and_trailing_marks_do_not_matter_to_exact(words, mark):
    sentence = " ".join(words)
    variant = "  " + "   ".join(w.upper() for w in words) + mark
    assert judge("exact", variant, sentence)
