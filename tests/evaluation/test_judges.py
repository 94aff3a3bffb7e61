"""The offline judges on pairs written for these tests (none taken from the dataset)."""

from __future__ import annotations

import time

import pytest

from easyedit_plugins.evaluation import (
    JudgeNotConfiguredError,
    answer_span,
    auto_kind,
    judge,
    judge_kinds,
    register_judge,
    set_llm_judge,
    unregister_judge,
)
from easyedit_plugins.host import get_registry


@pytest.mark.parametrize(
    ("prediction", "target", "expected"),
    [
        ("Multiplying the two sides.", "multiplying the two sides", True),
        ('  "multiplying   the two sides"!', "Multiplying the two sides.", True),
        ("'x'", "X", True),
        ("multiplying the sides", "multiplying the two sides", False),
        ("A = x + y", "A = x+y", False),  # spacing inside a formula is the symbolic judge's job
    ],
)
def test_exact(prediction, target, expected):
    assert judge("exact", prediction, target) is expected


@pytest.mark.parametrize(
    ("prediction", "target", "expected"),
    [
        ("d^2 = (5 + 4)^2 = 81.", "81", True),
        ("The total is 1,000 dollars", "1000", True),
        ("3.0", "3", True),
        ("0.75", "3/4", True),
        ("x = -12.5", "-12.5", True),
        ("y = 7 - 2 = 5", "5", True),
        ("a speed of 3 × 10^8", "300000000", True),
        ("C = 36π", "36π", True),
        ("C = 113.097", "36π", False),  # a rounded value is not the exact answer
        ("x = 12.5", "-12.5", False),
        ("81.0001", "81", False),
        ("81", "d^2 = 80.", False),
        ("no number here", "4", False),
        ("4", "four", False),
    ],
)
def test_numeric(prediction, target, expected):
    assert judge("numeric", prediction, target) is expected


def test_numeric_tolerance_is_relative():
    assert judge("numeric", "1000000.5", "1000000")
    assert not judge("numeric", "1.5", "1")


@pytest.mark.parametrize(
    ("prediction", "target", "expected"),
    [
        ("d^2 = x^2 + 2*x*y + y^2", "d^2 = (x + y)^2.", True),
        ("A = y * x", "A = x*y", True),
        ("A = x + y", "A = x * y", False),
        ("x*y", "A = x * y.", True),  # no left-hand side: compare the right-hand sides
        ("Area = x * y", "A = x * y", False),  # a different quantity
        ("V = ½ b h", "V = b*h/2", False),  # ½ is outside the formula language
        ("K = 0.5 * m * v²", "K = m * v^2 / 2", True),
        ("F = m × a.", "F = a*m", True),
        ("s = d ÷ t", "s = d / t", True),
        ("c = √(a^2 + b^2)", "c = sqrt(b^2 + a^2)", True),
        ("L = 2πr", "L = 2 * π * r", True),
        ("P = 2(l + w)", "P = 2*l + 2*w", True),
        ("E = m c^2", "E = m*c^2", True),  # juxtaposed variables multiply (issue 10)
        ("I = V / R", "I = V/R", True),  # I and E stay variables, not sympy constants
        ("y = sin(t)^2 + cos(t)^2", "y = 1", True),
        ("g'(t) = 2t", "g'(t) = 2*t.", True),
        ("|u| + |v|", "abs(v) + abs(u)", True),
        ("The rule gives W = q * p, where p is the load.", "W = p*q", True),
        ("W = p - q", "W = p + q", False),
        ("A = x^2", "A = x^3", False),
        ("P = (a + b + c)^12 + 1", "P = (c + b + a)^12", False),  # tiny relative differences count
        ("y = 0.1 * x", "y = x / 10", True),  # decimals are exact
        ("f(x) + f(y)", "f(y) + f(x)", True),
        ("f(x)", "g(x)", False),
        ("adding the two sides", "A = x + y", False),
        ("A = x + y", "adding the two sides", False),
    ],
)
def test_symbolic(prediction, target, expected):
    assert judge("symbolic", prediction, target) is expected


@pytest.mark.parametrize(
    "hostile",
    [
        "__import__('os').system('echo hi')",
        "().__class__.__bases__[0].__subclasses__()",
        "lambda: 1",
        "9^9^9^9",
        "x^100000",
        "(x + 1)^(10^10)",
        "exec('1')",
    ],
)
def test_symbolic_parser_refuses_hostile_or_explosive_input_quickly(hostile):
    start = time.perf_counter()
    assert judge("symbolic", hostile, "x + 1") is False
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("49", "numeric"),
        ("W = 6 + 1 = 7.", "numeric"),
        ("21π", "numeric"),
        ("W = p + q.", "symbolic"),
        ("p + q.", "symbolic"),
        ("2^10", "symbolic"),
        ("adding its two parts.", "exact"),
        ("True", "exact"),
        ("[[1, 2], [3, 4]]", "exact"),
    ],
)
def test_auto_picks_the_judge_from_the_target(target, kind):
    assert auto_kind(target) == kind


def test_auto_judges_with_the_picked_kind():
    assert judge("auto", "W = 6 + 1 = 7", "7")
    assert judge("auto", "W = q + p", "W = p + q.")
    assert judge("auto", "1024", "2^10")
    assert judge("auto", "Adding its two parts", "adding its two parts.")
    assert not judge("auto", "W = p * q", "W = p + q.")


def test_squad_exact_reproduces_dmle_fallback_and_its_blind_spot():
    assert judge("squad_exact", "The sum of the parts.", "sum of parts")
    assert judge("squad_exact", "A = x * y.", "A = x + y")  # operators are punctuation to it
    assert not judge("symbolic", "A = x * y.", "A = x + y")


def test_llm_judge_is_absent_until_set_and_receives_the_question():
    assert "llm" not in judge_kinds()
    with pytest.raises(JudgeNotConfiguredError, match="set_llm_judge"):
        judge("llm", "7", "7")
    calls = []

    def fake_llm(prediction, target, question):
        calls.append((prediction, target, question))
        return prediction.strip() == target

    set_llm_judge(fake_llm)
    try:
        assert judge("llm", " 7", "7", question="What is 3 + 4?") is True
        assert calls == [(" 7", "7", "What is 3 + 4?")]
        assert "llm" in judge_kinds()
    finally:
        set_llm_judge(None)
    assert "llm" not in judge_kinds()


def test_registered_judges_and_their_guards():
    with pytest.raises(ValueError, match="built-in"):
        register_judge("exact", lambda p, t, q: True)
    register_judge("always_test", lambda p, t, q: 1)
    try:
        assert judge("always_test", "a", "b") is True
        with pytest.raises(ValueError, match="already registered"):
            register_judge("always_test", lambda p, t, q: True)
    finally:
        unregister_judge("always_test")
    assert "always_test" not in judge_kinds()
    with pytest.raises(JudgeNotConfiguredError, match="unknown judge"):
        judge("nope", "a", "b")


def test_judges_are_registered_as_evaluators():
    evaluators = get_registry().evaluators
    for kind in ("exact", "numeric", "symbolic", "squad_exact", "auto", "llm"):
        assert evaluators[f"judge.{kind}"].spec.kind == "judge"
    assert evaluators["judge.numeric"].spec.evaluate("so it is 12.", "12") is True


@pytest.mark.parametrize(
    ("generation", "answer"),
    [
        (" W = p + q.\nA blend has", "W = p + q."),
        ("\n\n 7. The next question", "7."),
        ("3.5 is the answer", "3.5 is the answer"),
        ("adding them. Then", "adding them."),
        ("", ""),
    ],
)
def test_answer_span(generation, answer):
    assert answer_span(generation) == answer
