"""Per-rule records and the summary, on hand-made per-prompt results."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from easyedit_plugins.evaluation import PromptResult, rule_records, summarize_rules, write_rule_records
from easyedit_plugins.host import get_registry


def results_of(rule_id: str, case_id: int, form: str, scores: dict[str, list[int]], repeats: list[bool] = ()) -> list[PromptResult]:
    made = []
    for metric, values in scores.items():
        for index, value in enumerate(values):
            made.append(PromptResult(
                rule_id=rule_id, case_id=case_id, form=form, metric=metric, index=index,
                prompt=f"{metric} prompt {index}", target="t", generation=f"{metric} output {index}",
                answer="a", judge="exact", correct=bool(value),
                repeats_edit_prompt=metric == "Rule" and repeats[index],
            ))
    return made


@pytest.fixture
def results() -> list[PromptResult]:
    made = (
        results_of("1", 0, "formula", {"rewrite": [1], "rephrase": [0], "neighborhood": [1, 0], "distracting": [1, 1],
                                        "Instance": [1, 0, 0, 0], "Rule": [1]}, [True])
        + results_of("1", 1, "description", {"rewrite": [1], "rephrase": [1], "neighborhood": [1, 1],
                                             "distracting": [0, 0], "Instance": [0, 0, 0, 0], "Rule": [0]}, [True])
        + results_of("1", 0, "instance", {"rewrite": [0], "rephrase": [0], "neighborhood": [1, 1], "distracting": [1, 1],
                                          "Instance": [1, 1, 1, 1], "Rule": [1, 0]}, [True, False])
        + results_of("2", 0, "formula", {"rewrite": [1], "rephrase": [1], "neighborhood": [0, 0], "distracting": [0, 0],
                                         "Instance": [1, 1], "Rule": [1]}, [False])
    )
    random.Random(0).shuffle(made)  # order of results must not matter
    return made


def test_records_use_dmle_field_names(results):
    records = rule_records(results)

    assert sorted(records) == ["1", "2"]
    formula = next(case for case in records["1"] if case["form"] == "formula")
    assert formula["case_id"] == 0
    assert formula["post"] == {
        "rewrite_acc": [1.0], "rewrite_gen_content": ["rewrite output 0"],
        "rephrase_acc": [0.0], "rephrase_gen_content": ["rephrase output 0"],
        "locality": {
            "neighborhood_acc": [1.0, 0.0], "neighborhood_output": ["neighborhood output 0", "neighborhood output 1"],
            "distracting_acc": [1.0, 1.0], "distracting_output": ["distracting output 0", "distracting output 1"],
        },
        "portability": {
            "Instance_acc": [1.0, 0.0, 0.0, 0.0],
            "Instance_gen_content": [f"Instance output {i}" for i in range(4)],
            "Rule_acc": [1.0], "Rule_gen_content": ["Rule output 0"], "Rule_repeats_edit_prompt": [True],
        },
    }
    assert "pre" not in formula


def test_summary_is_the_mean_per_rule_then_over_rules(results):
    summary = summarize_rules(rule_records(results))

    # rule 1: cases 1, 1, 0 -> 2/3; rule 2: 1. Averaging all four cases at once would give 3/4.
    assert summary["Reliability"] == pytest.approx((2 / 3 + 1) / 2)
    assert summary["Generalisation"] == pytest.approx((1 / 3 + 1) / 2)
    # locality pools neighborhood and distracting per case: rule 1 (3/4 + 1/2 + 1) / 3, rule 2: 0
    assert summary["Locality"] == pytest.approx((0.75 + 0.5 + 1) / 3 / 2)
    assert summary["IP"] == pytest.approx(((0.25 + 0 + 1) / 3 + 1) / 2)
    assert summary["RU"] == pytest.approx(((1 + 0 + 0.5) / 3 + 1) / 2)
    # without repeated edit prompts only the instance case of rule 1 keeps a prompt (scored 0)
    assert summary["RU_excl_duplicates"] == pytest.approx((0 + 1) / 2)
    assert summary["rules"] == 2
    assert summary["rules_scored"] == {name: 2 for name in
                                       ("Reliability", "Generalisation", "Locality", "IP", "RU", "RU_excl_duplicates")}


def test_rules_without_prompts_of_a_metric_do_not_count():
    only_repeats = results_of("7", 0, "formula", {"rewrite": [1], "Rule": [1]}, [True])

    summary = summarize_rules(rule_records(only_repeats))

    assert summary["RU"] == 1.0
    assert summary["RU_excl_duplicates"] is None and summary["rules_scored"]["RU_excl_duplicates"] == 0
    assert summary["Locality"] is None


def test_pre_edit_results_are_stored_beside_post(results):
    pre = results_of("2", 0, "formula", {"rewrite": [0]})

    records = rule_records(results, pre=pre)

    assert records["2"][0]["pre"]["rewrite_acc"] == [0.0]
    assert summarize_rules(records, stage="pre")["Reliability"] == 0.0


def test_records_written_atomically_and_read_back(results, tmp_path):
    records = rule_records(results)

    paths = write_rule_records(records, tmp_path / "out")

    assert sorted(p.name for p in paths) == ["metrics_rule_1.json", "metrics_rule_2.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["metrics_rule_1.json", "metrics_rule_2.json"]
    read_back = {p.stem.removeprefix("metrics_rule_"): json.loads(p.read_text(encoding="utf-8")) for p in paths}
    assert summarize_rules(read_back) == summarize_rules(records)


def test_dmle_files_without_repeat_flags_get_no_excluding_score(results):
    records = rule_records(results)
    for cases in records.values():
        for case in cases:
            del case["post"]["portability"]["Rule_repeats_edit_prompt"]

    summary = summarize_rules(records)

    assert summary["RU"] is not None and summary["RU_excl_duplicates"] is None


def test_rule_metrics_are_registered():
    evaluators = get_registry().evaluators
    assert evaluators["ruleedit_records"].spec.evaluate is rule_records
    assert evaluators["ruleedit_summary"].spec.evaluate is summarize_rules


def test_judge_notes_are_recorded_next_to_their_scores_only_where_a_judge_gave_up(results):
    notes = {"Instance": "time limit of 2 s reached"}
    noted = [dataclasses.replace(r, judge_note=notes.get(r.metric) if r.index == 1 else None) for r in results]
    records = rule_records(noted)
    for record in records["1"] + records["2"]:
        portability = record["post"]["portability"]
        assert portability["Instance_judge_notes"] == [None, "time limit of 2 s reached", None, None][:len(portability["Instance_acc"])]
        assert not any(key.endswith("_judge_notes") for key in (*record["post"], *record["post"]["locality"]))
    assert "Instance_judge_notes" not in json.dumps(rule_records(results))
