"""Tiny random-weight causal language models for tests, examples and the demo.

Random weights show the mechanics of an edit (shapes, hooks, which parameters change, what is
restored) on the CPU in milliseconds. One detail matters: with the usual initialisation scale
(0.02) at width 64 every logit is close to 0, the output distribution is flat, and no edit can
move the argmax (EasyEdit's own MEMIT scores 0 on such a model). The builders below use a
larger scale so the model has clear preferences that an edit has to overturn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import torch
import transformers
from transformers import PreTrainedModel, PreTrainedTokenizerFast

from ..world.tokenizer import END_OF_TEXT, save_tokenizer, train_tokenizer

#: Initialisation scale of the tiny models (see the module docstring).
INIT_SCALE = 0.25


def _gpt2(vocab: int, width: int, layers: int, **extra: Any) -> Any:
    return transformers.GPT2Config(
        vocab_size=vocab, n_positions=512, n_embd=width, n_layer=layers, n_head=4,
        initializer_range=INIT_SCALE, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **extra,
    )


def _gptj(vocab: int, width: int, layers: int, **extra: Any) -> Any:
    return transformers.GPTJConfig(
        vocab_size=vocab, n_positions=512, n_embd=width, n_layer=layers, n_head=4,
        rotary_dim=width // 8, initializer_range=INIT_SCALE, resid_pdrop=0.0, embd_pdrop=0.0,
        attn_pdrop=0.0, **extra,
    )


def _gpt_neox(vocab: int, width: int, layers: int, **extra: Any) -> Any:
    return transformers.GPTNeoXConfig(
        vocab_size=vocab, hidden_size=width, num_hidden_layers=layers, num_attention_heads=4,
        intermediate_size=4 * width, max_position_embeddings=512, initializer_range=INIT_SCALE,
        **extra,
    )


def _llama_like(config_class: str) -> Callable[..., Any]:
    def build(vocab: int, width: int, layers: int, **extra: Any) -> Any:
        options: dict[str, Any] = dict(
            vocab_size=vocab, hidden_size=width, intermediate_size=2 * width,
            num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
            max_position_embeddings=512, initializer_range=INIT_SCALE, tie_word_embeddings=False,
        )
        if config_class in ("GemmaConfig", "Qwen3Config"):
            options["head_dim"] = width // 4
        options.update(extra)
        return getattr(transformers, config_class)(**options)

    return build


BUILDERS: dict[str, Callable[..., Any]] = {
    "gpt2": _gpt2,
    "gptj": _gptj,
    "gpt_neox": _gpt_neox,
    "llama": _llama_like("LlamaConfig"),
    "mistral": _llama_like("MistralConfig"),
    "qwen2": _llama_like("Qwen2Config"),
    "qwen3": _llama_like("Qwen3Config"),
    "gemma": _llama_like("GemmaConfig"),
}

#: Directory names EasyEdit's name-based loader maps to the right model and tokenizer classes
#: (it looks for substrings such as 'gpt', 'llama', 'qwen2', 'mistral').
DIRECTORY_NAMES = {
    "gpt2": "tiny-gpt2",
    "gptj": "tiny-gptj",
    "gpt_neox": "tiny-gpt-neox",
    "llama": "tiny-llama",
    "mistral": "tiny-mistral",
    "qwen2": "tiny-qwen2",
    "qwen3": "tiny-qwen3",
    "gemma": "tiny-gemma",
}


def available_architectures() -> list[str]:
    """Architectures the installed ``transformers`` can build (Qwen3 needs 4.51 or newer)."""
    names = []
    for arch, builder in BUILDERS.items():
        try:
            builder(16, 16, 1, bos_token_id=0, eos_token_id=0, pad_token_id=0)
        except (AttributeError, TypeError, ValueError):
            continue
        names.append(arch)
    return names


def tiny_model(
    arch: str = "gpt2",
    seed: int = 0,
    width: int = 64,
    layers: int = 4,
    tokenizer: PreTrainedTokenizerFast | None = None,
    **config_overrides: Any,
) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """A random-weight model of ``arch`` in float32, eval mode, on the CPU, and its tokenizer.

    The same ``arch``, ``seed`` and sizes always give the same weights.
    """
    if arch not in BUILDERS:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(BUILDERS)}")
    tok = tokenizer if tokenizer is not None else train_tokenizer()
    special = tok.convert_tokens_to_ids(END_OF_TEXT)
    config = BUILDERS[arch](
        len(tok), width, layers,
        **{"bos_token_id": special, "eos_token_id": special, "pad_token_id": special, **config_overrides},
    )
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = transformers.AutoModelForCausalLM.from_config(config).float()
    finally:
        torch.random.set_rng_state(generator_state)
    model.eval()
    return model, tok


def save_tiny_model(arch: str, parent: str | Path, seed: int = 0, **options: Any) -> Path:
    """Save ``tiny_model(arch, seed, **options)`` under ``parent`` and return its directory.

    The directory name contains the substring EasyEdit's editor uses to pick the model class,
    so ``BaseEditor`` can load it from ``model_name: <that path>``.
    """
    model, tok = tiny_model(arch, seed=seed, **options)
    directory = Path(parent) / DIRECTORY_NAMES[arch]
    model.save_pretrained(str(directory))
    save_tokenizer(tok, directory)
    (directory / "easyedit_plugins_tiny.json").write_text(
        json.dumps({"arch": arch, "seed": seed, **options}), encoding="utf-8"
    )
    return directory
