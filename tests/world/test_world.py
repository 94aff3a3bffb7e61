"""The miniature world: knowledge base, request builders, training, cache, command."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from easyedit_plugins.cli import main
from easyedit_plugins.testing import world_model_factory
from easyedit_plugins.world import (
    PRESETS, load_world_model, world_model_path, world_parameters, world_statistics_corpus,
)
from easyedit_plugins.world.cache import (
    CACHE_ENVIRONMENT_VARIABLE, MANIFEST_NAME, build_once, cache_root, is_complete, parameters_key,
)
from easyedit_plugins.world.data import RELATION_TEMPLATES, RULE_FORMS, Rule, WorldSpec, build_world
from easyedit_plugins.world.evaluation import greedy_hits
from easyedit_plugins.world.presets import WorldPreset
from easyedit_plugins.world.requests import editable_fact_count, fact_requests, rule_requests
from easyedit_plugins.world.tokenizer import train_tokenizer
from easyedit_plugins.threads import torch_threads
from easyedit_plugins.world.train import WORLD_ARCHES, ModelSpec, TrainSpec, idle_cores, train, untrained_model

SMALL = WorldSpec(subjects=40, cities=6, languages=5, professions=5, rules=4, instance_max=3)


@pytest.fixture(scope="module")
def world():
    return build_world(SMALL, seed=7)


# --- knowledge base -------------------------------------------------------------------------

def test_world_is_deterministic_for_a_seed(world):
    again = build_world(SMALL, seed=7)
    assert again == world
    assert again.training_lines == world.training_lines
    assert build_world(SMALL, seed=8).subjects != world.subjects


def test_every_subject_relation_pair_holds_out_templates_not_whole_templates(world):
    for fact in world.facts:
        held_out = world.prompts_of(fact, held_out=True)
        trained = world.prompts_of(fact, held_out=False)
        assert len(held_out) == SMALL.held_out_templates
        assert len(trained) == len(RELATION_TEMPLATES[fact.relation]) - SMALL.held_out_templates
    for relation in world.relations:
        for template in relation.templates:
            states = {p.held_out for p in world.fact_prompts if p.template == template}
            assert states == {True, False}, f"{template!r} is held out for every subject or for none"


def test_held_out_pairs_never_reach_training(world):
    trained = set(world.training_lines)
    for prompt in world.held_out_fact_prompts:
        assert f"{prompt.prompt} {prompt.completion}" not in trained


def test_names_are_distinct_and_subjects_appear_verbatim_and_unambiguously(world):
    names = [*world.subjects, *(o for r in world.relations for o in r.objects), *(r.name for r in world.rules)]
    assert len({n.lower() for n in names}) == len(names)
    for prompt in world.fact_prompts:
        assert prompt.prompt.count(prompt.fact.subject) == 1
    for rule in world.rules:
        for form in RULE_FORMS:
            for prompt in world.rule_prompts(rule, form):
                assert prompt.prompt.count(rule.name) == 1


def test_rule_forms_agree():
    rule = Rule(rule_id=0, name="blorp", product=False, a=1, b=2, c=3)
    assert rule.formula == "B = x + 2 * y + 3."
    assert rule.description == "the first number plus twice the second plus 3."
    assert rule.value(3, 4) == 14
    product = Rule(rule_id=1, name="zent", product=True, a=2, b=0, c=0)
    assert (product.formula, product.value(2, 3)) == ("Z = 2 * x * y.", 12)


def test_world_spec_keeps_two_trained_templates():
    with pytest.raises(ValueError, match="held_out_templates"):
        WorldSpec(held_out_templates=3)


def test_statistics_corpus_is_every_training_line_once_in_a_fixed_order(world):
    corpus = world_statistics_corpus(world)
    assert sorted(corpus) == sorted(world.training_lines)
    assert corpus == world_statistics_corpus(world)


# --- requests -------------------------------------------------------------------------------

def test_fact_requests_are_valid_easyedit_requests(world):
    requests = fact_requests(world, 8, seed=1)
    assert requests == fact_requests(world, 8, seed=1)
    assert len({r["subject"] for r in requests}) == 8
    trained = {p.prompt: p for p in world.trained_fact_prompts}
    for request in requests:
        fact = trained[request["prompt"]].fact
        relation = world.relation(fact.relation)
        assert request["subject"] == fact.subject and fact.subject in request["prompt"]
        assert request["ground_truth"] == fact.object
        assert request["target_new"] != request["ground_truth"] and request["target_new"] in relation.objects
        assert request["rephrase_prompt"] != request["prompt"]
        assert trained[request["rephrase_prompt"]].fact == fact
        neighbourhood = request["locality"]["neighborhood"]
        assert len(neighbourhood["prompt"]) == len(neighbourhood["ground_truth"]) == 2
        for prompt, answer in zip(neighbourhood["prompt"], neighbourhood["ground_truth"]):
            neighbour = trained[prompt].fact
            assert neighbour.subject not in {r["subject"] for r in requests}
            assert neighbour.object == answer


def test_fact_requests_use_only_what_the_model_knows(world):
    def knows(pairs):
        return ["home town" not in prompt for prompt, _ in pairs]

    for request in fact_requests(world, 5, seed=2, knows=knows):
        prompts = [request["prompt"], request["rephrase_prompt"], *request["locality"]["neighborhood"]["prompt"]]
        assert not any("home town" in prompt for prompt in prompts)


def test_fact_requests_say_when_the_world_is_too_small(world):
    with pytest.raises(ValueError, match="usable facts"):
        fact_requests(world, len(world.subjects) + 1)


def test_fact_requests_of_some_relations_keep_only_those_and_none_changes_nothing(world):
    trained = {p.prompt: p for p in world.trained_fact_prompts}
    names = [relation.name for relation in world.relations]
    chosen = names[:2]
    requests = fact_requests(world, 30, seed=5, distinct_within=10, relations=chosen)
    assert {trained[r["prompt"]].fact.relation for r in requests} == set(chosen)
    assert fact_requests(world, 30, seed=5, distinct_within=10, relations=None) == fact_requests(
        world, 30, seed=5, distinct_within=10)
    with pytest.raises(ValueError, match="no relation"):
        fact_requests(world, 3, relations=["shoe size"])


def test_editable_fact_count_is_the_longest_stream_fact_requests_can_make(world):
    forgotten = world.subjects[:2]  # the model knows nothing about these two

    def knows(pairs):
        return [not any(subject in prompt for subject in forgotten) for prompt, _ in pairs]

    for relations in (None, [world.relations[0].name]):
        count = editable_fact_count(world, knows, relations=relations)
        assert 0 < count < len(world.facts)
        assert len(fact_requests(world, count, knows=knows, distinct_within=5, relations=relations)) == count
        with pytest.raises(ValueError, match="usable facts"):
            fact_requests(world, count + 1, knows=knows, distinct_within=5, relations=relations)


def test_fact_requests_may_repeat_subjects_across_chunks_but_not_within_one(world):
    count = len(world.subjects) + 10
    requests = fact_requests(world, count, seed=4, distinct_within=5)
    assert requests == fact_requests(world, count, seed=4, distinct_within=5)
    trained = {p.prompt: p for p in world.trained_fact_prompts}
    edited = [trained[r["prompt"]].fact for r in requests]
    assert len(set(edited)) == count and len({fact.subject for fact in edited}) < count
    for start in range(0, count, 5):
        assert len({r["subject"] for r in requests[start:start + 5]}) == len(requests[start:start + 5])
    for request in requests:
        for prompt in request["locality"]["neighborhood"]["prompt"]:
            assert trained[prompt].fact not in edited
    with pytest.raises(ValueError, match="distinct subjects"):
        fact_requests(world, len(world.facts), distinct_within=len(world.subjects) + 1)


def test_rule_requests_cover_the_three_forms_of_one_counterfactual_rule(world):
    requests = rule_requests(world, seed=3)
    assert requests == rule_requests(world, seed=3)
    assert len(requests) == 3 * len(world.rules)
    for rule in world.rules:
        cases = {r["form"]: r for r in requests if r["rule_id"] == rule.rule_id}
        assert set(cases) == set(RULE_FORMS)
        for form, request in cases.items():
            assert request["subject"] == rule.name and rule.name in request["prompt"]
            assert request["target_new"] != request["ground_truth"]
            assert request["rephrase_prompt"] != request["prompt"]
            instances = request["portability"]["Instance"]
            assert 1 <= len(instances["prompt"]) == len(instances["ground_truth"]) <= 4
            assert request["prompt"] not in instances["prompt"]
            assert len(request["locality"]["neighborhood"]["prompt"]) == 2
        # Every form teaches the same new rule: its formula determines the instance answers.
        formula = cases["formula"]["target_new"]
        assert cases["instance"]["portability"]["Rule_Understanding"]["ground_truth"][0] == formula
        assert cases["description"]["portability"]["Rule_Understanding"]["ground_truth"] == [formula]
        assert cases["formula"]["ground_truth"] == rule.formula
        assert cases["instance"]["ground_truth"] == str(rule.value(*_operands(cases["instance"]["prompt"])))


def test_rule_requests_use_only_what_the_model_knows(world):
    forgotten = world.rules[0]

    def knows(pairs):
        return [forgotten.name not in prompt and "x = 3 and y = 3" not in prompt for prompt, _ in pairs]

    requests = rule_requests(world, seed=3, knows=knows)
    assert {r["rule_id"] for r in requests} == {rule.rule_id for rule in world.rules[1:]}
    for request in requests:
        prompts = [request["prompt"], request["rephrase_prompt"], *request["portability"]["Instance"]["prompt"]]
        assert not any("x = 3 and y = 3" in prompt for prompt in prompts)
    with pytest.raises(ValueError, match="not usable"):
        rule_requests(world, knows=knows, rules=[forgotten.rule_id])


def _operands(prompt: str) -> tuple[int, int]:
    numbers = [int(number) for number in re.findall(r"\d+", prompt)]
    return numbers[0], numbers[1]


# --- greedy accuracy ------------------------------------------------------------------------

class _EchoModel(torch.nn.Module):
    """Predicts the next token of whatever it is fed, except where ``wrong_at`` says."""

    def __init__(self, vocab: int, wrong_at: int | None = None) -> None:
        super().__init__()
        self.vocab, self.wrong_at = vocab, wrong_at
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask):
        following = torch.roll(input_ids, -1, dims=1)
        if self.wrong_at is not None:
            following[:, self.wrong_at] = (following[:, self.wrong_at] + 1) % self.vocab
        return SimpleNamespace(logits=torch.nn.functional.one_hot(following, self.vocab).float())


def test_greedy_hits_read_every_answer_token_at_the_right_position():
    tok = train_tokenizer()
    pairs = [("The capital of France is", "Paris"), ("Mozart was born in the city of", "Salzburg and more")]
    assert greedy_hits(_EchoModel(len(tok)), tok, pairs) == [True, True]
    prompt_length = len(tok(pairs[0][0])["input_ids"])
    answer_length = len(tok(" " + pairs[0][1])["input_ids"])
    last_answer_prediction = prompt_length + answer_length - 2
    assert greedy_hits(_EchoModel(len(tok), wrong_at=last_answer_prediction), tok, pairs[:1]) == [False]
    assert greedy_hits(_EchoModel(len(tok), wrong_at=last_answer_prediction + 1), tok, pairs[:1]) == [True]


# --- training -------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", WORLD_ARCHES)
def test_training_lowers_the_loss_and_is_deterministic(world, arch):
    tok = train_tokenizer(512, extra_corpus=world.all_text)
    spec = ModelSpec(layers=2, width=32, vocab_size=512)
    schedule = TrainSpec(steps=12, batch_size=8, learning_rate=3e-3, warmup_steps=2)
    examples = world.training_examples()
    first, second = (untrained_model(arch, spec, tok, seed=5) for _ in range(2))
    initial = train(untrained_model(arch, spec, tok, seed=5), tok, examples, replace(schedule, steps=1), 5, False)
    log = train(first, tok, examples, schedule, seed=5, progress=False)
    train(second, tok, examples, schedule, seed=5, progress=False)
    assert log.final_loss < initial.final_loss
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name


def test_training_threads_leave_busy_cores_alone(monkeypatch):
    previous = torch.get_num_threads()
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with torch_threads(2):
        assert torch.get_num_threads() == 2
        for load, idle in ((0.2, 2), (1.4, 1), (7.0, 1)):
            monkeypatch.setattr("os.getloadavg", lambda load=load: (load, 0.0, 0.0))
            assert idle_cores() == idle, load
    assert torch.get_num_threads() == previous


# --- cache ----------------------------------------------------------------------------------

def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENVIRONMENT_VARIABLE, str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "explicit"
    monkeypatch.delenv(CACHE_ENVIRONMENT_VARIABLE)
    assert cache_root() == tmp_path / "xdg" / "easyedit_plugins"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "easyedit_plugins"


def test_cache_is_keyed_by_every_parameter(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENVIRONMENT_VARIABLE, str(tmp_path))
    paths = {world_model_path(preset, arch, seed) for preset in PRESETS for arch in WORLD_ARCHES for seed in (0, 1)}
    assert len(paths) == len(PRESETS) * len(WORLD_ARCHES) * 2
    assert all(path.parent == tmp_path / "world" for path in paths)
    assert parameters_key({"a": 1, "b": [2]}) == parameters_key({"b": [2], "a": 1})
    changed = world_parameters("test", "gpt2", 0)
    changed["world_version"] += "-next"
    assert parameters_key(changed) != parameters_key(world_parameters("test", "gpt2", 0))
    with pytest.raises(ValueError, match="preset"):
        world_parameters("huge", "gpt2", 0)
    with pytest.raises(ValueError, match="architecture"):
        world_parameters("test", "bert", 0)


def _writer(calls: list[str], name: str = "weights.bin"):
    def build(directory: Path) -> None:
        calls.append(str(directory))
        (directory / name).write_text("done", encoding="utf-8")
    return build


def test_build_once_builds_once_and_renames_into_place(tmp_path):
    target, calls = tmp_path / "model", []
    assert build_once(target, "k1", {"p": 1}, _writer(calls)) == target
    assert build_once(target, "k1", {"p": 1}, _writer(calls)) == target
    assert len(calls) == 1 and Path(calls[0]) != target
    assert (target / "weights.bin").read_text(encoding="utf-8") == "done"
    assert json.loads((target / MANIFEST_NAME).read_text(encoding="utf-8"))["key"] == "k1"
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["model"]


def test_an_interrupted_build_is_never_mistaken_for_a_finished_one(tmp_path):
    target = tmp_path / "model"

    def interrupted(directory: Path) -> None:
        (directory / "weights.bin").write_text("half", encoding="utf-8")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_once(target, "k1", {}, interrupted)
    assert not target.exists() and not is_complete(target, "k1")
    assert [p for p in tmp_path.iterdir() if p.is_dir()] == []


def test_leftovers_of_a_killed_build_are_replaced(tmp_path):
    target, calls = tmp_path / "model", []
    leftover = tmp_path / ".model.partial-killed"
    leftover.mkdir()
    (leftover / "weights.bin").write_text("half", encoding="utf-8")
    target.mkdir()  # a directory with the final name but no manifest: copied half-way, say
    (target / "weights.bin").write_text("half", encoding="utf-8")
    assert not is_complete(target, "k1")
    build_once(target, "k1", {}, _writer(calls))
    assert len(calls) == 1 and not leftover.exists()
    assert (target / "weights.bin").read_text(encoding="utf-8") == "done"


def test_a_finished_build_of_other_parameters_is_rebuilt(tmp_path):
    target, calls = tmp_path / "model", []
    build_once(target, "old", {}, _writer(calls))
    build_once(target, "new", {}, _writer(calls))
    assert len(calls) == 2 and is_complete(target, "new")


def test_concurrent_builders_build_once(tmp_path):
    target, calls, started = tmp_path / "model", [], threading.Barrier(2)

    def slow_build(directory: Path) -> None:
        calls.append(str(directory))
        threading.Event().wait(0.3)
        (directory / "weights.bin").write_text("done", encoding="utf-8")

    def builder() -> None:
        started.wait()
        build_once(target, "k1", {}, slow_build)

    threads = [threading.Thread(target=builder) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and is_complete(target, "k1")


def test_missing_model_without_training_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENVIRONMENT_VARIABLE, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="easyedit-plugins world"):
        load_world_model("test", "gpt2", train_if_missing=False)


@pytest.fixture
def micro_preset(monkeypatch, tmp_path):
    """A preset that trains in a second, cached under ``tmp_path``."""
    monkeypatch.setenv(CACHE_ENVIRONMENT_VARIABLE, str(tmp_path))
    schedule = TrainSpec(steps=3, batch_size=8, learning_rate=1e-3, warmup_steps=1)
    micro = WorldPreset(
        "micro", WorldSpec(subjects=12, cities=4, languages=3, professions=3, rules=2, instance_max=2),
        ModelSpec(layers=1, width=32, vocab_size=400), {arch: schedule for arch in WORLD_ARCHES},
    )
    monkeypatch.setitem(PRESETS, "micro", micro)
    return "micro"


@pytest.mark.parametrize("arch", WORLD_ARCHES)
def test_world_models_are_trained_once_and_handed_out_as_independent_copies(micro_preset, arch):
    factory = world_model_factory(micro_preset, arch)
    first = factory()
    assert first.path == world_model_path(micro_preset, arch)
    manifest = first.path / MANIFEST_NAME
    assert json.loads(manifest.read_text(encoding="utf-8"))["parameters"] == world_parameters(micro_preset, arch, 0)
    report = json.loads((first.path / "report.json").read_text(encoding="utf-8"))
    assert report == first.report and report["arch"] == arch
    assert set(report["accuracy"]) == {"trained_facts", "held_out_pairs", "rule_formulas", "rule_descriptions",
                                       "rule_instances"}
    assert report["parameters"] == sum(p.numel() for p in first.model.parameters())
    written = manifest.stat().st_mtime_ns
    second = factory()
    assert manifest.stat().st_mtime_ns == written
    first_weight, second_weight = next(first.model.parameters()), next(second.model.parameters())
    assert torch.equal(first_weight, second_weight)
    with torch.no_grad():
        first_weight.add_(1.0)
    assert not torch.equal(first_weight, second_weight)
    assert second.tok("Hello").input_ids == first.tok("Hello").input_ids


# --- command --------------------------------------------------------------------------------

def test_world_command_prints_the_cache_path_and_refuses_to_train_when_told(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(CACHE_ENVIRONMENT_VARIABLE, str(tmp_path))
    assert main(["world", "--preset", "full", "--arch", "llama", "--path"]) == 0
    assert capsys.readouterr().out.strip() == str(world_model_path("full", "llama"))
    assert main(["world", "--no-train"]) == 2
    assert "no trained test world model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["world", "--help"])
    assert exit_.value.code == 0 and "--preset" in capsys.readouterr().out


# --- the trained test preset ----------------------------------------------------------------

@pytest.mark.slow
def test_trained_test_world_knows_its_facts_and_yields_judgeable_edits():
    world = world_model_factory("test", "gpt2")()
    accuracy = world.report["accuracy"]
    assert accuracy["trained_facts"] >= 0.95, accuracy
    requests = world.fact_requests(8, seed=0)
    prompts = [(r["prompt"], r["ground_truth"]) for r in requests]
    assert all(world.knows(prompts))
    assert not any(world.knows([(r["prompt"], r["target_new"]) for r in requests]))
    assert all(world.knows([(r["rephrase_prompt"], r["ground_truth"]) for r in requests]))
    assert world.rule_requests(seed=0), "the test world should know at least one rule in all three forms"


def test_one_chunk_as_long_as_the_stream_takes_facts_of_distinct_subjects(world):
    # The first shuffled facts repeat subjects; a batch of all of them must still be arrangeable.
    count = len(world.subjects) - 10
    requests = fact_requests(world, count, seed=0, distinct_within=count)
    assert len({r["subject"] for r in requests}) == count
    with pytest.raises(ValueError, match="usable facts that fit chunks"):
        fact_requests(world, len(world.subjects) + 1, seed=0, distinct_within=len(world.subjects) + 1)
