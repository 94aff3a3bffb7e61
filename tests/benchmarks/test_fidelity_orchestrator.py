"""The fidelity command (benchmarks/fidelity.py) with fake sections: resume, failures, report, atomic writes.

The fake section scripts honour the section contract (fidelity_section.py) in a few lines and
count their runs in a file, so reuse and reruns can be seen; none trains or edits a model.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import fidelity  # noqa: E402
import fidelity_report  # noqa: E402

FAKE_SECTION = '''
import argparse, json, os, sys
from pathlib import Path
parser = argparse.ArgumentParser()
parser.add_argument("--preset"); parser.add_argument("--threads"); parser.add_argument("--section-json", type=Path)
parser.add_argument("--quick", action="store_true")
args, _ = parser.parse_known_args()
name = "{name}"
runs = Path(os.environ["FAKE_RUNS"])
runs.write_text(runs.read_text() + name + "\\n" if runs.exists() else name + "\\n")
if name in os.environ.get("FAKE_FAIL", "").split():
    print("computing ...")
    print(f"{{name}} broke: the world model is missing", file=sys.stderr)
    sys.exit(3)
folder = args.section_json.parent
(folder / name).mkdir(parents=True, exist_ok=True)
(folder / name / "curve.png").write_bytes(b"png of " + name.encode())
(folder / name / "extra.png").write_bytes(b"second png of " + name.encode())
record = {{"section": name, "title": name + " against its baselines", "command": f"python {{name}}.py --preset {{args.preset}}",
          "date": "2026-11-26", "machine": {{"cpu": "fake", "cores": 2, "load_average": [1, 1, 1]}},
          "claims": [{{"claim": name + " beats the baseline", "paper": "+10", "measured": "+3 (quick=" + str(args.quick) + ")",
                      "metric": "greedy exact match after the last edit", "holds": True}}],
          "markdown": "### Numbers\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n\\n![curve](" + name + "/curve.png)\\n",
          "plots": [name + "/curve.png", name + "/extra.png"], "raw": {{"value": 3}}}}
args.section_json.write_text(json.dumps(record))
'''


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    """A folder of four fake section scripts and a registry that runs them; the run counter's path."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    registry = {}
    for name in fidelity.SECTIONS:
        (scripts / f"fake_{name}.py").write_text(FAKE_SECTION.format(name=name))
        registry[name] = fidelity.Section(name, f"fake_{name}.py", lambda args: [])
    runs = tmp_path / "runs.txt"
    monkeypatch.setenv("FAKE_RUNS", str(runs))
    monkeypatch.delenv("FAKE_FAIL", raising=False)
    monkeypatch.delenv("EASYEDIT_SRC", raising=False)  # the reports' names below are the reference modes'
    return scripts, registry, runs


def run(fakes, out, *extra):
    scripts, registry, _ = fakes
    return fidelity.main(["--preset", "test", "--quick", "--out", str(out), "--scripts", str(scripts), *extra],
                         registry=registry)


def only_report(out: Path) -> Path:
    reports = list(out.glob("fidelity-*.md"))
    assert len(reports) == 1, reports
    return reports[0]


def test_report_holds_every_section_with_its_command_claims_and_plots(fakes, tmp_path):
    out = tmp_path / "out"
    assert run(fakes, out, "--check") == 0
    report = only_report(out)
    assert report.name.startswith("fidelity-test-quick-")
    text = report.read_text()
    assert fidelity_report.check_report(text) == []
    for name in fidelity.SECTIONS:
        assert f"## {name}: {name} against its baselines" in text
        assert f"python {name}.py --preset test" in text
        assert f"| {name} | {name} beats the baseline | +10 | +3 (quick=True) |" in text
        # both plots copied next to the report: the one the section shows is relinked, the other appended
        assert (out / f"{report.stem}-{name}-1.png").read_bytes() == f"png of {name}".encode()
        assert f"![curve]({report.stem}-{name}-1.png)" in text
        assert f"({report.stem}-{name}-2.png)" in text
    assert "fidelity.py --preset natural" in text  # the full-run command
    record = json.loads(report.with_suffix(".json").read_text())
    assert set(record["sections"]) == set(fidelity.SECTIONS)
    assert record["sections"]["PAC"]["record"]["raw"] == {"value": 3}


def test_a_second_run_reuses_finished_sections_and_force_reruns_them(fakes, tmp_path):
    _, _, runs = fakes
    out = tmp_path / "out"
    assert run(fakes, out) == 0
    assert runs.read_text().split() == list(fidelity.SECTIONS)
    assert run(fakes, out) == 0
    assert runs.read_text().split() == list(fidelity.SECTIONS)  # nothing ran again
    assert "reused from an earlier run" in only_report(out).read_text()
    assert run(fakes, out, "--force", "--sections", "PAC") == 0
    assert runs.read_text().split() == [*fidelity.SECTIONS, "PAC"]


def test_a_run_of_some_sections_writes_its_own_report_beside_the_full_one(fakes, tmp_path):
    out = tmp_path / "out"
    assert run(fakes, out) == 0
    full = only_report(out)
    before = full.read_text()
    assert run(fakes, out, "--force", "--sections", "PAC", "LGA") == 0
    assert full.read_text() == before  # the report of all four stays whole
    partial = out / f"{full.stem}-LGA-PAC.md"  # named in the sections' own order
    assert partial.exists() and "## PAC:" in partial.read_text() and "## BLUE:" not in partial.read_text()


def test_a_run_against_easyedits_own_baselines_is_named_apart(monkeypatch):
    args = fidelity.parse_args(["--preset", "natural", "--sections", "BLUE"])
    monkeypatch.delenv("EASYEDIT_SRC", raising=False)
    assert fidelity.report_name(args, "2026-11-27") == "fidelity-2026-11-27-BLUE"
    reference_key = fidelity.settings_key(args, "BLUE")
    monkeypatch.setenv("EASYEDIT_SRC", "/somewhere/EasyEdit")
    assert fidelity.report_name(args, "2026-11-27") == "fidelity-2026-11-27-BLUE-easyedit"
    assert fidelity.settings_key(args, "BLUE") != reference_key  # and measured apart


def test_other_settings_do_not_reuse_and_a_section_subset_keeps_the_settings_key():
    base = fidelity.parse_args(["--preset", "test"])
    assert fidelity.settings_key(base) == fidelity.settings_key(fidelity.parse_args(["--preset", "test", "--sections",
                                                                                     "BLUE"]))
    assert fidelity.settings_key(base) != fidelity.settings_key(fidelity.parse_args(["--preset", "test", "--quick"]))
    assert fidelity.settings_key(base) != fidelity.settings_key(fidelity.parse_args(["--preset", "test", "--edits",
                                                                                     "20"]))


def test_a_section_keeps_its_key_when_only_another_sections_options_change():
    base = fidelity.parse_args(["--preset", "natural", "--edits", "100"])
    more_pac = fidelity.parse_args(["--preset", "natural", "--edits", "100", "--pac-edits", "40"])
    fewer_rules = fidelity.parse_args(["--preset", "natural", "--edits", "100", "--dmle-rules", "4"])
    assert fidelity.settings_key(base, "BLUE") == fidelity.settings_key(more_pac, "BLUE")
    assert fidelity.settings_key(base, "PAC") != fidelity.settings_key(more_pac, "PAC")
    assert fidelity.settings_key(base, "LGA") == fidelity.settings_key(fewer_rules, "LGA")
    assert fidelity.settings_key(base, "DMLE") != fidelity.settings_key(fewer_rules, "DMLE")
    assert len({fidelity.settings_key(base, name) for name in fidelity.SECTION_OPTIONS}) == 4
    assert fidelity.REGISTRY["DMLE"].extra(fewer_rules)[-2:] == ["--rules", "4"]


def test_spelling_out_a_sections_default_world_keeps_its_key():
    plain = fidelity.parse_args(["--preset", "natural"])
    spelled = fidelity.parse_args(["--preset", "natural", "--seed", "0", "--arch", "gpt2"])
    for section in ("BLUE", "DMLE", "PAC"):
        assert fidelity.settings_key(plain, section) == fidelity.settings_key(spelled, section)
        assert fidelity.settings_key(plain, section) != fidelity.settings_key(
            fidelity.parse_args(["--preset", "natural", "--seed", "1"]), section)
    # without --seed, LGA covers two seeds: seed 0 alone is another measurement
    assert fidelity.settings_key(plain, "LGA") != fidelity.settings_key(spelled, "LGA")


def test_a_retrained_world_does_not_reuse_parts_of_the_earlier_version(monkeypatch):
    args = fidelity.parse_args(["--preset", "natural"])
    before = fidelity.settings_key(args)
    preset = fidelity.preset_named("natural")
    monkeypatch.setattr(type(preset.world), "data_version", property(lambda self: "natural-data-0"))
    assert fidelity.settings_key(args) != before


def test_a_failing_section_keeps_the_others_and_the_report_says_why(fakes, tmp_path, monkeypatch):
    _, _, runs = fakes
    out = tmp_path / "out"
    monkeypatch.setenv("FAKE_FAIL", "LGA")
    assert run(fakes, out, "--check") == 1
    text = only_report(out).read_text()
    assert "## LGA: FAILED" in text and "exit code 3" in text
    assert "LGA broke: the world model is missing" in text  # the end of its output
    for name in ("BLUE", "DMLE", "PAC"):
        assert f"## {name}: {name} against its baselines" in text
    assert fidelity_report.check_report(text) == ["the LGA section failed"]
    # once it works, only the failed section runs again
    monkeypatch.delenv("FAKE_FAIL")
    assert run(fakes, out, "--check") == 0
    assert runs.read_text().split() == [*fidelity.SECTIONS, "LGA"]
    assert fidelity_report.check_report(only_report(out).read_text()) == []


def test_a_missing_script_or_a_broken_section_json_is_a_reported_failure(fakes, tmp_path):
    scripts, registry, _ = fakes
    registry = {**registry, "DMLE": fidelity.Section("DMLE", "not_written_yet.py", lambda args: [])}
    (scripts / "fake_BLUE.py").write_text("import sys\nopen(sys.argv[sys.argv.index('--section-json') + 1], 'w')"
                                          ".write('{\"section\": \"BLUE\"}')\n")
    out = tmp_path / "out"
    assert fidelity.main(["--preset", "test", "--out", str(out), "--scripts", str(scripts)], registry=registry) == 1
    text = only_report(out).read_text()
    assert "## DMLE: FAILED" in text and "not_written_yet.py does not exist" in text
    assert "## BLUE: FAILED" in text and "lacks" in text
    assert "## PAC: PAC against its baselines" in text


def test_the_report_is_written_atomically(fakes, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run(fakes, out) == 0
    report = only_report(out)
    before = report.read_text()
    files_before = sorted(p.name for p in out.iterdir())

    def interrupted(source, target):
        raise KeyboardInterrupt("killed while moving the file into place")

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(fakes, out, "--force")
    monkeypatch.undo()
    assert report.read_text() == before  # the old report, whole
    assert sorted(p.name for p in out.iterdir()) == files_before  # and no half-written file beside it


def test_the_check_names_what_a_report_lacks():
    good = "## Claims\n\n" + "".join(f"## {s}: title\n\nCommand:\n\n```bash\npython x.py\n```\n\n" for s in
                                     fidelity.SECTIONS)
    assert fidelity_report.check_report(good) == []
    assert fidelity_report.check_report(good.replace("## DMLE: title", "## DMLE: FAILED")) == [
        "the DMLE section failed"]
    without_pac = good.split("## PAC")[0]
    assert fidelity_report.check_report(without_pac) == ["no PAC section"]
    no_command = good.replace("```bash\npython x.py\n```\n\n## LGA", "no command here\n\n## LGA")
    assert fidelity_report.check_report(no_command) == ["the BLUE section shows no command"]


def test_section_commands_follow_the_contract():
    args = fidelity.parse_args(["--preset", "test", "--quick", "--arch", "llama", "--seed", "1", "--edits", "30",
                                "--batches", "10", "30", "--force"])
    part = Path("/tmp/parts/X.json")
    blue = fidelity.section_command(fidelity.REGISTRY["BLUE"], args, part)
    assert blue[2:] == ["--preset", "test", "--threads", "1", "--section-json", str(part), "--quick", "--force",
                        "--arch", "llama", "--seed", "1", "--edits", "30", "--batches", "10", "30"]
    lga = fidelity.section_command(fidelity.REGISTRY["LGA"], args, part)
    assert "--force" not in lga and lga[-4:] == ["--arches", "llama", "--seeds", "1"]
    dmle = fidelity.section_command(fidelity.REGISTRY["DMLE"], args, part)
    assert dmle[-4:] == ["--arch", "llama", "--seed", "1"] and "--edits" not in dmle


def test_a_title_that_names_its_section_is_the_heading_as_it_is():
    record = {"title": "PAC: consecutive editing", "command": "python p.py", "date": "2026-11-26", "claims": [],
              "machine": {"cpu": "fake", "cores": 2, "load_average": [1, 1, 1]}, "markdown": "body", "plots": []}
    lines = fidelity_report.section_lines("PAC", {"record": record}, {})
    assert lines[0] == "## PAC: consecutive editing"
    assert fidelity_report.check_report("## Claims\n\n" + "\n".join(lines), ("PAC",)) == []
