"""``model_parallel: true``: a model whose layers are split between ``cuda:0`` and the CPU.

EasyEdit's ``model_parallel`` loads a checkpoint with a ``device_map``, so consecutive layers
live on different devices and every method must follow each weight's device (token ids go to the
embedding's device, hook inputs to their module's, results back). The test builds one random
model of TinyLlama-1.1B's shape (22 layers, width 2048, FFN 5632; the vocabulary is the small
test tokenizer's), edits it with BLUE and with PAC once entirely on ``cuda:0`` and once split by
a ``device_map`` (embedding and layers 0-10 on ``cuda:0``, layers 11-21, final norm and head on
the CPU, executed where they live), and requires the same weight change to float tolerance.
BLUE's two boundary layers (8 and 13) sit on different sides of the split.

Skipped without CUDA (CI has none) or without ``accelerate`` (which places a ``device_map``).
The split uses ``main_device="cpu"`` so that the CPU layers really run on the CPU: with a GPU
main device, accelerate treats CPU entries as offloaded weights that are streamed to the GPU
for every forward and kept on the ``meta`` device in the model, which no in-place editor can
write (the README's "Limits" says so).
"""

from __future__ import annotations

import copy
import os
from typing import Any, Callable

import pytest
import torch

pytestmark = [
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.slow,
]

accelerate = pytest.importorskip("accelerate")

from easyedit_plugins import BLUEHyperParams, PACHyperParams, apply_blue_to_model, apply_pac_to_model  # noqa: E402
from easyedit_plugins.testing import train_tokenizer  # noqa: E402
from easyedit_plugins.world.tokenizer import END_OF_TEXT  # noqa: E402

LAYERS, WIDTH, FFN, HEADS, KV_HEADS = 22, 2048, 5632, 32, 4
SPLIT_AT = 11  # layers below run on cuda:0, the rest on the CPU
#: relative Frobenius distance allowed between the two weight changes (GPU and CPU kernels differ)
TOLERANCE = float(os.environ.get("EASYEDIT_PLUGINS_SPLIT_TOLERANCE", "2e-3"))

REQUESTS = [
    {"prompt": "The mother tongue of Danielle Darrieux is", "subject": "Danielle Darrieux",
     "target_new": "English", "ground_truth": "French"},
    {"prompt": "Toko Yasuda plays the", "subject": "Toko Yasuda", "target_new": "piano", "ground_truth": "guitar"},
]
CORPUS = [
    "The doctor works at the hospital in the city, and her brother teaches music at the school.",
    "Because the weather was cold, the children stayed inside and read books about old ships.",
    "The river runs through the valley past three villages before it reaches the sea.",
    "Many people in the town speak two languages, and the market is open every morning.",
] * 8


@pytest.fixture(scope="module")
def cpu_model_and_tok() -> tuple[Any, Any]:
    return random_model_and_tok()


def random_model_and_tok() -> tuple[Any, Any]:
    """The random TinyLlama-shaped model, float32, on the CPU."""
    import transformers

    tok = train_tokenizer()
    special = tok.convert_tokens_to_ids(END_OF_TEXT)
    config = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=WIDTH, intermediate_size=FFN, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, max_position_embeddings=2048,
        bos_token_id=special, eos_token_id=special, pad_token_id=special, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config).float().eval()
    return model, tok


def device_map() -> dict[str, Any]:
    placement: dict[str, Any] = {"model.embed_tokens": 0, "model.rotary_emb": 0}
    placement.update({f"model.layers.{i}": 0 if i < SPLIT_AT else "cpu" for i in range(LAYERS)})
    placement.update({"model.norm": "cpu", "lm_head": "cpu"})
    return placement


def weight_changes(model: Any, edit: Callable[[Any], Any]) -> dict[str, torch.Tensor]:
    """Run ``edit(model)``; return after - before (on the CPU, float64) of every changed parameter."""
    before = {name: p.detach().to("cpu", torch.float64, copy=True) for name, p in model.named_parameters()}
    edit(model)
    changes = {}
    for name, parameter in model.named_parameters():
        after = parameter.detach().to("cpu", torch.float64)
        if not torch.equal(after, before[name]):
            changes[name] = after - before[name]
    return changes


def compare_single_and_split(cpu_model: Any, edit: Callable[[Any], Any]) -> dict[str, float]:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    single = copy.deepcopy(cpu_model).to("cuda:0")
    single_changes = weight_changes(single, edit)
    del single
    torch.cuda.empty_cache()
    split = accelerate.dispatch_model(copy.deepcopy(cpu_model), device_map=device_map(), main_device="cpu")
    devices = {str(p.device) for p in split.parameters()}
    assert devices == {"cuda:0", "cpu"}, devices
    split_changes = weight_changes(split, edit)
    assert single_changes, "the edit on one device changed nothing"
    assert split_changes.keys() == single_changes.keys()
    distances = {name: float((split_changes[name] - change).norm() / change.norm()) for name, change in single_changes.items()}
    print(f"\n{len(distances)} tensors changed; relative distance single vs split: max {max(distances.values()):.2e}")
    return distances


def test_blue_edits_a_split_model_like_one_on_one_device(cpu_model_and_tok, tmp_path):
    model, tok = cpu_model_and_tok
    corpus_file = tmp_path / "corpus.txt"
    corpus_file.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    hparams = BLUEHyperParams(
        model_name="tinyllama-shape-random", device=0, model_parallel=True, base_method="MEMIT", schedule="boundary",
        layers=list(range(SPLIT_AT - 3, SPLIT_AT + 3)), v_loss_layer=LAYERS - 1, v_num_grad_steps=10, v_lr=0.5, v_weight_decay=0.5,
        clamp_norm_factor=4.0, kl_factor=0.0625, mom2_update_weight=100.0, mom2_dataset="split-test",
        mom2_n_samples=len(CORPUS), stats_dir=str(tmp_path / "stats"), stats_corpus=str(corpus_file),
        context_templates=["{}"], rewrite_module_tmp="model.layers.{}.mlp.down_proj", layer_module_tmp="model.layers.{}",
        mlp_module_tmp="model.layers.{}.mlp", attn_module_tmp="model.layers.{}.self_attn", ln_f_module="model.norm",
        lm_head_module="lm_head")

    def edit(target: Any) -> None:
        apply_blue_to_model(target, tok, [dict(r) for r in REQUESTS], hparams)

    distances = compare_single_and_split(model, edit)
    assert set(distances) == {f"model.layers.{layer}.mlp.down_proj.weight" for layer in (SPLIT_AT - 3, SPLIT_AT + 2)}
    assert max(distances.values()) < TOLERANCE, distances


def test_pac_edits_a_split_model_like_one_on_one_device(cpu_model_and_tok):
    model, tok = cpu_model_and_tok
    hparams = PACHyperParams(model_name="tinyllama-shape-random", device=0, model_parallel=True, lr=1e-3,
                             num_epochs=4, shuffle=False, mlp_in_module_tmp="model.layers.{}.mlp.up_proj",
                             mlp_out_module_tmp="model.layers.{}.mlp.down_proj")

    def edit(target: Any) -> None:
        apply_pac_to_model(target, tok, [dict(r) for r in REQUESTS], hparams)

    distances = compare_single_and_split(model, edit)
    assert len(distances) == 2 * LAYERS  # up_proj and down_proj of every layer
    assert max(distances.values()) < TOLERANCE, distances
