"""load_ruleedit on small benchmarks in the released format, good and broken."""

from __future__ import annotations

import copy
import logging

import pytest
from ruleedit_fixture import rule_files

from easyedit_plugins.data import (
    MISSING_GROUND_TRUTH,
    RuleEditFormatError,
    RuleEditSourceError,
    load_ruleedit,
)


def three_rules() -> dict:
    return {str(n): rule_files(n) for n in (0, 1, 10)}


def test_folder_loads_typed_rules_in_numeric_order(write_benchmark):
    benchmark = load_ruleedit(write_benchmark(three_rules()))

    assert [rule.rule_id for rule in benchmark] == ["0", "1", "10"]
    assert benchmark.report.skipped == () and benchmark.report.warnings == ()
    rule = benchmark.rule("1")
    assert rule.name == "weight of blend1"
    assert [case.form for case in rule.cases] == ["formula", "description", "instance"]
    formula, description = rule.edit_cases[0]
    assert (formula.form, description.form) == ("formula", "description")
    assert [case.form for case in rule.edit_cases[1]] == ["instance"]


def test_requests_are_easyedit_requests_with_dmle_keys(write_benchmark):
    requests = load_ruleedit(write_benchmark(three_rules())).requests()

    assert len(requests) == 9
    formula, description, instance = requests[:3]
    assert formula["prompt"].startswith("A blend0 mixes p and q")
    assert formula["target_new"] == "W = p + q."
    assert formula["ground_truth"] == "W = p * q."
    assert formula["ground_truth_all"] == ["W = p * q.", "p * q."]
    assert instance["ground_truth"] == MISSING_GROUND_TRUTH and instance["ground_truth_all"] == []
    assert set(formula["locality"]) == {"neighborhood", "distracting"}
    assert formula["locality"]["distracting"] == {
        "prompt": ["A square has a side s. Its area is", "The sky is"], "ground_truth": ["A = s^2.", "blue."]
    }
    assert set(formula["portability"]) == {"Instance", "Rule"}
    assert formula["portability"]["Instance"]["ground_truth"] == ["7", "W = 6 + 1 = 7."]
    # Rule Understanding is graded against the EDITED answers of the other forms.
    assert formula["portability"]["Rule"] == {"prompt": [description["prompt"]], "ground_truth": ["adding its two parts."]}
    assert instance["portability"]["Rule"]["ground_truth"] == ["W = p + q.", "adding its two parts."]
    assert [(r["rule_id"], r["case_id"], r["form"]) for r in requests[:3]] == [
        ("0", 0, "formula"), ("0", 1, "description"), ("0", 0, "instance")
    ]
    assert all(r["subject"] in r["prompt"] for r in requests)


def test_rule_prompts_that_repeat_an_edit_prompt_are_flagged(write_benchmark):
    benchmark = load_ruleedit(write_benchmark(three_rules()))
    formula, description, instance = benchmark.rule("0").cases

    assert formula.rule_prompt_repeats_edit_prompt == (True,)
    assert description.rule_prompt_repeats_edit_prompt == (True,)
    assert instance.rule_prompt_repeats_edit_prompt == (True, False)
    counts = benchmark.counts()
    assert counts["rule_understanding_prompts"] == 12
    assert counts["rule_understanding_prompts_repeating_an_edit_prompt"] == 9
    assert counts["rule_understanding_prompts_excluding_repeats"] == 3
    assert counts["instance_prompts"] == 18 and counts["locality_prompts"] == 36


@pytest.mark.parametrize("form", ["zip", "zip-flat"])
def test_zip_with_or_without_top_folder_equals_folder(write_benchmark, form):
    from_folder = load_ruleedit(write_benchmark(three_rules()))
    from_zip = load_ruleedit(write_benchmark(three_rules(), form=form, name=form))

    assert from_zip.requests() == from_folder.requests()


def test_folder_above_the_benchmark_is_accepted(write_benchmark):
    root = write_benchmark(three_rules(), name="outer/RuleEdit-200")

    assert len(load_ruleedit(root.parent)) == 3


def test_broken_json_skips_that_rule_only(write_benchmark, caplog):
    rules = three_rules()
    rules["1"]["ins.json"] = '[{"case_id": 0, "subject": "x"\n'  # a missing brace, like rule 145
    path = write_benchmark(rules, form="zip")

    with caplog.at_level(logging.WARNING):
        benchmark = load_ruleedit(path)

    assert [rule.rule_id for rule in benchmark] == ["0", "10"]
    (issue,) = benchmark.report.skipped
    assert issue.rule_id == "1" and issue.file == "RuleEdit-200/1/ins.json" and issue.case is None
    assert "not valid JSON" in issue.message and "line" in issue.message
    assert benchmark.report.skipped_rules == ("1",)
    assert "RuleEdit-200/1/ins.json" in caplog.text
    with pytest.raises(RuleEditFormatError, match=r"RuleEdit-200/1/ins\.json: is not valid JSON"):
        load_ruleedit(path, strict=True)


@pytest.mark.parametrize(
    ("file_name", "case", "change", "key", "message"),
    [
        ("ins.json", 0, lambda c: c["Instance"].update(prompt="one prompt"), "Instance.prompt",
         "expected a list of strings, got str"),
        ("f_d.json", 1, lambda c: c.pop("target_new"), "target_new", "missing"),
        ("f_d.json", 0, lambda c: c["Rule_Understanding"].update(prompt=["a list"]), "Rule_Understanding.prompt",
         "expected a string, got list"),
        ("f_d.json", 0, lambda c: c.pop("ground_truth"), "ground_truth", "missing"),
        ("ins.json", 0, lambda c: c["locality"]["distracting"]["ground_truth"].__setitem__(1, 7),
         "locality.distracting.ground_truth[1]", "expected a string, got int"),
        ("f_d.json", 1, lambda c: c.update(case_id="1"), "case_id", "expected an integer, got str"),
        ("f_d.json", 0, lambda c: c.update(prompt="  "), "prompt", "empty string"),
    ],
)
def test_invalid_case_is_reported_with_file_case_and_key(write_benchmark, file_name, case, change, key, message):
    rules = three_rules()
    change(rules["10"][file_name][case])
    path = write_benchmark(rules)

    benchmark = load_ruleedit(path)

    assert len(benchmark) == 2
    (issue,) = benchmark.report.skipped
    assert (issue.rule_id, issue.file, issue.case, issue.key, issue.message) == ("10", f"10/{file_name}", case, key, message)
    with pytest.raises(RuleEditFormatError) as raised:
        load_ruleedit(path, strict=True)
    assert str(raised.value) == f"10/{file_name}, case {case}, key '{key}': {message}"


def test_wrong_number_of_cases_or_missing_file_skips_the_rule(write_benchmark):
    rules = three_rules()
    rules["0"]["f_d.json"] = rules["0"]["f_d.json"][:1]
    del rules["1"]["ins.json"]

    report = load_ruleedit(write_benchmark(rules)).report

    assert [(i.rule_id, i.file) for i in report.skipped] == [("0", "0/f_d.json"), ("1", "1/ins.json")]
    assert "expected a list of 2 case(s) (formula and description), found a list of 1" in report.skipped[0].message
    assert report.skipped[1].message == "file missing"


def test_subject_with_other_capitalisation_takes_the_prompts_spelling(write_benchmark):
    rules = three_rules()
    rules["0"]["f_d.json"][0]["subject"] = "Blend0"

    benchmark = load_ruleedit(write_benchmark(rules))

    formula = benchmark.rule("0").case("formula")
    assert (formula.subject, formula.subject_as_given) == ("blend0", "Blend0")
    (warning,) = benchmark.report.warnings
    assert (warning.file, warning.case, warning.key) == ("0/f_d.json", 0, "subject")
    assert "case-insensitive" in warning.message


def test_absent_subject_falls_back_and_is_reported(write_benchmark):
    rules = three_rules()
    case = rules["1"]["ins.json"][0]
    case["subject"] = "charge"
    case["rule"] = "stored charge in a capacitor"
    case["prompt"] = "Evaluate the capacitance for a capacitor with 40F and a voltage of 10V:"

    benchmark = load_ruleedit(write_benchmark(rules))

    instance = benchmark.rule("1").case("instance")
    assert instance.subject == "a capacitor" and instance.subject in instance.prompt
    (warning,) = benchmark.report.warnings
    assert warning.key == "subject" and "rule-name words" in warning.message
    assert all(r["subject"] in r["prompt"] for r in benchmark.requests())


def test_repairs_are_warnings_not_skips(write_benchmark):
    rules = three_rules()
    instance = rules["0"]["ins.json"][0]
    instance["Instance"]["prompt"] = instance["Instance"]["prompt"] * 2  # 4 prompts, 2 answers
    understanding = instance["Rule_Understanding"]
    understanding["ground_university"] = understanding.pop("ground_truth")  # rule 133's typo

    benchmark = load_ruleedit(write_benchmark(rules), strict=True)

    assert len(benchmark) == 3
    assert len(benchmark.rule("0").case("instance").instance) == 2
    assert sorted(w.key for w in benchmark.report.warnings) == ["Instance", "Rule_Understanding.ground_university"]
    assert "4 prompts but 2 answers" in benchmark.report.summary()


def test_instance_case_may_carry_a_ground_truth(write_benchmark):
    rules = three_rules()
    rules["0"]["ins.json"][0]["ground_truth"] = ["W = 3 * 4 = 12."]

    request = load_ruleedit(write_benchmark(rules)).rule("0").case("instance").to_request()

    assert request["ground_truth"] == "W = 3 * 4 = 12."


def test_unusable_sources_raise(write_benchmark, tmp_path):
    with pytest.raises(RuleEditSourceError, match="no such file"):
        load_ruleedit(tmp_path / "absent.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuleEditSourceError, match="no numbered rule folders"):
        load_ruleedit(tmp_path / "empty")
    not_a_zip = tmp_path / "bench.zip"
    not_a_zip.write_text("hello", encoding="utf-8")
    with pytest.raises(RuleEditSourceError, match="not a readable zip"):
        load_ruleedit(not_a_zip)


def test_zip_with_rules_under_two_folders_is_ambiguous(write_benchmark):
    archive = write_benchmark(three_rules(), form="zip")
    import zipfile

    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("other/5/f_d.json", "[]")
    with pytest.raises(RuleEditSourceError, match="several folders"):
        load_ruleedit(archive)


def test_loading_does_not_mutate_shared_structures(write_benchmark):
    rules = three_rules()
    expected = copy.deepcopy(rules)
    benchmark = load_ruleedit(write_benchmark(rules))
    request = benchmark.requests()[0]
    request["portability"]["Instance"]["prompt"].append("changed")

    assert benchmark.requests()[0]["portability"]["Instance"]["prompt"] == expected["0"]["f_d.json"][0]["Instance"]["prompt"]
