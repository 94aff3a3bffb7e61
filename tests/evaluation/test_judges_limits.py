"""Every judge call answers True or False, fast, and compares exactly (issue 10, section 2)."""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from easyedit_plugins.evaluation import (
    Verdict,
    auto_kind,
    final_number,
    formulas_equivalent,
    judge,
    judge_time_limit,
    numeric_judge,
    parse_formula,
    set_judge_time_limit,
    verdict,
)
from easyedit_plugins.evaluation.formulas import formula_verdict
from easyedit_plugins.evaluation.numbers import numeric_verdict

FIVE_EXPS = "exp(exp(exp(exp(exp(x)))))"


def timed(kind: str, prediction: str, target: str) -> tuple[Verdict, float]:
    start = time.perf_counter()
    result = verdict(kind, prediction, target)
    return result, time.perf_counter() - start


@pytest.mark.parametrize(
    ("kind", "prediction", "target", "expected"),
    [
        ("numeric", "3 × 10^400", "3", False),  # OverflowError before
        ("numeric", "3 × 10^400", "c = 3 × 10^400.", True),
        ("numeric", "3 × 10^400", "3 × 10^401", False),
        ("symbolic", FIVE_EXPS, "x", False),  # OverflowError after 30 s before
        ("symbolic", FIVE_EXPS, FIVE_EXPS, True),
        ("symbolic", "exp(exp(exp(exp(x))))", "x", False),  # 12-113 s before
        ("symbolic", "exp(exp(exp(exp(x))))", "exp(exp(exp(exp(y))))", False),
        ("auto", FIVE_EXPS, "y = exp(exp(exp(exp(exp(x)))))", True),
    ],
)
def test_overflowing_and_slow_inputs_answer_quickly(kind, prediction, target, expected):
    result, seconds = timed(kind, prediction, target)
    assert result.correct is expected
    assert seconds < 1.0


def test_a_judge_that_cannot_evaluate_says_why():
    result = verdict("symbolic", FIVE_EXPS, "x")
    assert result.correct is False and "too large" in result.reason
    assert "beyond" in verdict("numeric", "1e99999", "1e99999").reason
    assert "too large" in verdict("symbolic", "9^9^9", "x").reason
    assert verdict("symbolic", "x + 1", "x").reason is None  # a decision, not giving up


@pytest.mark.parametrize(
    ("kind", "prediction", "target", "expected"),
    [
        ("symbolic", "(x+y+z+w)^60", "(x+y+z+w)^60 + 1", False),  # judged equal before
        ("symbolic", "(x+y+z+w)^60", "(w+z+y+x)^60", True),
        ("symbolic", "(x+y)^2 * (x+y)^58", "(x+y)^60", True),
        ("symbolic", "exp(x)^200 + 1", "exp(200x)", False),  # values near 1e217: the 1 still counts
        ("symbolic", "exp(x)^200", "exp(200 x)", True),
        ("symbolic", "2^1000 * x", "2^1000 * x + 1", False),
        ("symbolic", "1e999", "1e998", False),
        ("symbolic", "1e999", "10^999", True),
        ("numeric", "1e999", "1e998", False),  # equal before (both inf)
        ("numeric", "1e999", "1.0e999", True),
        ("numeric", "1e-400", "0", True),  # below the absolute tolerance, as 1e-12 is
        ("numeric", "615.75", "196π", False),
    ],
)
def test_comparisons_are_exact_at_any_magnitude(kind, prediction, target, expected):
    assert judge(kind, prediction, target) is expected


@pytest.mark.parametrize(
    ("prediction", "target", "expected"),
    [
        ("E = m c^2", "E = m*c^2", True),
        ("E = m c^3", "E = m*c^2", False),
        ("F = G m_1 m_2 / r^2", "F = G*m_1*m_2/r^2", True),
        ("s = v0 t + a t^2 / 2", "s = v0*t + a*t^2/2", True),
        ("A = pi r^2", "A = π*r^2", True),
        ("x = m sin(t)", "x = m*sin(t)", True),
        ("So A = x + y", "A = x + y", True),  # a sentence around the equation is not a product
        ("the area A = x y", "A = x*y", True),
    ],
)
def test_juxtaposed_variables_multiply(prediction, target, expected):
    assert judge("symbolic", prediction, target) is expected


@pytest.mark.parametrize(
    ("prediction", "target", "expected"),
    [
        (r"E = \frac{m}{2} c^{2}", "E = m*c^2/2", True),
        (r"y = \dfrac{a + b}{c}", "y = (a + b)/c", True),
        (r"y = \frac12 x", "y = x/2", True),
        (r"F = m \cdot a", "F = m*a", True),
        (r"F = m \times a", "F = m*a", True),
        (r"A = x^{2 + n}", "A = x^(n + 2)", True),
        (r"$c = \sqrt{a^{2} + b^{2}}$", "c = sqrt(a^2 + b^2)", True),
        (r"y = \sqrt[3]{x}", "y = x^(1/3)", True),
        (r"L = 2 \pi r", "L = 2*π*r", True),
        (r"y = \sin^2(\theta) + \cos^2(\theta)", "y = 1", True),
        (r"v = v_{0} + a t", "v = v_0 + a*t", True),
        (r"y = \left(a + b\right)^{2}", "y = (a + b)^2", True),
        (r"F = m \cdot a", "F = m + a", False),
        (r"y = \int x \, dx", "y = x^2/2", False),  # documented as unsupported
        (r"y = \frac{a}{b", "y = a/b", False),  # unbalanced
    ],
)
def test_common_latex(prediction, target, expected):
    assert judge("symbolic", prediction, target) is expected


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: judge("symbolic", None, "x"), "prediction"),
        (lambda: judge("numeric", "1", 1), "target"),
        (lambda: judge("exact", "a", "a", question=3), "question"),
        (lambda: judge("auto", b"x", "x"), "prediction"),
        (lambda: verdict("squad_exact", "x", ["x"]), "target"),
        (lambda: formulas_equivalent(1.5, "x"), "prediction"),
        (lambda: numeric_judge("1", None), "target"),
        (lambda: final_number(12), "text"),
        (lambda: parse_formula(None), "text"),
        (lambda: auto_kind(7), "target"),
    ],
)
def test_non_string_input_is_a_type_error_naming_the_argument(call, argument):
    with pytest.raises(TypeError, match=f"{argument} must be a str"):
        call()


def test_the_time_limit_answers_false_with_the_reason():
    result = verdict("symbolic", "sin(x)^2 + cos(x)^2", "1", time_limit=1e-9)
    assert result == Verdict(False, "time limit of 1e-09 s reached")
    assert verdict("symbolic", "sin(x)^2 + cos(x)^2", "1").correct  # the default limit is ample


def test_the_time_limit_is_configurable():
    assert judge_time_limit() == 2.0
    set_judge_time_limit(1e-9)
    try:
        assert judge_time_limit() == 1e-9
        assert verdict("symbolic", "x + 1", "1 + x").reason.startswith("time limit")
        assert verdict("symbolic", "x + 1", "1 + x", time_limit=5).correct
    finally:
        set_judge_time_limit(None)
    assert judge_time_limit() == 2.0
    for bad in (0, -1, math.nan, math.inf, "2", True):
        with pytest.raises(ValueError, match="positive number of seconds"):
            set_judge_time_limit(bad)
        with pytest.raises(ValueError, match="positive number of seconds"):
            judge("symbolic", "x", "x", time_limit=bad)


def test_the_time_limit_works_in_worker_threads_and_leaves_nothing_running():
    before = threading.active_count()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda limit: verdict("symbolic", FIVE_EXPS, "x", time_limit=limit), [1e-9, 5]))
    assert results[0].reason.startswith("time limit") and results[1].reason.startswith("6 of the sample points")
    assert threading.active_count() == before


@pytest.mark.parametrize(
    "hostile",
    [
        "9^9^9^9", "x^100000", "(x + 1)^(10^10)", "(x+y)^1000 - 1", "2^(x*4194304)", "sin(10^300 x)",
        "(" * 60 + "x" + ")" * 60, "-" * 300 + "x", "x*" * 499 + "x", "1" * 999, "1e99999 x",
        "sqrt(" * 30 + "x" + ")" * 30, "exp(" * 30 + "x" + ")" * 30, "x^(x^(x^(x^(x^x))))",
        "tan(pi/2) + cot(0)", "log(0*x)", "1/(x-x)", "0^(-x)", "(-x)^(1/3)", "f(f(f(f(f(x)))))",
        "\\frac{" * 30 + "x" + "}{2}" * 30, "{" * 200 + "x" + "}" * 200, "$" * 900, "x" * 5000,
    ],
)
def test_hostile_formulas_answer_quickly_and_never_raise(hostile):
    for prediction, target in ((hostile, "x + 1"), ("x + 1", hostile), (hostile, hostile)):
        start = time.perf_counter()
        assert formula_verdict(prediction, target).correct in (True, False)  # no safety net here
        assert numeric_verdict(prediction, target).correct in (True, False)
        for kind in ("exact", "squad_exact", "auto"):
            assert judge(kind, prediction, target) in (True, False)
        assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    "text",
    ["1" * 100_000, "1," * 50_000, "-" * 100_000 + "1", "'" * 100_000, "3 × 10^" + "9" * 10_000,
     "1/" * 50_000, "1e" + "9" * 5000, "π" * 50_000],
)
def test_long_input_answers_quickly(text):
    start = time.perf_counter()
    for kind in ("exact", "numeric", "symbolic", "squad_exact", "auto"):
        assert judge(kind, text, text[:100]) in (True, False)
    assert time.perf_counter() - start < 5.0
