"""Issue 10 §3: values that cannot be right are refused when the file is loaded, naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from easyedit_plugins.hparams import HyperParamsError
from easyedit_plugins.methods.blue import BLUEHyperParams
from easyedit_plugins.methods.dmle import DMLEHyperParams
from easyedit_plugins.selectors.lga import LGAHyperParams
from easyedit_plugins.methods.pac import PACHyperParams

BLUE_BASE = "alg_name: BLUE\nmodel_name: tiny\nlayers: [1, 2]\n"
PAC_BASE = "alg_name: PAC\nmodel_name: tiny\n"


def _write(tmp_path: Path, text: str, name: str = "h.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "line, key",
    [
        ("v_lr: .nan", "v_lr"),
        ("v_lr: .inf", "v_lr"),
        ("v_lr: -0.5", "v_lr"),
        ("v_lr: 0", "v_lr"),
        ("v_lr: '5e-1000'", "v_lr"),
        ("v_weight_decay: -1", "v_weight_decay"),
        ("kl_factor: .nan", "kl_factor"),
        ("mom2_update_weight: -15000", "mom2_update_weight"),
        ("mom2_update_weight: .inf", "mom2_update_weight"),
        ("clamp_norm_factor: -4", "clamp_norm_factor"),
        ("L2: -1", "L2"),
        ("v_num_grad_steps: 0", "v_num_grad_steps"),
        ("v_num_grad_steps: -3", "v_num_grad_steps"),
        ("batch_size: 0", "batch_size"),
        ("batch_size: -1", "batch_size"),
        ("mom2_n_samples: 0", "mom2_n_samples"),
        ("mom2_n_samples: -100", "mom2_n_samples"),
        ("z_requests_per_batch: 0", "z_requests_per_batch"),
        ("nullspace_threshold: .nan", "nullspace_threshold"),
        ("layers: [-1, 2]", "layers"),
        ("v_loss_layer: -1", "v_loss_layer"),
    ],
)
def test_blue_file_with_an_impossible_value_is_refused_naming_file_and_key(tmp_path, line, key):
    base = BLUE_BASE.replace("layers: [1, 2]\n", "") if line.startswith("layers:") else BLUE_BASE
    path = _write(tmp_path, base + line + "\n")
    with pytest.raises(HyperParamsError, match=rf"{path}.*'{key}'"):
        BLUEHyperParams.from_hparams(path)


@pytest.mark.parametrize(
    "line, key",
    [
        ("lr: .nan", "lr"), ("lr: .inf", "lr"), ("lr: -1e-5", "lr"),
        ("contrastive_weight: .nan", "contrastive_weight"), ("contrastive_weight: .inf", "contrastive_weight"),
        ("adam_eps: -1", "adam_eps"), ("adam_betas: [.nan, 0.9]", "adam_betas"), ("batch_size: 0", "batch_size"),
    ],
)
def test_pac_file_with_an_impossible_value_is_refused(tmp_path, line, key):
    path = _write(tmp_path, PAC_BASE + line + "\n")
    with pytest.raises(HyperParamsError, match=rf"{path}.*'{key}'"):
        PACHyperParams.from_hparams(path)


def test_dmle_and_lga_share_the_checks(tmp_path):
    path = _write(tmp_path, "alg_name: DMLE\nmodel_name: tiny\nv_lr: .nan\n")
    with pytest.raises(HyperParamsError, match="'v_lr'"):
        DMLEHyperParams.from_hparams(path)
    with pytest.raises(HyperParamsError, match="'tukey_k'"):
        LGAHyperParams.from_dict({"tukey_k": float("nan")})


def test_constructing_in_code_is_checked_too():
    with pytest.raises(HyperParamsError, match="'v_num_grad_steps'"):
        BLUEHyperParams(model_name="tiny", layers=[1], v_num_grad_steps=0)


def test_sound_values_still_load(tmp_path):
    path = _write(tmp_path, BLUE_BASE + "v_lr: 5e-1\nmom2_n_samples: null\nkl_factor: 0\nv_weight_decay: 0\n")
    hparams = BLUEHyperParams.from_hparams(path)
    assert hparams.v_lr == 0.5 and hparams.mom2_n_samples is None


def test_duplicate_yaml_keys_are_refused_naming_file_key_and_lines(tmp_path):
    path = _write(tmp_path, BLUE_BASE + "v_lr: 0.5\nv_lr: 5.0\n")
    with pytest.raises(HyperParamsError, match=rf"{path}.*duplicate key 'v_lr'.*line 4.*line 5"):
        BLUEHyperParams.from_hparams(path)


def test_duplicate_keys_in_nested_yaml_mappings_are_refused(tmp_path):
    path = _write(tmp_path, BLUE_BASE + "layer_selection: lga\nlayer_selection_config:\n  seed: 1\n  seed: 2\n")
    with pytest.raises(HyperParamsError, match="duplicate key 'seed'"):
        BLUEHyperParams.from_hparams(path)


def test_duplicate_json_keys_are_refused(tmp_path):
    path = _write(tmp_path, '{"alg_name": "BLUE", "model_name": "t", "layers": [1], "v_lr": 1, "v_lr": 2}', "h.json")
    with pytest.raises(HyperParamsError, match=rf"{path}.*duplicate key 'v_lr'"):
        BLUEHyperParams.from_hparams(path)


def test_the_strict_loader_keeps_safe_load_semantics(tmp_path):
    from easyedit_plugins.core.strict_yaml import strict_safe_load
    import yaml

    text = "a: 1\nb: [1, 2]\nc: {d: null}\nanchor: &x {k: 1}\nmerged:\n  <<: *x\n  j: 2\nwhen: 2024-01-01\n"
    assert strict_safe_load(text) == yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError):
        strict_safe_load("x: !!python/object/apply:os.system ['true']\n")


def test_a_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes((BLUE_BASE + "mom2_dataset: caf\xe9\n").encode("latin-1"))
    with pytest.raises(HyperParamsError, match=rf"{path}.*not UTF-8"):
        BLUEHyperParams.from_hparams(path)


@pytest.mark.parametrize("template", ["No placeholder.", "Two {} and {}.", "A {name} field. {}", "A lone { brace. {}"])
def test_context_templates_without_exactly_one_plain_placeholder_are_refused_at_load(template):
    with pytest.raises(HyperParamsError, match="'context_templates'.*exactly one"):
        BLUEHyperParams(model_name="tiny", layers=[1], context_templates=[template])


def test_context_templates_with_escaped_braces_load():
    assert BLUEHyperParams(model_name="tiny", layers=[1], context_templates=["Set {{}} is empty. {}"]).context_templates
