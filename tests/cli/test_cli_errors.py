"""Every command turns an expected failure into one ``error: ...`` line on stderr and exit code
2; the traceback only with ``-v`` (issue 10, section 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from easyedit_plugins.cli import main


@pytest.fixture
def proxy(tmp_path: Path) -> Path:
    path = tmp_path / "proxy.json"
    path.write_text(json.dumps([{"prompt": "a", "target_new": "b", "subject": "a"}]), encoding="utf-8")
    return path


def _fails_cleanly(argv: list[str], capsys, expected: str) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert expected in lines[0]
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_stats_missing_corpus(tmp_path, capsys):
    _fails_cleanly(["stats", "--model", str(tmp_path / "model"), "--corpus", str(tmp_path / "none.txt"),
                    "--layers", "0"], capsys, "none.txt")


def test_stats_missing_model_path(tmp_path, proxy, capsys):
    _fails_cleanly(["stats", "--model", str(tmp_path / "no-model"), "--corpus", str(proxy), "--layers", "0"],
                   capsys, "no-model")


@pytest.mark.parametrize("device", ["cuda:63", "tpu", "cuda:x"])
def test_stats_and_lga_a_device_that_is_not_there(tmp_path, proxy, capsys, device):
    _fails_cleanly(["stats", "--model", str(tmp_path), "--corpus", str(proxy), "--layers", "0", "--device", device],
                   capsys, f"--device {device!r}")
    _fails_cleanly(["lga", "--model", str(tmp_path), "--data", str(proxy), "--method", "BLUE",
                    "--out", str(tmp_path / "x.yaml"), "--device", device], capsys, f"--device {device!r}")


def test_lga_missing_data_file_and_model_path(tmp_path, proxy, capsys):
    _fails_cleanly(["lga", "--model", str(tmp_path), "--data", str(tmp_path / "none.json"), "--method", "BLUE",
                    "--out", str(tmp_path / "x.yaml")], capsys, "none.json")
    _fails_cleanly(["lga", "--model", str(tmp_path / "no-model"), "--data", str(proxy), "--method", "BLUE",
                    "--out", str(tmp_path / "x.yaml")], capsys, "no-model")


def test_ruleedit_bad_yaml_in_method_kwargs(tmp_path, capsys):
    _fails_cleanly(["ruleedit", "--hparams", "hparams/BLUE/tiny-gpt2.yaml", "--data", str(tmp_path),
                    "--out", str(tmp_path / "out"), "--method-kwargs", "v_lr=[1, 2"], capsys, "not valid YAML")


def test_ruleedit_missing_data_file_and_hparams(tmp_path, capsys):
    hparams = Path(__file__).parents[2] / "hparams" / "BLUE" / "tiny-gpt2.yaml"
    _fails_cleanly(["ruleedit", "--hparams", str(hparams), "--data", str(tmp_path / "RuleEdit-200.zip"),
                    "--out", str(tmp_path / "out")], capsys, "RuleEdit-200.zip")
    _fails_cleanly(["ruleedit", "--hparams", str(tmp_path / "none.yaml"), "--data", str(tmp_path),
                    "--out", str(tmp_path / "out")], capsys, "none.yaml")


def test_world_not_cached_with_no_train(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EASYEDIT_PLUGINS_CACHE", str(tmp_path))
    _fails_cleanly(["world", "--no-train"], capsys, "no trained test world model")


def test_bad_thread_count(capsys):
    _fails_cleanly(["world", "--path", "--threads", "0"], capsys, "--threads")


def test_verbose_adds_the_traceback(tmp_path, capsys):
    code = main(["-v", "stats", "--model", str(tmp_path), "--corpus", str(tmp_path / "none.txt"), "--layers", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error: ")


def test_ruleedit_and_lga_models_refuse_a_device_that_is_not_there_before_loading():
    """ruleedit reads the device from the hparams; the loader checks it first (a ModelLoadError,
    which the CLI reports as one line)."""
    from easyedit_plugins.runners.model_loading import ModelLoadError, _available

    with pytest.raises(ModelLoadError, match="cuda:63"):
        _available("cuda:63")
    with pytest.raises(ModelLoadError, match="not a device"):
        _available("tpu")
