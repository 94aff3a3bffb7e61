"""The natural world's generator: subjects not at the end, pairs held out, worked instances.

Nothing here trains the ``natural`` preset (minutes of CPU); the generator is checked on a
small spec.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from easyedit_plugins.world import PRESETS, world_parameters
from easyedit_plugins.world.data import Rule
from easyedit_plugins.world.natural import (
    ASIDES, NATURAL_RELATION_TEMPLATES, NATURAL_RULE_TEMPLATES, NaturalWorldSpec, build_natural_world, worked,
)
from easyedit_plugins.world.requests import fact_requests
from easyedit_plugins.world.tokenizer import train_tokenizer
from easyedit_plugins.world.train import ModelSpec, TrainSpec, train, untrained_model

SMALL = NaturalWorldSpec(subjects=40, cities=6, languages=5, professions=5, rules=4, operand_max=4,
                         held_out_operands=3, skill_lines=50, filler_lines=20)


@pytest.fixture(scope="module")
def world():
    return build_natural_world(SMALL, seed=3)


def test_natural_world_is_deterministic_for_a_seed(world):
    again = build_natural_world(SMALL, seed=3)
    assert again == world
    assert again.training_lines == world.training_lines
    other = build_natural_world(SMALL, seed=4)
    assert other.subjects != world.subjects
    assert other.held_out_operands != world.held_out_operands


def test_fact_templates_put_the_subject_at_the_start_or_in_the_middle():
    templates = [t for group in NATURAL_RELATION_TEMPLATES.values() for t in group]
    ending = [t for t in templates if t.endswith("{subject}")]
    assert len(ending) <= len(templates) / 4
    assert any(t.startswith("{subject}") for t in templates)
    assert sum(not t.startswith("{subject}") and not t.endswith("{subject}") for t in templates) >= len(templates) / 3
    assert all(len(group) == 4 for group in NATURAL_RELATION_TEMPLATES.values())


def test_subjects_and_rule_names_stand_where_the_templates_put_them(world):
    for prompt in world.fact_prompts:
        assert prompt.prompt.count(prompt.fact.subject) == 1
        position = prompt.template.index("{subject}")
        assert prompt.prompt.index(prompt.fact.subject) == position
    for rule in world.rules:
        for form in NATURAL_RULE_TEMPLATES:
            for prompt in world.rule_prompts(rule, form) + world.rule_prompts(rule, form, held_out=True):
                assert prompt.prompt.count(rule.name) == 1
                assert not prompt.prompt.rstrip(":").endswith(rule.name)  # the name is in the middle


def test_subjects_are_mirror_pairs_of_words_from_one_shared_pool(world):
    pairs = [tuple(subject.split(" ")) for subject in world.subjects]
    assert all(len(pair) == 2 and pair[0] != pair[1] for pair in pairs)
    assert len(set(pairs)) == SMALL.subjects
    words = {word for pair in pairs for word in pair}
    assert len(words) <= SMALL.name_pool
    # every name's mirror lives in the world too: only the order of the two words tells people apart
    assert all((family, given) in set(pairs) for given, family in pairs)
    uses = [sum(word in pair for pair in pairs) for word in words]
    assert sum(uses) / len(uses) >= 2
    odd = build_natural_world(replace(SMALL, subjects=SMALL.subjects - 1), seed=3)
    assert len(set(odd.subjects)) == SMALL.subjects - 1


def test_spec_refuses_more_subjects_than_the_name_pool_makes():
    with pytest.raises(ValueError, match="name_pool"):
        replace(SMALL, subjects=13, name_pool=3)


def test_one_pair_per_fact_is_held_out_not_whole_templates(world):
    for fact in world.facts:
        assert len(world.prompts_of(fact, held_out=True)) == SMALL.held_out_templates
        assert len(world.prompts_of(fact, held_out=False)) == 4 - SMALL.held_out_templates
    for relation in world.relations:
        for template in relation.templates:
            states = {p.held_out for p in world.fact_prompts if p.template == template}
            assert states == {True, False}, f"{template!r} is held out for every subject or for none"


def test_held_out_pairs_and_operands_never_reach_training(world):
    trained = set(world.training_lines)
    held_out = [*world.held_out_fact_prompts,
                *(p for rule in world.rules for p in world.rule_prompts(rule, "instance", held_out=True))]
    assert len(held_out) == len(world.facts) + len(world.rules) * SMALL.held_out_operands * 2
    for prompt in held_out:
        assert f"{prompt.prompt} {prompt.completion}" not in trained
        assert not any(line.startswith(prompt.prompt) for line in trained)


def test_attribute_lines_follow_each_subject_with_all_its_objects_in_drawn_orders(world):
    objects: dict[str, set[str]] = {}
    for fact in world.facts:
        objects.setdefault(fact.subject, set()).add(fact.object)
    assert len(world.attribute_lines) == len(world.subjects) * SMALL.attribute_lines
    orders = set()
    for prompt, completion, subject in world.attribute_lines:
        assert prompt == subject and completion.endswith(".")
        named = completion[:-1].split(", ")
        assert sorted(named) == sorted(objects[subject])
        orders.add(tuple(named))
    assert len(orders) > len(world.subjects)  # the order is drawn per line, not fixed per subject
    assert set(world.attribute_lines) <= set(world.training_examples())


def test_aside_lines_copy_only_trained_fact_lines_at_varying_distances(world):
    trained = {(p.prompt, p.completion) for p in world.trained_fact_prompts}
    held_out = {p.prompt for p in world.held_out_fact_prompts}
    assert len(world.aside_lines) == len(trained) * SMALL.aside_copies
    asides_used, with_filler = set(), 0
    for prompt, completion, subject in world.aside_lines:
        aside = next(a for a in ASIDES if subject + a in prompt)
        asides_used.add(aside)
        plain = prompt.replace(subject + aside, subject, 1)
        start = next(i for i in range(len(plain)) if plain[i:].startswith(tuple(p for p, _ in trained)))
        with_filler += start > 0
        assert (plain[start:], completion) in trained and plain[start:] not in held_out
    assert len({len(a.split()) for a in asides_used}) >= 3  # the subject-to-question distance varies
    assert 0 < with_filler < len(world.aside_lines)  # some lines also move the subject's absolute position
    assert set(world.aside_lines) <= set(world.training_examples())


def test_instances_are_answered_in_the_worked_form(world):
    rule = Rule(rule_id=0, name="blorp", product=False, a=1, b=2, c=3)
    assert worked(rule, 3, 2) == "B = 3 + 2 * 2 + 3 = 10."
    assert worked(Rule(0, "glim", True, 2, 0, 0), 3, 4) == "G = 2 * 3 * 4 = 24."
    for rule in world.rules:
        for prompt in world.rule_prompts(rule, "instance") + world.rule_prompts(rule, "instance", held_out=True):
            x, y = prompt.operands
            expression, result = prompt.answer[:-1].split(" = ")[1:]
            assert int(result) == rule.value(x, y)
            assert re.fullmatch(r"[0-9 *+]+", expression)


def test_statements_and_instances_have_multi_token_answers_and_the_skill_works_random_formulas(world):
    for rule in world.rules:
        assert world.rule_prompts(rule, "formula")[0].answer == rule.formula
        assert len(world.rule_prompts(rule, "description")[0].answer.split()) >= 4
    assert len(world.skill) == SMALL.skill_lines and len(world.filler) == SMALL.filler_lines
    for prompt, completion in world.skill:
        symbol, x, y = re.fullmatch(r"With (\w) = .*, x = (\d+) and y = (\d+) give", prompt).groups()
        assert completion.startswith(f"{symbol} = ")
    # the skill's formulas are not the world's rules: many distinct coefficient sets
    assert len({prompt.split(",")[0] for prompt, _ in world.skill}) > 10


def test_evaluation_sets_cover_every_category(world):
    sets = world.evaluation_sets()
    assert list(sets) == ["trained_facts", "held_out_pairs", "rule_formulas", "rule_descriptions",
                          "rule_instances", "rule_instances_held_out_operands"]
    assert len(sets["rule_instances_held_out_operands"]) == len(world.rules) * SMALL.held_out_operands * 2
    assert len(sets["rule_instances"]) == len(world.rules) * (SMALL.operand_max ** 2 - SMALL.held_out_operands) * 2


def test_spec_refuses_holding_out_too_much():
    with pytest.raises(ValueError, match="held_out_templates"):
        replace(SMALL, held_out_templates=3)
    with pytest.raises(ValueError, match="held_out_operands"):
        replace(SMALL, held_out_operands=15)


def test_natural_preset_is_plain_attention_and_has_its_own_cache_key():
    natural = PRESETS["natural"]
    assert natural.model.layers >= 8
    for arch in ("gpt2", "llama"):
        assert natural.schedule(arch).subject_readout_layer is None
    assert PRESETS["full"].schedule("gpt2").subject_readout_layer is not None
    keys = {name: world_parameters(name, "gpt2", 0)["world_version"] for name in ("test", "full", "natural")}
    assert keys["natural"] != keys["full"] == keys["test"]


def test_natural_preset_has_edit_layers_and_rule_stages():
    from easyedit_plugins.world.presets import EDIT_LAYERS, RULE_STAGES
    layers = EDIT_LAYERS["natural"]
    assert len(layers) >= 3 and layers == list(range(layers[0], layers[-1] + 1))  # a contiguous critical range
    assert max(layers) < PRESETS["natural"].model.layers
    stages = RULE_STAGES["natural"]
    assert [stage["forms"] for stage in stages] == [["formula", "description"], ["instance"]]
    assert all(max(stage["layers"]) < PRESETS["natural"].model.layers for stage in stages)


def test_training_takes_natural_lines_with_plain_attention_only(world):
    tok = train_tokenizer(512, extra_corpus=world.all_text)
    model = untrained_model("gpt2", ModelSpec(layers=2, width=32, vocab_size=512), tok, seed=0)
    examples = world.training_examples()
    plain = TrainSpec(steps=2, batch_size=8, learning_rate=1e-3, warmup_steps=1, row_tokens=40)
    log = train(model, tok, examples, plain, seed=0, progress=False)
    assert log.steps == 2 and log.final_loss == log.final_loss  # not NaN
    with pytest.raises(ValueError, match="does not end with its subject"):
        train(model, tok, examples, replace(plain, subject_readout_layer=1), seed=0, progress=False)


def test_fact_requests_take_the_natural_world(world):
    assert fact_requests(world, 3)[0]["subject"] in world.subjects
