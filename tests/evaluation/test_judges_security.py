"""No judge input runs code (issue 10, section 1).

The exploit: the old formula parser let ``.`` and calls through and bound every name to a sympy
``Symbol`` or ``Function``; an attribute chain on those objects builds any string without
quotes or ``__`` (here: an integer's bytes, decoded), and a sympy function applied to a string
``sympify``-s it with builtins in scope. Every test plants a canary file that the payload would
create and checks it never appears.
"""

from __future__ import annotations

import string
import time
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from easyedit_plugins.evaluation import auto_kind, evaluate_requests, judge, parse_formula
from easyedit_plugins.evaluation import rule_evaluation
from easyedit_plugins.evaluation.formulas import is_formula
from easyedit_plugins.testing import tiny_model

KINDS = ("exact", "numeric", "symbolic", "squad_exact", "auto")


def attribute_chain(code: str) -> str:
    """An expression that evaluates to the string ``code`` using attribute access and calls
    only: no quotes, no ``__``, nothing outside the old parser's character filter."""
    data = code.encode()
    return f"({int.from_bytes(data, 'big')}).p.to_bytes({len(data)}).decode()"


def touching(canary: Path) -> str:
    return f"__import__('pathlib').Path({str(canary)!r}).touch()"


def fromhex_chain(code: str) -> str:
    return f"bytes.fromhex({code.encode().hex()}).decode()"


@pytest.fixture
def canary(tmp_path):
    return tmp_path / "canary"


@pytest.mark.parametrize(
    ("kind", "prediction", "target"),
    [
        ("symbolic", "sin({})", "x + 1"),  # inside a known function
        ("symbolic", "f({})", "x + 1"),  # inside an unknown function
        ("symbolic", "y = exp({}) + 1", "y = x + 1"),  # deeper inside an equation
        ("symbolic", "f({}) = x", "g(x) = x"),  # on the left-hand side
        ("symbolic", "x + 1", "y = f({})"),  # in the target
        ("symbolic", "x + 1", "sin({})"),  # a known function in the target
        ("auto", "x", "y = f({})"),  # through auto's kind detection, which parses targets
        ("auto", "x", "sqrt({})"),
        ("numeric", "{}", "f({})"),
        ("exact", "f({})", "f({})"),
    ],
)
def test_attribute_chains_never_run(kind, prediction, target, canary):
    payload = attribute_chain(touching(canary))
    assert judge(kind, prediction.format(payload), target.format(payload)) in (True, False)
    assert not canary.exists(), "a judge input ran code"


def test_auto_kind_is_formula_and_parse_formula_never_run(canary):
    payload = attribute_chain(touching(canary))
    for text in (f"y = f({payload})", f"sin({payload})", f"{payload}"):
        assert auto_kind(text) in ("numeric", "symbolic", "exact")
        assert is_formula(text) is False
        with pytest.raises(ValueError):
            parse_formula(text)
    assert not canary.exists(), "a judge input ran code"


def test_a_doctored_target_never_runs_during_rule_evaluation(canary, monkeypatch):
    """A RuleEdit file whose targets carry the payload, graded by ``auto`` as ``ruleedit`` does."""
    chain = attribute_chain(touching(canary))
    request = {
        "prompt": "A blend mixes p and q. Its weight is", "target_new": f"W = f({chain})",
        "ground_truth": "W = p * q.", "subject": "blend", "rephrase_prompt": f"sin({chain})",
        "portability": {"Instance": {"prompt": ["Mix 2 and 5:"], "ground_truth": [f"y = exp({chain})"]}},
        "rule_id": "1", "case_id": 0, "form": "formula",
    }
    monkeypatch.setattr(rule_evaluation, "greedy_generate",
                        lambda model, tok, prompts, budgets, batch_size: [f" g({chain})" for _ in prompts])
    model, tok = tiny_model("gpt2")
    results = evaluate_requests(model, tok, [request], show_progress=False)
    assert [r.correct for r in results] == [False, False, False]
    assert not canary.exists()


@pytest.fixture(scope="module")
def canary_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("canary")


_FRAGMENTS = [
    "x", "y", "f", "sin", "exp", "sqrt", "_", "__", "__class__", "__import__", "__builtins__", "__globals__",
    "__subclasses__()", ".", ".name", ".p", ".func", ".args", ".to_bytes(2)", ".decode()", ".fromhex", ".format",
    "bytes.fromhex", "'", '"', "'os'", '"sh"', "(", ")", "[", "]", "[0]", ",", ":", "lambda", "lambda: 0",
    "**", "^", "=", "+", "-", "*", "/", " ", "eval", "exec", "open", "getattr", "import os", "os.system",
    "\\frac{", "}", "{", "\\", "$", "|", "√", "π", "×", "'", "9^9^9", "1e999", "3 × 10^400", "exp(exp(exp(",
]


@st.composite
def hostile_texts(draw, canary: Path) -> str:
    code = touching(canary)
    payloads = [attribute_chain(code), fromhex_chain(code), f"Symbol({attribute_chain(code)})"]
    pieces = st.one_of(
        st.sampled_from(_FRAGMENTS),
        st.sampled_from(payloads),
        st.text(alphabet=string.printable, max_size=12),
    )
    text = "".join(draw(st.lists(pieces, min_size=1, max_size=10)))
    function = draw(st.sampled_from(["f", "sin", "exp", "sqrt", "g", "Function", "S"]))
    depth = draw(st.integers(min_value=0, max_value=4))
    return f"{function}(" * depth + text + ")" * depth


@settings(max_examples=150)
@given(data=st.data())
def test_fuzzed_hostile_input_never_runs_and_always_answers(canary_folder, data):
    canary = canary_folder / "canary"
    prediction = data.draw(hostile_texts(canary), label="prediction")
    target = data.draw(hostile_texts(canary), label="target")
    for kind in KINDS:
        for first, second in ((prediction, target), (target, prediction), (prediction, prediction)):
            start = time.perf_counter()
            assert judge(kind, first, second) in (True, False)
            assert time.perf_counter() - start < 5.0
    assert not canary.exists(), "a judge input ran code"


def test_parse_formula_builds_sympy_expressions_from_the_tree():
    e, m, c, t = sympy.symbols("E m c t")
    assert parse_formula("E = m c^2") == parse_formula("E = m*c^2")
    formula = parse_formula(r"E = \frac{m}{2} c^{2}")
    assert formula.lhs == e and sympy.simplify(formula.rhs - m * c**2 / 2) == 0
    assert parse_formula("g'(t) + sin(t)").rhs == sympy.Function("g_prime")(t) + sympy.sin(t)
    start = time.perf_counter()
    assert parse_formula("sqrt(10^999 + 1) + (10^999 + 1)^(1/3)").lhs is None  # roots left unfactored
    assert time.perf_counter() - start < 1.0
    for text in ("x.name", "f(x)[0]", "lambda: 0", "f(x, y)", "'x'", "x.__class__", "__import__(os)", "sin"):
        with pytest.raises(ValueError):
            parse_formula(text)
