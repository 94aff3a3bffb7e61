"""Rule requests on the natural world: RuleEdit-shaped, worked answers of the NEW rule,
held-out instances first, Rule Understanding prompts flagged where they repeat an edit prompt."""

from __future__ import annotations

import pytest

from easyedit_plugins.world.data import RULE_FORMS
from easyedit_plugins.world.natural import NATURAL_RULE_TEMPLATES, NaturalWorldSpec, build_natural_world, worked
from easyedit_plugins.world.requests import rule_requests

SMALL = NaturalWorldSpec(subjects=30, cities=5, languages=4, professions=4, rules=4, operand_max=4,
                         held_out_operands=3, skill_lines=20, filler_lines=10)


@pytest.fixture(scope="module")
def world():
    return build_natural_world(SMALL, seed=5)


def _cases(requests, rule_id):
    return {r["form"]: r for r in requests if r["rule_id"] == rule_id}


def test_three_cases_per_rule_teach_one_new_rule_in_the_worked_form(world):
    requests = rule_requests(world, seed=2)
    assert requests == rule_requests(world, seed=2)
    assert [r["case_id"] for r in requests] == list(range(len(requests)))
    assert {r["rule_id"] for r in requests} == {rule.rule_id for rule in world.rules}
    for rule in world.rules:
        cases = _cases(requests, rule.rule_id)
        assert set(cases) == set(RULE_FORMS)
        formula = cases["formula"]["target_new"]
        assert formula != rule.formula and cases["formula"]["ground_truth"] == rule.formula
        assert cases["description"]["ground_truth"] == rule.description
        instance = cases["instance"]
        # The instance's new answer is the NEW rule worked out, in the world's worked form.
        assert instance["target_new"].startswith(f"{rule.symbol} = ") and instance["target_new"].endswith(".")
        assert instance["target_new"] != instance["ground_truth"]
        assert instance["ground_truth"].split("= ")[-1] != instance["target_new"].split("= ")[-1]
        for form, request in cases.items():
            assert request["subject"] == rule.name and rule.name in request["prompt"]
            assert request["prompt"] != request["rephrase_prompt"]
            assert request["prompt"] in [t.format(name=rule.name, x=x, y=y) for t in NATURAL_RULE_TEMPLATES[form]
                                         for x in range(1, 5) for y in range(1, 5)]
            neighbours = request["locality"]["neighborhood"]["prompt"]
            assert len(neighbours) == 2 and all(rule.name not in p for p in neighbours)


def test_instance_portability_asks_other_operands_held_out_first_against_the_new_rule(world):
    requests = rule_requests(world, seed=2, instances=4)
    assert any(r["instance_held_out"][0] for r in requests), "held-out operand pairs should be asked"
    for rule in world.rules:
        cases = _cases(requests, rule.rule_id)
        portability = cases["formula"]["portability"]["Instance"]
        flags = cases["formula"]["instance_held_out"]
        assert 1 <= len(portability["prompt"]) == len(portability["ground_truth"]) == len(flags) <= 4
        assert cases["instance"]["prompt"] not in portability["prompt"]
        assert flags == sorted(flags, reverse=True)  # held-out pairs come first
        hidden = set(world.held_out_operands[rule.rule_id])
        for prompt, answer, held_out in zip(portability["prompt"], portability["ground_truth"], flags):
            # Parse the operands back out of the prompt and recompute the answer with the new formula.
            x, y = (int(word.rstrip(".")) for word in prompt.split() if word.rstrip(".").isdigit())
            assert ((x, y) in hidden) == held_out
            assert answer.split("= ")[-1] != worked(rule, x, y).split("= ")[-1]  # the edit changes it
        # Every case of the rule asks the same instances.
        assert all(c["portability"]["Instance"] == portability for c in cases.values())


def test_rule_understanding_is_ruleedit_shaped_and_flags_repeated_edit_prompts(world):
    requests = rule_requests(world, seed=2)
    for rule in world.rules:
        cases = _cases(requests, rule.rule_id)
        edit_prompts = {r["prompt"] for r in cases.values()}
        for form, request in cases.items():
            understanding = request["portability"]["Rule_Understanding"]
            flags = request["rule_prompt_repeats_edit_prompt"]
            others = [f for f in ("formula", "description") if f != form]
            assert len(understanding["prompt"]) == len(flags) == 2 * len(others)
            for prompt, answer, repeated in zip(understanding["prompt"], understanding["ground_truth"], flags):
                assert repeated == (prompt in edit_prompts - {request["prompt"]})
                assert answer in (cases[f]["target_new"] for f in others)
            assert sum(flags) == len(others)  # one repeat and one other wording per other form


def test_only_rules_the_model_knows_are_used(world):
    forgotten = world.rules[1]

    def knows(pairs):
        return [forgotten.name not in prompt for prompt, _ in pairs]

    requests = rule_requests(world, seed=2, knows=knows)
    assert forgotten.rule_id not in {r["rule_id"] for r in requests}
    assert all(forgotten.name not in p for r in requests for p in r["locality"]["neighborhood"]["prompt"])
    with pytest.raises(ValueError, match="not usable"):
        rule_requests(world, knows=knows, rules=[forgotten.rule_id])
