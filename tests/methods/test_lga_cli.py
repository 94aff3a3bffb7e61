"""``easyedit-plugins lga``: a ready, loadable hyperparameter file and a PNG of the scores."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from easyedit_plugins import BLUEHyperParams
from easyedit_plugins.cli import main
from easyedit_plugins.methods.dmle import DMLEHyperParams
from easyedit_plugins.testing import save_tiny_model

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def model_dir(tmp_path):
    return save_tiny_model("gpt2", tmp_path / "models", layers=6)


@pytest.fixture
def proxy(tmp_path):
    requests = [
        {"prompt": f"The {kind} of blend{n}", "subject": f"blend{n}", "target_new": "W = p + q.",
         "ground_truth": "W = p * q.", "form": form}
        for n in range(2) for kind, form in (("formula", "formula"), ("rule", "description"), ("value", "instance"))
    ]
    path = tmp_path / "proxy.json"
    path.write_text(json.dumps(requests), encoding="utf-8")
    return path


def test_blue_file_is_ready_to_load_and_records_how_the_layers_were_chosen(tmp_path, model_dir, proxy, capsys):
    out, plot = tmp_path / "hparams" / "BLUE" / "tiny.yaml", tmp_path / "scores.png"
    code = main(["lga", "--model", str(model_dir), "--data", str(proxy), "--method", "BLUE", "--out", str(out),
                 "--selection", "window", "--num-layers", "3", "--plot", str(plot), "--no-progress"])
    assert code == 0, capsys.readouterr().out
    loaded = BLUEHyperParams.from_hparams(out)
    assert len(loaded.layers) == 3 and loaded.model_name == str(model_dir) and loaded.layer_selection is None
    header = [line for line in out.read_text().splitlines() if line.startswith("#")]
    text = "\n".join(header)
    assert "LGA" in text and str(proxy) in text and "6 requests scored" in text and "window" in text
    assert f"all: layers {loaded.layers}" in text and "scores 0: " in text
    assert plot.read_bytes().startswith(PNG_SIGNATURE)


def test_dmle_file_gets_one_window_per_stage_from_its_base_file(tmp_path, model_dir, proxy, capsys):
    base = tmp_path / "base.yaml"
    stages = [{"name": "f_d", "forms": ["formula", "description"], "layers": [0, 1, 2]},
              {"name": "ins", "forms": ["instance"], "layers": [3, 4]}]
    base.write_text(yaml.safe_dump({"alg_name": "DMLE", "model_name": "elsewhere", "stages": stages,
                                    "mom2_update_weight": 20000, "layer_selection": "lga"}))
    out = tmp_path / "DMLE.yaml"
    code = main(["lga", "--model", str(model_dir), "--data", str(proxy), "--method", "DMLE", "--out", str(out),
                 "--base-hparams", str(base), "--no-progress"])
    assert code == 0, capsys.readouterr().out
    loaded = DMLEHyperParams.from_hparams(out)
    assert [len(stage["layers"]) for stage in loaded.stages] == [3, 2]
    assert loaded.mom2_update_weight == 20000 and loaded.layer_selection is None
    assert "f_d: layers" in out.read_text() and "ins: layers" in out.read_text()


def test_unknown_method_is_an_error_that_names_it(tmp_path, model_dir, proxy, capsys):
    code = main(["lga", "--model", str(model_dir), "--data", str(proxy), "--method", "NOPE",
                 "--out", str(tmp_path / "x.yaml")])
    assert code == 2 and "error: no editing method 'NOPE'" in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists()
