"""The hyperparameter base: loading, conversions and the errors a YAML author sees."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from easyedit_plugins.hparams import HyperParamsError, PluginHyperParams


@dataclass(kw_only=True)
class ExampleHyperParams(PluginHyperParams):
    ALG_NAME = "EXAMPLE"

    layers: list[int]
    v_lr: float = 0.5
    mom2_update_weight: float = 15000.0
    mode: str = "fast"
    optional_path: str | None = None
    stages: list[dict] = field(default_factory=list)

    def validate(self) -> None:
        if self.mode not in ("fast", "slow"):
            raise HyperParamsError(f"mode must be 'fast' or 'slow', got {self.mode!r}")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_with_scientific_notation_is_converted(tmp_path):
    path = write(tmp_path, "h.yaml", "alg_name: EXAMPLE\nmodel_name: ./m\nlayers: [3, 4]\nv_lr: 5e-1\nmom2_update_weight: 1.5e4\n")
    hparams = ExampleHyperParams.from_hparams(path)
    assert hparams.v_lr == 0.5 and isinstance(hparams.v_lr, float)
    assert hparams.mom2_update_weight == 15000.0
    assert hparams.layers == [3, 4]


@pytest.mark.parametrize("suffix", [".yml", ".json"])
def test_yml_and_json(tmp_path, suffix):
    data = {"alg_name": "EXAMPLE", "model_name": "./m", "layers": [1]}
    text = json.dumps(data) if suffix == ".json" else "\n".join(f"{k}: {json.dumps(v)}" for k, v in data.items())
    hparams = ExampleHyperParams.from_hparams(write(tmp_path, "h" + suffix, text))
    assert hparams.layers == [1]


def test_missing_suffix_means_yaml(tmp_path):
    write(tmp_path, "h.yaml", "model_name: ./m\nlayers: [1]\n")
    assert ExampleHyperParams.from_hparams(tmp_path / "h").alg_name == "EXAMPLE"


def test_defaults_for_the_fields_easyedit_reads(tmp_path):
    hparams = ExampleHyperParams(model_name="./m", layers=[0])
    assert hparams.alg_name == "EXAMPLE"
    assert hparams.device == 0 and hparams.model_parallel is False
    assert hparams.batch_size == 1
    assert hparams.max_length >= 256


def test_typo_in_a_key_names_the_key_the_file_and_the_valid_keys(tmp_path):
    path = write(tmp_path, "typo.yaml", "model_name: ./m\nlayers: [1]\nv_lrr: 0.1\n")
    with pytest.raises(HyperParamsError) as error:
        ExampleHyperParams.from_hparams(path)
    message = str(error.value)
    assert str(path) in message and "'v_lrr'" in message
    assert "did you mean 'v_lr'" in message
    assert "valid keys:" in message and "mom2_update_weight" in message


def test_missing_required_key(tmp_path):
    path = write(tmp_path, "h.yaml", "model_name: ./m\n")
    with pytest.raises(HyperParamsError, match=r"h\.yaml: missing required key: layers"):
        ExampleHyperParams.from_hparams(path)


@pytest.mark.parametrize(
    "line, key",
    [("layers: three", "layers"), ("v_lr: fast", "v_lr"), ("model_parallel: 1", "model_parallel"), ("layers: [1.5]", "layers")],
)
def test_wrong_type_names_file_key_and_expected_type(tmp_path, line, key):
    layers = "" if line.startswith("layers:") else "layers: [1]\n"  # a key written twice is an error of its own
    path = write(tmp_path, "h.yaml", f"model_name: ./m\n{layers}{line}\n")
    with pytest.raises(HyperParamsError) as error:
        ExampleHyperParams.from_hparams(path)
    assert str(path) in str(error.value) and f"'{key}' must be" in str(error.value)


def test_integral_float_is_accepted_for_an_int(tmp_path):
    path = write(tmp_path, "h.yaml", "model_name: ./m\nlayers: [1]\nmax_length: 1e3\n")
    assert ExampleHyperParams.from_hparams(path).max_length == 1000


def test_alg_name_mismatch(tmp_path):
    path = write(tmp_path, "h.yaml", "alg_name: MEMIT\nmodel_name: ./m\nlayers: [1]\n")
    with pytest.raises(HyperParamsError, match="alg_name is 'MEMIT' but ExampleHyperParams is for 'EXAMPLE'"):
        ExampleHyperParams.from_hparams(path)


def test_validate_hook_reports_through_the_file(tmp_path):
    path = write(tmp_path, "h.yaml", "model_name: ./m\nlayers: [1]\nmode: medium\n")
    with pytest.raises(HyperParamsError, match=r"h\.yaml: mode must be"):
        ExampleHyperParams.from_hparams(path)


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(HyperParamsError, match="not valid YAML"):
        ExampleHyperParams.from_hparams(write(tmp_path, "h.yaml", "model_name: [unclosed\n"))
    with pytest.raises(HyperParamsError, match="not found"):
        ExampleHyperParams.from_hparams(tmp_path / "absent.yaml")
    with pytest.raises(HyperParamsError, match="expected a mapping"):
        ExampleHyperParams.from_hparams(write(tmp_path, "l.yaml", "- 1\n- 2\n"))


def test_direct_construction_is_checked_too():
    with pytest.raises(HyperParamsError, match="'layers' must be"):
        ExampleHyperParams(model_name="./m", layers="3")


def test_model_name_may_be_a_model_tokenizer_tuple():
    from easyedit_plugins.testing import tiny_model

    model, tok = tiny_model("gpt2", layers=1, width=16)
    hparams = ExampleHyperParams(model_name=(model, tok), layers=[0])
    assert hparams.to_dict()["model_name"] == f"(GPT2LMHeadModel, {type(tok).__name__})"


def test_construction_callbacks_run_once_per_instance_after_the_checks(monkeypatch):
    from easyedit_plugins import hparams as hparams_module

    monkeypatch.setattr(hparams_module, "_construct_callbacks", list(hparams_module._construct_callbacks))
    seen = []

    def callback(instance):
        seen.append(instance.v_lr)

    hparams_module.on_construct(callback)
    hparams_module.on_construct(callback)
    ExampleHyperParams.from_dict({"model_name": "./m", "layers": [1], "v_lr": "5e-1"})
    assert seen == [0.5]


def test_the_host_installs_through_the_construction_callback():
    from easyedit_plugins import hparams as hparams_module
    from easyedit_plugins.host.install import ensure_installed

    assert ensure_installed in hparams_module._construct_callbacks
