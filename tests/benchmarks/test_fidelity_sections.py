"""The BLUE and PAC sections' judgements, on made-up comparison reports (no model is edited here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import fidelity_blue  # noqa: E402
import fidelity_pac  # noqa: E402
import fidelity_section  # noqa: E402


def part(final: dict[str, float], changed: list[int] | None = None) -> dict:
    point = {"edits": 40, **final}
    return {"final": point, "curve": [point], "changed_layers": changed, "implementation": "package",
            "seconds": {"per_edit_wall": 0.1}}


def metrics(efficacy: float, generalisation: float, locality: float) -> dict[str, float]:
    values = {"efficacy": efficacy, "generalisation": generalisation, "locality": locality}
    return {**values, **{f"{k}_token": v for k, v in values.items()}}


def test_the_critical_range_is_at_least_three_consecutive_layers():
    assert fidelity_blue.critical_range("test", 4, None) == [0, 1, 2]  # the preset's [1, 2], widened downwards
    assert fidelity_blue.critical_range("natural", 8, None) in ([1, 2, 3, 4], fidelity_blue.EDIT_LAYERS.get("natural"))
    assert fidelity_blue.critical_range("test", 4, [3, 1, 2]) == [1, 2, 3]
    for wrong in ([1, 2], [0, 2, 3], [2, 3, 4]):
        with pytest.raises(SystemExit, match="at least 3 consecutive"):
            fidelity_blue.critical_range("test", 4, wrong)


def test_the_stream_leaves_the_locality_facts_unedited():
    # natural world, GPT-2 seed 0: 479 editable facts; 150 kept for locality leave 329 to edit
    assert fidelity_blue.stream_length(1000, 479, 150, 100) == 329
    assert fidelity_blue.stream_length(300, 360, 60, 100) == 300  # the test world: the asked length fits
    assert fidelity_blue.stream_length(40, 360, 60, 20) == 40
    with pytest.raises(SystemExit, match="keeping 300 unedited for locality leaves 60, fewer than a batch of 100"):
        fidelity_blue.stream_length(300, 360, 300, 100)


def test_checkpoints_fall_on_call_boundaries_and_the_last_edit_is_always_one():
    assert fidelity_blue.checkpoints_for(100, 300, [10, 100, 300]) == [100, 300]
    assert fidelity_blue.checkpoints_for(10, 250, [10, 100, 500, 1000]) == [10, 100, 250]


def test_blue_must_write_only_the_boundary_layers():
    report = {"methods": {"MEMIT": part({}, [0, 1, 2]), "BLUE-MEMIT": part({}, [0, 2]),
                          "BLUE-AlphaEdit": part({}, [2])}}
    assert fidelity_blue.boundary_check(report, [0, 1, 2])["holds"]
    report["methods"]["BLUE-AlphaEdit"] = part({}, [0, 1, 2])
    assert not fidelity_blue.boundary_check(report, [0, 1, 2])["holds"]
    assert not fidelity_blue.boundary_check({"methods": {"MEMIT": part({}, [0, 1, 2])}}, [0, 1, 2])["holds"]


def test_blue_claims_compare_the_direction_in_every_batch_size():
    good = {"methods": {"MEMIT": part(metrics(0.6, 0.5, 0.9)), "BLUE-MEMIT": part(metrics(0.9, 0.8, 0.9)),
                        "AlphaEdit": part(metrics(0.9, 0.8, 0.8)), "BLUE-AlphaEdit": part(metrics(0.9, 0.8, 0.7))}}
    claims = fidelity_blue.comparison_claims({10: good, 100: good})
    by_base = {c["claim"].split(" edits")[0]: c for c in claims}
    assert by_base["BLUE on MEMIT"]["holds"] is True
    assert by_base["BLUE on AlphaEdit"]["holds"] is False
    assert "65.65" in by_base["BLUE on MEMIT"]["paper"] and "batch 100" in by_base["BLUE on MEMIT"]["measured"]
    average = claims[-1]
    assert "35.59" in average["paper"] and average["holds"] is True  # +30% and -4% twice each
    assert "+13.00%" in average["measured"]
    missing = {"methods": {k: v for k, v in good["methods"].items() if k != "BLUE-MEMIT"}}
    assert fidelity_blue.comparison_claims({10: missing})[0]["holds"] is None


def test_pac_claims_need_pac_above_every_baseline_in_each_metric():
    report = {"requests": {"facts": 40}, "methods": {
        "PAC": part(metrics(0.9, 0.9, 0.9)), "FT": part(metrics(0.9, 0.8, 0.7)),
        "MEMIT": part(metrics(0.9, 0.9, 0.8)), "PAC-chain": part(metrics(0.2, 0.2, 0.2))}}
    claims = fidelity_pac.claims_of(report)
    assert [c["holds"] for c in claims] == [True, True]
    assert "token accuracy" in claims[0]["metric"] and "exact match" in claims[1]["metric"]
    report["methods"]["FT"] = part(metrics(1.0, 1.0, 0.9))
    assert [c["holds"] for c in fidelity_pac.claims_of(report)] == [False, False]
    del report["methods"]["MEMIT"]
    assert [c["holds"] for c in fidelity_pac.claims_of(report)] == [None, None]


def test_the_options_front_takes_each_configurations_best_point_at_each_locality_level():
    def row(name, budget, efficacy, same, other):
        return {"name": name, "regime": "joint", "settings": f"budget {budget}", "efficacy": efficacy,
                "generalisation": efficacy, "loc_same": same, "loc_other": other}
    rows = [row("FT", 0.06, 0.3, 0.83, 1.0), row("FT", 0.18, 0.97, 0.56, 1.0),
            row("PAC values only", 0.18, 0.0, 1.0, 1.0), row("PAC values only", 0.6, 0.07, 0.9, 1.0)]
    summary = {entry["name"]: entry for entry in fidelity_pac.front_summary(rows)}
    assert summary["FT"]["paper_budget"]["efficacy"] == 0.97
    assert summary["FT"]["best"]["0.8"]["efficacy"] == 0.3 and summary["FT"]["best"]["0.9"] is None
    assert summary["PAC values only"]["best"]["0.9"]["settings"] == "budget 0.6"
    leaders = fidelity_pac.front_leaders(list(summary.values()))
    assert leaders["0.8"] == ["FT"] and leaders["0.9"] == ["PAC values only"]
    assert fidelity_pac.front_leaders(list(summary.values()), without="FT")["0.8"] == ["PAC values only"]


def test_the_options_table_reads_the_newest_regime_results(tmp_path):
    rows = [{"name": "FT", "regime": "joint, baseline", "settings": "budget 0.18", "efficacy": 0.9,
             "generalisation": 0.8, "loc_same": 0.7, "loc_other": 1.0}]
    for date, suffix in (("2026-11-20", ""), ("2026-11-26", ""), ("2026-11-26", "-supplement")):
        record = {"date": date, "command": f"python benchmarks/bench_pac_regimes.py{suffix}", "world": "w",
                  "facts": 40, "relations": ["city"], "locality_sizes": {"same": 1, "other": 1}, "rows": rows}
        (tmp_path / f"pac-regimes-{date}{suffix}.json").write_text(json.dumps(record))
    files = fidelity_pac.regime_files(tmp_path)
    assert [p.name for p in files] == ["pac-regimes-2026-11-26-supplement.json", "pac-regimes-2026-11-26.json"]
    lines, raw = fidelity_pac.options_markdown(files)
    assert any("0.900/0.800/0.700/1.000" in line for line in lines) and raw["leaders"]["0.7"] == ["FT"]
    assert fidelity_pac.options_markdown([])[0][0].startswith("No `pac-regimes-*.json`")


def test_a_section_json_follows_the_contract(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/fidelity_pac.py", "--preset", "test", "--section-json", "x.json"])
    plot = tmp_path / "PAC" / "curve.png"
    plot.parent.mkdir()
    plot.write_bytes(b"png")
    claim = {"claim": "c", "paper": "p", "measured": "m", "metric": "greedy exact match", "holds": None}
    path = fidelity_section.write_section(tmp_path / "PAC.json", "PAC", "title", [claim], "### body", [plot], {"a": 1})
    record = json.loads(path.read_text())
    assert record["plots"] == ["PAC/curve.png"] and record["section"] == "PAC"
    assert "--section-json" not in record["command"] and "--preset test" in record["command"]
    with pytest.raises(ValueError, match="lacks"):
        fidelity_section.write_section(tmp_path / "PAC.json", "PAC", "t", [{"claim": "c"}], "", [], {})
    with pytest.raises(ValueError, match="unknown section"):
        fidelity_section.write_section(tmp_path / "X.json", "XYZ", "t", [], "", [], {})
