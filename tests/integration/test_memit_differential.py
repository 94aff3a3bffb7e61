"""The reference mode (BLUE's ``schedule: distributed``) against EasyEdit's own MEMIT.

Both edit copies of the same tiny GPT-2 for the same requests, with the same context templates
and the same statistics file (written in EasyEdit's cache layout, which both read). Runs with
the 2023 release (CUDA redirected to the CPU) and with the 2026 tree (``EASYEDIT_SRC``).
"""

from __future__ import annotations

import importlib

import numpy as np
import transformers

from easyedit_plugins import BLUEHyperParams, apply_blue_to_model
from easyedit_plugins.testing import save_tiny_model

LAYERS = [1, 2, 3]
N_SAMPLES = 1000
TEMPLATES = [["{}"], ["Because of that. {}", "I think that. {}", "You know. {}"]]
REQUESTS = [
    {"prompt": "The mother tongue of Danielle Darrieux", "subject": "Danielle Darrieux", "target_new": "Tokyo"},
    {"prompt": "The instrument played by Toko Yasuda", "subject": "Toko Yasuda", "target_new": "Berlin"},
]
SETTINGS = dict(
    layers=LAYERS, fact_token="subject_last", v_num_grad_steps=8, v_lr=0.5, v_loss_layer=5,
    v_weight_decay=0.5, clamp_norm_factor=4.0, kl_factor=0.0625, mom2_adjustment=True,
    mom2_update_weight=2.0, rewrite_module_tmp="transformer.h.{}.mlp.c_proj", layer_module_tmp="transformer.h.{}",
    mlp_module_tmp="transformer.h.{}.mlp", attn_module_tmp="transformer.h.{}.attn", ln_f_module="transformer.ln_f",
    lm_head_module="transformer.wte", mom2_dataset="wikipedia", mom2_n_samples=N_SAMPLES, mom2_dtype="float32",
)


def write_easyedit_statistics(stats_dir, folder, width):
    """Random SPD sums of outer products, in EasyEdit's npz layout, for every layer."""
    generator = np.random.default_rng(0)
    for layer in LAYERS:
        basis = generator.standard_normal((width, 2 * width))
        path = stats_dir / folder / "wikipedia_stats" / f"transformer.h.{layer}.mlp.c_proj_float32_mom2_{N_SAMPLES}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            **{
                "mom2.constructor": np.array("easyeditor.util.runningstats.SecondMoment()"),
                "mom2.count": np.array(5000),
                "mom2.mom2": (basis @ basis.T * 5000 / (2 * width)).astype(np.float32),
                "sample_size": np.array(N_SAMPLES),
            },
        )


def test_reference_mode_reproduces_easyedit_memit(easyedit, easyedit_on_cpu, tmp_path):
    path = save_tiny_model("gpt2", tmp_path / "models", layers=6)
    theirs = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True).eval()
    ours = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True).eval()
    tok = transformers.GPT2TokenizerFast.from_pretrained(path, local_files_only=True)
    stats_dir = tmp_path / "stats"
    folder = theirs.config._name_or_path.replace("/", "_") if easyedit.generation == "2023" else path.name
    write_easyedit_statistics(stats_dir, folder, 4 * theirs.config.n_embd)

    memit_main = importlib.import_module("easyeditor.models.memit.memit_main")
    memit_hparams = importlib.import_module("easyeditor.models.memit.memit_hparams").MEMITHyperParams
    memit_main.CONTEXT_TEMPLATES_CACHE = TEMPLATES
    memit_main.COV_CACHE.clear()
    hparams = memit_hparams(
        alg_name="MEMIT", model_name=str(path), device=easyedit_on_cpu, stats_dir=str(stats_dir),
        layer_selection="all", **SETTINGS,
    )
    memit_main.apply_memit_to_model(theirs, tok, [dict(r) for r in REQUESTS], hparams, return_orig_weights=True, keep_original_weight=True)

    our_hparams = BLUEHyperParams(
        model_name=str(path), device="cpu", stats_dir=str(stats_dir), base_method="MEMIT",
        schedule="distributed", context_templates=TEMPLATES[1], **SETTINGS,
    )
    apply_blue_to_model(ours, tok, [dict(r) for r in REQUESTS], our_hparams)

    for layer in LAYERS:
        name = f"transformer.h.{layer}.mlp.c_proj.weight"
        original = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True).get_parameter(name)
        their_update = (theirs.get_parameter(name) - original).detach().double()
        our_update = (ours.get_parameter(name) - original).detach().double()
        assert their_update.norm() > 1e-2
        relative = float((their_update - our_update).norm() / their_update.norm())
        print(f"layer {layer}: relative difference {relative:.2e}")
        assert relative < 1e-3, (layer, relative)
