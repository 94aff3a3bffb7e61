"""The DMLE fidelity section: aggregation, RU without duplicates, the choice of target
settings by convergence, the claims and the section's assembly, all from synthetic measurements."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_dmle_fidelity  # noqa: E402
import dmle_fidelity_report as report  # noqa: E402


def item(form, metric, judge, token_acc, index=0, answer="a", held_out=None, repeats=False):
    return {"form": form, "metric": metric, "index": index, "answer": answer, "judge": judge,
            "token_acc": token_acc, "held_out": held_out, "repeats": repeats}


def rule_record(ru_repeat_judge=1, ru_other_judge=0, ip_answers=("G = 9.", "G = 7.")):
    items = [
        item("formula", "rewrite", 1, 1.0), item("description", "rewrite", 0, 0.5), item("instance", "rewrite", 1, 1.0),
        item("formula", "rephrase", 0, 0.25), item("description", "rephrase", 0, 0.75),
        item("formula", "Rule", ru_repeat_judge, 0.9, index=0, repeats=True),
        item("formula", "Rule", ru_other_judge, 0.1, index=1, repeats=False),
        item("instance", "Rule", 1, 1.0, index=0, repeats=True),
        item("instance", "Rule", 1, 1.0, index=1, repeats=True),
        item("formula", "Instance", 1, 1.0, index=0, answer=ip_answers[0], held_out=True),
        item("formula", "Instance", 0, 0.5, index=1, answer=ip_answers[1], held_out=False),
        item("formula", "neighborhood", 1, 1.0),
    ]
    return {"items": items, "fact_locality": {"judge": [1.0, 0.0], "token_acc": [1.0, 0.5]}}


def test_rule_scores_average_prompts_within_a_case_then_cases():
    scores = report.rule_scores(rule_record()["items"], {"judge": [1.0, 0.0]}, "judge")
    assert scores["formula"] == 1 and scores["description"] == 0 and scores["instance"] == 1
    assert scores["generalisation"] == 0
    # RU: the formula case scores (1 + 0) / 2, the instance case 1: the rule (0.5 + 1) / 2.
    assert scores["RU"] == pytest.approx(0.75)
    # Without duplicates only the formula case's second prompt is left.
    assert scores["RU_excl_duplicates"] == 0
    assert scores["IP"] == 0.5 and scores["IP_held_out"] == 1
    assert scores["rule_locality"] == 1 and scores["fact_locality"] == 0.5
    tokens = report.rule_scores(rule_record()["items"], {"token_acc": [1.0, 0.5]}, "token_acc")
    assert tokens["RU"] == pytest.approx(((0.9 + 0.1) / 2 + 1.0) / 2) and tokens["fact_locality"] == 0.75


def test_ru_without_duplicates_has_no_value_when_every_prompt_repeats_an_edit_prompt():
    record = rule_record()
    record["items"] = [dict(i, repeats=True) if i["metric"] == "Rule" else i for i in record["items"]]
    summary = report.method_summary({"0": record}, None)
    assert summary["judge"]["RU"] is not None and summary["judge"]["RU_excl_duplicates"] is None


def test_method_summary_means_over_rules_and_counts_moved_instances():
    edited = {"0": rule_record(ru_other_judge=1), "1": rule_record(ip_answers=("G = 1.", "G = 2."))}
    unedited = {"0": rule_record(ip_answers=("G = 9.", "G = 3.")), "1": rule_record(ip_answers=("G = 1.", "G = 2."))}
    summary = report.method_summary(edited, unedited)
    assert summary["rules"] == 2
    assert summary["judge"]["RU_excl_duplicates"] == pytest.approx(0.5)
    # Rule 0 moved one of its two instance answers, rule 1 none.
    assert summary["IP_moved"] == pytest.approx(0.25)
    assert "IP_moved" not in report.method_summary(edited, None)


def test_targets_are_chosen_by_convergence_then_loss_then_fewer_steps():
    def candidate(steps, losses):
        return {"steps": steps, "loss": {"DMLE": report.loss_statistics({"0": {"f_d": losses}}, 0.05)}}

    candidates = {"sampled:25": candidate(25, [1.0, 0.04]), "bare:300": candidate(300, [0.01, 0.04]),
                  "bare:100": candidate(100, [0.02, 0.04]), "bare:25": candidate(25, [0.9, 0.9])}
    stats = candidates["sampled:25"]["loss"]["DMLE"]
    assert stats["all"]["converged"] == 0.5 and stats["stages"]["f_d"]["max"] == 1.0
    assert report.choose_setting(candidates) == "bare:300"  # lower mean than bare:100 at equal convergence
    candidates["bare:100"] = candidate(100, [0.01, 0.04])
    assert report.choose_setting(candidates) == "bare:100"  # same losses: the cheaper one
    with pytest.raises(ValueError):
        report.choose_setting({})


def test_a_free_candidate_wins_only_by_convergence_and_loses_ties_to_the_engine_constraints():
    def candidate(steps, losses, free=False):
        return {"steps": steps, "free": free, "loss": {"DMLE": report.loss_statistics({"0": {"f_d": losses}}, 0.05)}}

    candidates = {"bare:300": candidate(300, [0.04, 0.9]), "bare:300:free": candidate(300, [0.04, 0.01], True)}
    assert report.choose_setting(candidates) == "bare:300:free"  # more requests converged
    candidates["bare:300:free"] = candidate(300, [0.04, 0.9], True)
    assert report.choose_setting(candidates) == "bare:300"  # equal in everything: the engine's own constraints
    candidates["bare:300:free"] = candidate(300, [0.04, 0.8], True)
    assert report.choose_setting(candidates) == "bare:300:free"  # same convergence, lower mean loss


@pytest.mark.parametrize("text, expected", [
    ("bare:300", report.Candidate("bare", 300, False)),
    ("sampled:25", report.Candidate("sampled", 25, False)),
    ("bare:300:free", report.Candidate("bare", 300, True)),
    ("sampled:1:free", report.Candidate("sampled", 1, True)),
])
def test_candidates_parse_templates_steps_and_free(text, expected):
    assert report.parse_candidate(text) == expected


@pytest.mark.parametrize("text", ["random:10", "bare", "bare:", "bare:0", "bare:0:free", "bare:-3", "bare:3x",
                                  "bare:\u00b2", "bare:300:fre", "bare:300:free:", "bare:300:free:free",
                                  "bare:300:FREE", ":300", "bare: 300", "bare:300 "])
def test_malformed_candidates_are_refused_with_their_name(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        report.parse_candidate(text)


def test_cli_refuses_a_bad_candidate_naming_it(capsys):
    with pytest.raises(SystemExit):
        bench_dmle_fidelity.parse_args(["--candidates", "bare:300", "bare:300:fre"])
    assert "'bare:300:fre'" in capsys.readouterr().err
    args = bench_dmle_fidelity.parse_args(["--candidates", "bare:300:free"])
    assert args.candidates == ["bare:300:free"]


def test_the_default_candidates_include_a_free_one_and_the_quick_ones_do_not():
    defaults = [report.parse_candidate(c) for c in bench_dmle_fidelity.DEFAULT_CANDIDATES]
    quick = [report.parse_candidate(c) for c in bench_dmle_fidelity.QUICK_CANDIDATES]
    assert any(c.free for c in defaults) and not any(c.free for c in quick)


def test_free_constraints_are_real_hparams_that_switch_clamp_kl_and_decay_off():
    from easyedit_plugins.hparams_checks import range_problem
    from easyedit_plugins.methods.dmle import DMLEHyperParams

    fields = {f.name: f.default for f in dataclasses.fields(DMLEHyperParams)}
    assert set(report.FREE_CONSTRAINTS) == {"clamp_norm_factor", "kl_factor", "v_weight_decay"}
    for name, value in report.FREE_CONSTRAINTS.items():
        assert name in fields and range_problem(name, value) is None
    assert report.FREE_CONSTRAINTS["kl_factor"] == 0 and report.FREE_CONSTRAINTS["v_weight_decay"] == 0
    # the clamp must be far above the default's 4 |h| (the optimised vectors measured up to ~2 |h|)
    assert report.FREE_CONSTRAINTS["clamp_norm_factor"] >= 1000 * fields["clamp_norm_factor"]


def _convergence_setting(constraints, layer, converged, with_unseen, unseen_converged, without_converged,
                         mean=0.7, unseen_p=0.05, wrong=(0, 0)):
    return {"constraints": constraints, "layer": layer, "summary": {
        "requests": 12, "converged": converged, "mean_loss": mean, "unconverged": 12 - converged,
        "with_unseen_token": with_unseen, "with_unseen_token_converged": unseen_converged,
        "without_unseen_token_converged": without_converged, "unseen_tokens": ["4", "5"], "unseen_max_p": unseen_p,
        "worst_token_where": {"shared prefix": 0, "changed": 12 - converged, "shared suffix": 0},
        "wrong_as_unedited": wrong[0], "wrong_tokens": wrong[1]}}


def test_token_finding_reports_the_best_free_layer_and_the_unseen_tokens():
    raw = {"settings": {
        "constrained @ layer 1": _convergence_setting("constrained", 1, 9, 6, 5, 4),  # ignored: not free
        "free @ layer 0": _convergence_setting("free", 0, 5, 6, 0, 5, mean=0.65, unseen_p=0.10),
        "free @ layer 1": _convergence_setting("free", 1, 5, 6, 0, 5, mean=0.70),
        "free @ layer 3": _convergence_setting("free", 3, 1, 6, 0, 1, mean=1.7),
    }}
    text = report.token_finding(raw)
    assert "of the 6 formula/description requests" in text and "(`4`, `5`), none converges" in text
    assert "layers 0-3" in text and "at most 0.10" in text
    assert "5 of the other 6 converge at the best layer (layer 0; 5 of 12 in all, mean final loss 0.650)" in text
    assert "not the optimisation" in text
    # Where an unseen-token request does converge, the verdict is not drawn.
    raw["settings"]["free @ layer 1"] = _convergence_setting("free", 1, 6, 6, 1, 5, mean=0.5)
    text = report.token_finding(raw)
    assert "at most 1 converge" in text and "(layer 1; 6 of 12" in text and "not the optimisation" not in text
    # A world whose new answers use only known tokens: no unseen-token sentence, no verdict.
    raw = {"settings": {"free @ layer 1": _convergence_setting("free", 1, 3, 0, 0, 3, mean=0.81, wrong=(7, 9)),
                        "free @ layer 2": _convergence_setting("free", 2, 0, 0, 0, 0, mean=1.2)}}
    text = report.token_finding(raw)
    assert "3 of 12 formula/description targets converge at the best layer for the vector (layer 1 of 1-2" in text
    assert "only tokens the trained rules' answers of its form contain" in text and "none converges" not in text
    assert "9 of the 9 others" in text and "7 of the 9 answer tokens the model still gets wrong" in text
    with pytest.raises(ValueError):
        report.token_finding({"settings": {"constrained @ layer 1": _convergence_setting("constrained", 1, 9, 6, 5, 4)}})


def _summary(ip, ru, ru_clean=None, moved=None, formula=0.5):
    judged = {"IP": ip, "RU": ru, "RU_excl_duplicates": ru_clean, "formula": formula}
    summary = {"judge": judged, "token_acc": dict(judged)}
    if moved is not None:
        summary["IP_moved"] = moved
    return summary


def test_claims_compare_dmle_with_one_group_and_leave_ip_open_when_no_instance_can_move():
    rows = report.claims(_summary(0.0, 0.5), _summary(0.0, 0.25), _summary(0.0, 1.0, moved=0.0))
    assert [row["holds"] for row in rows] == [None, True]
    assert "+25.0 pp RU" in rows[1]["measured"] and "+13.91" in rows[0]["paper"]
    rows = report.claims(_summary(0.2, 0.25), _summary(0.3, 0.25), _summary(0.6, 1.0, moved=0.7))
    assert [row["holds"] for row in rows] == [False, False]
    # Neither method edited anything: no claim can be judged.
    rows = report.claims(_summary(0.0, 0.0, formula=0.0), _summary(0.02, 0.0, formula=0.0), _summary(0.1, 1.0, moved=0.9))
    assert [row["holds"] for row in rows] == [None, None] and "neither method edits" in rows[1]["measured"]


def test_section_is_assembled_from_measurements_in_the_contract_shape():
    per_rule = {"0": rule_record(), "1": rule_record(ru_other_judge=1)}
    unedited = {"0": rule_record(ru_repeat_judge=0), "1": rule_record(ru_repeat_judge=0)}
    summaries = {"unedited": report.method_summary(unedited, None),
                 "DMLE": report.method_summary(per_rule, unedited),
                 "one_group": report.method_summary(unedited, unedited),
                 "statement_ft": report.method_summary(per_rule, unedited)}
    loss = {"DMLE": report.loss_statistics({"0": {"f_d": [0.04, 1.2], "ins": [0.03]}}, 0.05),
            "one_group": report.loss_statistics({"0": {"all": [0.04, 1.0, 0.03]}}, 0.05)}
    raw = {
        "preset": "test", "arch": "gpt2", "seed": 0, "data_version": "world-data-2", "model_path": "m",
        "rules": {"0": {}, "1": {}}, "mom2_update_weight": 100.0, "early_stop_loss": 0.05,
        "stages": bench_dmle_fidelity.stage_plans("test"),
        "candidates": {"bare:100": {"templates": "bare", "steps": 100, "loss": loss}}, "chosen": "bare:100",
        "candidate_summaries": {"bare:100": {"DMLE": summaries["DMLE"], "one_group": summaries["one_group"]}},
        "summaries": summaries, "ft": {"steps": 80, "lr": 1e-3, "said": 2, "of": 2},
        "free_constraints": report.FREE_CONSTRAINTS,
        "token_analysis": {"file": "benchmarks/results/target-convergence-test-2026-11-26.md",
                           "finding": "Token by token, the constants stay wrong."},
    }
    section = bench_dmle_fidelity.section(raw, "python benchmarks/bench_dmle_fidelity.py --quick")
    assert section["section"] == "DMLE" and section["raw"] is raw and section["plots"] == []
    assert {"claim", "paper", "measured", "metric", "holds"} <= set(section["claims"][0])
    text = section["markdown"]
    assert text.startswith("### ") and "\n## " not in text and "\n# " not in text
    assert "`python benchmarks/bench_dmle_fidelity.py --quick`" in text
    assert "| **bare:100** (chosen) | DMLE | f_d | 2 | 0.620 | 1.200 | 50.0% |" in text
    # DMLE's RU (0.75 and 1.0 per rule) minus one-group's (0.5 and 0.5: its formula case's prompts at 0).
    assert "| RU | +37.5 |" in text
    assert "`:free` switches the norm clamp, the KL term and the decay off (clamp_norm_factor 1e+06, kl_factor 0, " \
           "v_weight_decay 0)" in text
    assert ("Token by token, the constants stay wrong. (`benchmarks/results/target-convergence-test-2026-11-26.md`"
            in text)
    assert "**bare:100** (bare context templates, 100 target steps)." in text
    raw["candidates"]["bare:100"]["free"] = True
    assert "100 target steps, norm clamp, KL and decay off)." in bench_dmle_fidelity.section(raw, "cmd")["markdown"]
    raw["token_analysis"] = None
    assert "Token by token" not in bench_dmle_fidelity.section(raw, "cmd")["markdown"]


def test_one_group_baseline_holds_every_form_on_the_union_of_dmle_layers():
    plans = bench_dmle_fidelity.stage_plans("natural")
    union = sorted({layer for stage in plans["DMLE"] for layer in stage["layers"]})
    assert plans["one_group"] == [{"name": "all", "forms": ["formula", "description", "instance"], "layers": union}]
    assert len(plans["DMLE"]) == 2


def test_requests_reach_the_judges_in_ruleedit_shape():
    request = {"case_id": 0, "portability": {"Instance": {"prompt": ["p"], "ground_truth": ["1"]},
                                             "Rule_Understanding": {"prompt": ["q"], "ground_truth": ["f"]}},
               "rule_prompt_repeats_edit_prompt": [True]}
    converted = bench_dmle_fidelity.for_judges(request)
    assert set(converted["portability"]) == {"Instance", "Rule"}
    assert converted["rule_prompt_repeats_edit_prompt"] == [True]
    assert "Rule_Understanding" in request["portability"]  # the original is untouched


def test_quick_runs_the_test_preset_with_few_rules_and_candidates_are_checked():
    args = bench_dmle_fidelity.parse_args(["--quick"])
    assert args.preset == "test" and args.rules == 3 and args.candidates == bench_dmle_fidelity.QUICK_CANDIDATES
    assert bench_dmle_fidelity.parse_args([]).preset == "natural"
    with pytest.raises(SystemExit):
        bench_dmle_fidelity.parse_args(["--candidates", "random:10"])
