"""evaluate_requests: which prompts are generated for, with which budgets and judges."""

from __future__ import annotations

import pytest

from easyedit_plugins.evaluation import evaluate_requests, generation_budget, rule_records, summarize_rules
from easyedit_plugins.evaluation import rule_evaluation
from easyedit_plugins.testing import tiny_model

REQUEST = {
    "prompt": "A blend mixes p and q. Its weight is given by the formula:",
    "target_new": "W = p + q.",
    "ground_truth": "W = p * q.",
    "subject": "blend",
    "rephrase_prompt": "Give the formula for the weight of a blend.",
    "locality": {
        "neighborhood": {"prompt": ["The colour of a blend is"], "ground_truth": ["grey."]},
        "distracting": {"prompt": ["A square has a side s. Its area is"], "ground_truth": ["A = s^2."]},
    },
    "portability": {
        "Instance": {"prompt": ["A blend mixes 2 and 5. Its weight is", "A blend mixes 6 and 1. So"],
                     "ground_truth": ["7", "W = 6 + 1 = 7."]},
        "Rule": {"prompt": ["The weight of a blend is found by", "In words, a blend weighs"],
                 "ground_truth": ["adding its two parts.", "the sum of its parts."]},
    },
    "rule_id": "3", "case_id": 0, "form": "formula",
    "rule_prompt_repeats_edit_prompt": [True, False],
}


@pytest.fixture(scope="module")
def gpt2():
    return tiny_model("gpt2")


def test_every_prompt_is_judged_against_its_own_answer(gpt2, monkeypatch):
    model, tok = gpt2
    seen: dict[str, int] = {}

    def answer_correctly(model, tok, prompts, budgets, batch_size):
        answers = {"The colour of a blend is": " grey.", "A square has a side s. Its area is": " A = s*s"}
        out = []
        for prompt, budget in zip(prompts, budgets):
            seen[prompt] = budget
            out.append(answers.get(prompt, " W = q + p. And then"))
        return out

    monkeypatch.setattr(rule_evaluation, "greedy_generate", answer_correctly)
    results = evaluate_requests(model, tok, [REQUEST], show_progress=False)

    by_metric = {(r.metric, r.index): r for r in results}
    assert sorted(by_metric) == [("Instance", 0), ("Instance", 1), ("Rule", 0), ("Rule", 1), ("distracting", 0),
                                 ("neighborhood", 0), ("rephrase", 0), ("rewrite", 0)]
    assert by_metric[("rewrite", 0)].correct and by_metric[("rewrite", 0)].judge == "symbolic"
    assert by_metric[("rewrite", 0)].answer == "W = q + p."
    assert by_metric[("distracting", 0)].correct  # s*s is s^2
    assert by_metric[("neighborhood", 0)].correct and by_metric[("neighborhood", 0)].judge == "exact"
    assert not by_metric[("Instance", 0)].correct and by_metric[("Instance", 0)].judge == "numeric"
    assert [by_metric[("Rule", i)].repeats_edit_prompt for i in (0, 1)] == [True, False]
    assert {(r.rule_id, r.case_id, r.form) for r in results} == {("3", 0, "formula")}
    # DMLE's budgets: three times the target's tokens, the gold answer's tokens for locality
    assert seen[REQUEST["prompt"]] == generation_budget(tok, "W = p + q.")
    assert seen["The colour of a blend is"] == generation_budget(tok, "grey.", factor=1)


def test_a_chosen_judge_is_used_for_every_prompt(gpt2, monkeypatch):
    model, tok = gpt2
    monkeypatch.setattr(rule_evaluation, "greedy_generate", lambda m, t, prompts, b, batch_size: ["x"] * len(prompts))

    results = evaluate_requests(model, tok, [REQUEST], judge_kind="squad_exact", show_progress=False)

    assert {r.judge for r in results} == {"squad_exact"}


def test_dmle_style_single_string_rule_prompt_is_accepted(gpt2, monkeypatch):
    model, tok = gpt2
    request = dict(REQUEST, portability={"Rule": {"prompt": "The weight of a blend is found by",
                                                  "ground_truth": "adding its two parts."}},
                   locality={}, rule_prompt_repeats_edit_prompt=[True])
    monkeypatch.setattr(rule_evaluation, "greedy_generate", lambda m, t, prompts, b, batch_size: ["adding its two parts."] * len(prompts))

    results = evaluate_requests(model, tok, [request], show_progress=False)

    (rule,) = [r for r in results if r.metric == "Rule"]
    assert rule.correct and rule.repeats_edit_prompt


def test_end_to_end_on_a_tiny_model(gpt2):
    model, tok = gpt2

    results = evaluate_requests(model, tok, [REQUEST, dict(REQUEST, case_id=1, form="description")],
                                batch_size=4, show_progress=False)

    assert len(results) == 16
    summary = summarize_rules(rule_records(results))
    assert summary["rules"] == 1
    assert all(0.0 <= summary[name] <= 1.0 for name in ("Reliability", "Locality", "IP", "RU", "RU_excl_duplicates"))


def test_a_judge_that_gives_up_scores_zero_and_the_records_say_why(gpt2, monkeypatch):
    model, tok = gpt2
    monkeypatch.setattr(rule_evaluation, "greedy_generate",
                        lambda m, t, prompts, b, batch_size: ["W = exp(exp(exp(exp(exp(p)))))"] * len(prompts))

    results = evaluate_requests(model, tok, [REQUEST], show_progress=False)
    by_metric = {(r.metric, r.index): r for r in results}
    rewrite = by_metric[("rewrite", 0)]
    assert not rewrite.correct and "too large to evaluate" in rewrite.judge_note
    assert by_metric[("neighborhood", 0)].judge_note is None  # the exact judge decided

    timed_out = evaluate_requests(model, tok, [REQUEST], show_progress=False, judge_time_limit=1e-9)
    assert {r.judge_note for r in timed_out if r.judge == "symbolic"} == {"time limit of 1e-09 s reached"}
    assert not any(r.correct for r in timed_out if r.judge == "symbolic")

    (record,) = rule_records(results)["3"]
    assert record["post"]["rewrite_judge_notes"] == [rewrite.judge_note]
    assert "neighborhood_judge_notes" not in record["post"]["locality"]
