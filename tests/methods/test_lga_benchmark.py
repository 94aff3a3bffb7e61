"""The LGA benchmark's verdicts (Spearman with ties, picks, regret, aggregation) and its section JSON,
from hand-made measurements: no model runs here."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_lga_bruteforce  # noqa: E402
import lga_report  # noqa: E402
from lga_variants import (  # noqa: E402
    VARIANTS, aggregate, analyse_world, average_ranks, best_variant, default_variant, first_argmax, ordering_scores,
    spearman, Variant,
)


def test_average_ranks_share_tied_positions():
    assert average_ranks([3.0, 1.0, 2.0]) == [3.0, 1.0, 2.0]
    assert average_ranks([1.0, 2.0, 2.0, 3.0]) == [1.0, 2.5, 2.5, 4.0]
    assert average_ranks([-math.inf, 5.0, -math.inf]) == [1.5, 3.0, 1.5]


def test_spearman_against_hand_computed_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks x = 1, 2.5, 2.5, 4 and y = 1, 3, 2, 4: r = 4.5 / sqrt(4.5 * 5)
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(3 / math.sqrt(10))
    # y ranks 1, 2, 3.5, 5, 3.5: r = 8 / sqrt(10 * 9.5)
    assert spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(8 / math.sqrt(95))


def test_spearman_is_undefined_without_an_ordering():
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    assert spearman([1, 2, 3], [0.5, 0.5, 0.5]) is None
    assert spearman([1], [2]) is None
    with pytest.raises(ValueError):
        spearman([1, 2], [1, 2, 3])


def test_fenced_out_layers_rank_below_every_kept_layer():
    scores = [-100.0, -1.0, 2.0, -3.0]  # fences (k = 1) are [-54.25, 26.75]
    assert ordering_scores(scores, Variant("signed", 1.0, "mlp_out")) == [-math.inf, -1.0, 2.0, -3.0]
    assert ordering_scores(scores, Variant("negated", 1.0, "mlp_out")) == [-math.inf, 1.0, -2.0, 3.0]
    assert ordering_scores(scores, Variant("absolute", None, "mlp_out")) == [100.0, 1.0, 2.0, 3.0]
    assert first_argmax([0.5, 1.0, 1.0]) == 1


def test_there_are_twelve_variants_and_the_default_is_one_of_them():
    assert len({variant.key for variant in VARIANTS}) == 12
    assert default_variant() in VARIANTS


def rows(per_layer: list[list[float]]) -> list[list[list[float]]]:
    """A requests x layers x metrics table whose three metrics all equal the given score."""
    return [[[value] * 3 for value in request] for request in per_layer]


def world_run(seed: int, effects: list[float]) -> dict:
    return {
        "arch": "gpt2", "seed": seed, "preset": "test",
        # proxy means per layer 0, 1, 0.5, 0: brute force picks layer 1
        "proxy_table": rows([[0, 1, 1, 0], [0, 1, 0, 0]]),
        # test means per layer 0.5, 1, 0, 0.5; each request has a perfect layer: oracle 1
        "test_table": rows([[1, 1, 0, 0], [0, 1, 0, 1]]),
        "lga_scores": {"mlp_out": [-100.0, -1.0, 2.0, -3.0], "mlp_all": [-10.0, 3.0, 1.0, 2.0]},
        "causal_effects": effects,
        "wall_seconds": {"brute_force": 100.0, "lga_mlp_out": 1.0, "lga_mlp_all": 2.0, "causal_tracing": 5.0},
        "cpu_seconds": {}, "statistics_seconds": 0.0,
    }


def test_one_world_verdicts():
    analysis = analyse_world(world_run(0, [0.2, 0.2, 0.2, 0.2]))
    assert analysis["brute_force"]["layer"] == 1 and analysis["brute_force"]["test"]["score"] == 1.0
    assert analysis["oracle"] == 1.0 and analysis["test_best_layer"] == 1
    assert analysis["causal_tracing"]["flat"] and analysis["causal_tracing"]["layer"] == 0
    signed = analysis["variants"]["signed-k1-mlp_out"]
    assert signed["layer"] == 2 and signed["regret"] == 1.0 and not signed["picks_brute_force_layer"]
    assert signed["ordering"] == [None, -1.0, 2.0, -3.0]
    # ordering ranks 1, 3, 4, 2 against test ranks 2.5, 4, 1, 2.5: r = -1.5 / sqrt(5 * 4.5)
    assert signed["spearman"] == pytest.approx(-1.5 / math.sqrt(22.5))
    assert signed["cost_vs_brute_force"] == 0.01
    assert analysis["variants"]["negated-k1-mlp_out"]["layer"] == 3
    assert analysis["variants"]["negated-nok-mlp_out"]["layer"] == 0
    chosen = analysis["variants"]["signed-k1-mlp_all"]
    assert chosen["layer"] == 1 and chosen["picks_brute_force_layer"] and chosen["regret"] == 0.0
    assert chosen["spearman"] == pytest.approx(3 / math.sqrt(22.5))


def test_aggregation_over_worlds():
    analyses = [analyse_world(world_run(0, [0.2] * 4)), analyse_world(world_run(1, [0.0, 0.0, 0.0, 1.0]))]
    summary = aggregate(analyses)
    assert summary["worlds"] == 2
    out, chosen = summary["variants"]["signed-k1-mlp_out"], summary["variants"]["signed-k1-mlp_all"]
    assert out["picks_brute_force_layer"] == 0 and out["mean_regret"] == 1.0 and out["spearman_defined"] == 2
    assert chosen["picks_brute_force_layer"] == 2 and chosen["mean_regret"] == 0.0
    assert chosen["mean_cost_vs_brute_force"] == 0.02
    assert summary["causal_tracing"]["flat_worlds"] == 1 and summary["causal_tracing"]["mean_test_score"] == 0.5
    assert summary["causal_tracing"]["picks_brute_force_layer"] == 0
    assert summary["oracle"]["mean_test_score"] == 1.0
    assert summary["first_layer"] == {"picks_brute_force_layer": 0, "mean_regret": 0.5, "mean_test_score": 0.5}
    assert best_variant(summary) == "signed-k1-mlp_all"


def synthetic_raw() -> dict:
    runs = [world_run(0, [0.2] * 4), world_run(1, [0.0, 0.0, 0.0, 1.0])]
    analyses = [analyse_world(run) for run in runs]
    settings = vars(bench_lga_bruteforce.parse_args(["--quick", "--arches", "gpt2", "--seeds", "0", "1"]))
    return {"settings": settings, "runs": runs, "analyses": analyses, "aggregate": aggregate(analyses)}


def test_section_json_has_the_contract_keys(tmp_path):
    section = lga_report.build_section(synthetic_raw(), None, tmp_path)
    assert {"section", "title", "command", "date", "machine", "claims", "markdown", "plots", "raw"} <= set(section)
    assert section["section"] == "LGA" and section["plots"] == []
    assert section["markdown"].startswith("### ") and "\n## " not in section["markdown"]
    for claim in section["claims"]:
        assert set(claim) == {"claim", "paper", "measured", "metric", "holds"}
        assert claim["holds"] in (True, False, None)
    by_paper = {claim["paper"]: claim for claim in section["claims"]}
    assert by_paper["7-12x faster than brute force"]["holds"] is (100.0 / 2.0 >= 7.0)
    default = section["raw"]["aggregate"]["variants"][default_variant().key]
    found = next(claim for claim in section["claims"] if claim["claim"].startswith("LGA finds"))
    assert found["holds"] is (default["mean_regret"] <= lga_report.REGRET_TOLERANCE)
    assert "always layer 0" in section["markdown"]
    json.dumps(section)  # serialisable as it stands


def test_plot_is_listed_relative_to_the_section_folder(tmp_path):
    pytest.importorskip("matplotlib")
    raw = synthetic_raw()
    plot = lga_report.plot_layers(raw["analyses"], tmp_path / "fidelity-parts" / "lga.png")
    assert plot is not None and plot.stat().st_size > 0
    section = lga_report.build_section(raw, plot, tmp_path)
    assert section["plots"] == ["fidelity-parts/lga.png"] and "fidelity-parts/lga.png" in section["markdown"]


def test_quick_runs_are_ci_sized_on_the_test_preset():
    args = bench_lga_bruteforce.parse_args(["--quick", "--preset", "natural"])
    assert (args.preset, args.proxy, args.test) == ("test", 8, 8)
    assert args.arches == ["gpt2", "llama"] and args.seeds == [0, 1]


def test_causal_tracing_reads_only_prompts_whose_subject_is_apart_from_the_final_token():
    at_end = {"prompt": "The city where Tomas Lerin lives is home to Tomas Lerin", "subject": "Tomas Lerin"}
    at_start = {"prompt": "Tomas Lerin lives in the city of", "subject": "Tomas Lerin"}
    in_middle = {"prompt": "The mother tongue of Ana Vel is", "subject": "Ana Vel"}
    assert bench_lga_bruteforce.tracing_requests([at_end, at_start, in_middle]) == [at_start, in_middle]
    # where every subject ends its prompt there is nothing else to read: all of them are traced
    assert bench_lga_bruteforce.tracing_requests([at_end]) == [at_end]


def test_the_verdict_flags_a_default_that_only_ever_picks_layer_0():
    # the synthetic worlds' largest-magnitude, most negative mlp_out score is layer 0's
    assert default_variant() == Variant("negated", None, "mlp_out")
    section = lga_report.build_section(synthetic_raw(), None, BENCHMARKS)
    assert "The default picked layer 0 in every world model" in section["markdown"]


def committed_analyses(name: str) -> list[dict]:
    record = json.loads((BENCHMARKS / "results" / name).read_text(encoding="utf-8"))
    return record["results"]["analyses"]


def test_the_default_is_the_reading_the_committed_brute_force_evidence_favours():
    """The default follows the measurements over both world families (docs/methods.md, LGA): a
    new brute-force run that favours another reading should change the default and its docs."""
    analyses = (committed_analyses("lga-bruteforce-test-2026-11-26.json")
                + committed_analyses("lga-bruteforce-natural-2026-11-27.json"))
    summary = aggregate(analyses)
    assert summary["worlds"] == 8
    assert best_variant(summary) == default_variant().key
    paper_rule = summary["variants"][Variant("signed", 1.0, "mlp_out").key]
    assert summary["variants"][default_variant().key]["mean_regret"] < paper_rule["mean_regret"]


def test_render_again_keeps_the_measurement_and_rewrites_the_text(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench_lga_bruteforce.py", "--render", "x.json"])
    raw = synthetic_raw()
    measured = {"cpu": "then", "cores": 2, "load_average": [1.0, 1.0, 1.0], "python": "3", "torch": "t",
                "transformers": "tf"}
    path = tmp_path / "lga-bruteforce-test-2026-01-01.json"
    path.write_text(json.dumps({"benchmark": "lga-bruteforce-test", "date": "2026-01-01T00:00:00+00:00",
                                "machine": measured, "command": "python measure.py", "summary": "old text",
                                "results": raw | {"plot": None}}), encoding="utf-8")
    part = tmp_path / "parts" / "LGA.json"
    bench_lga_bruteforce.render_again(path, part)
    record = json.loads(path.read_text(encoding="utf-8"))
    assert (record["date"], record["machine"], record["command"]) == ("2026-01-01T00:00:00+00:00", measured,
                                                                       "python measure.py")
    assert record["results"]["analyses"] == raw["analyses"] and record["summary"] != "old text"
    assert default_variant().name in record["summary"] and "rendered_again" in record
    text = path.with_suffix(".md").read_text(encoding="utf-8")
    assert text.startswith("# lga-bruteforce-test, 2026-01-01") and "rendered again" in text
    section = json.loads(part.read_text(encoding="utf-8"))
    assert (section["date"], section["command"]) == ("2026-01-01", "python measure.py")
    assert section["claims"] == lga_report.claims(raw["analyses"], raw["aggregate"])
