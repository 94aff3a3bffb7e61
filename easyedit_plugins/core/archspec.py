"""Where the parts an editor needs live inside each supported architecture.

Locate-then-edit methods touch a few modules per decoder layer: the MLP's input and output
projections (PAC edits both; MEMIT-style methods write the output projection), the block
itself (its output is the residual stream where target vectors are optimised), and, to read
predictions, the final norm and the LM head. Their names differ per architecture; this module
maps ``config.model_type`` to them. EasyEdit's hparams name the same modules with
``*_module_tmp`` keys, which are accepted as overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from torch import nn


@dataclass(frozen=True)
class ArchSpec:
    """Module name templates of one architecture (``{}`` is the layer index)."""

    model_type: str
    layer: str
    mlp_in: str
    mlp_out: str
    gate: str | None
    attn: str
    final_norm: str
    lm_head: str
    embed: str
    layers_container: str

    def layer_name(self, index: int) -> str:
        return self.layer.format(index)

    def mlp_in_name(self, index: int) -> str:
        return self.mlp_in.format(index)

    def mlp_out_name(self, index: int) -> str:
        return self.mlp_out.format(index)

    def gate_name(self, index: int) -> str | None:
        return self.gate.format(index) if self.gate else None

    def attn_name(self, index: int) -> str:
        return self.attn.format(index)


def _llama_family(model_type: str) -> ArchSpec:
    return ArchSpec(
        model_type=model_type,
        layer="model.layers.{}",
        mlp_in="model.layers.{}.mlp.up_proj",
        mlp_out="model.layers.{}.mlp.down_proj",
        gate="model.layers.{}.mlp.gate_proj",
        attn="model.layers.{}.self_attn",
        final_norm="model.norm",
        lm_head="lm_head",
        embed="model.embed_tokens",
        layers_container="model.layers",
    )


_GPT2 = ArchSpec(
    model_type="gpt2",
    layer="transformer.h.{}",
    mlp_in="transformer.h.{}.mlp.c_fc",
    mlp_out="transformer.h.{}.mlp.c_proj",
    gate=None,
    attn="transformer.h.{}.attn",
    final_norm="transformer.ln_f",
    lm_head="lm_head",
    embed="transformer.wte",
    layers_container="transformer.h",
)

_SPECS: dict[str, ArchSpec] = {
    "gpt2": _GPT2,
    "gptj": replace(
        _GPT2,
        model_type="gptj",
        mlp_in="transformer.h.{}.mlp.fc_in",
        mlp_out="transformer.h.{}.mlp.fc_out",
    ),
    "gpt_neox": ArchSpec(
        model_type="gpt_neox",
        layer="gpt_neox.layers.{}",
        mlp_in="gpt_neox.layers.{}.mlp.dense_h_to_4h",
        mlp_out="gpt_neox.layers.{}.mlp.dense_4h_to_h",
        gate=None,
        attn="gpt_neox.layers.{}.attention",
        final_norm="gpt_neox.final_layer_norm",
        lm_head="embed_out",
        embed="gpt_neox.embed_in",
        layers_container="gpt_neox.layers",
    ),
    **{name: _llama_family(name) for name in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2")},
}

#: EasyEdit hparams keys and the ArchSpec fields they override.
EASYEDIT_OVERRIDES = {
    "layer_module_tmp": "layer",
    "rewrite_module_tmp": "mlp_out",
    "attn_module_tmp": "attn",
    "ln_f_module": "final_norm",
    "lm_head_module": "lm_head",
}


class UnsupportedArchitecture(ValueError):
    """The model's architecture is not known and no module names were given."""


def supported_model_types() -> list[str]:
    return sorted(_SPECS)


def arch_spec(model: nn.Module, overrides: Mapping[str, Any] | None = None) -> ArchSpec:
    """The :class:`ArchSpec` of ``model``, with EasyEdit ``*_module_tmp`` keys applied.

    ``overrides`` may hold EasyEdit's keys (``rewrite_module_tmp``, ``layer_module_tmp``,
    ``attn_module_tmp``, ``ln_f_module``, ``lm_head_module``) or ArchSpec field names.
    Every resulting module name is checked against the model, so a wrong template fails here
    with its name rather than deep inside a forward pass.
    """
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    spec = _SPECS.get(model_type or "")
    changes: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        field = EASYEDIT_OVERRIDES.get(key, key)
        if field in ArchSpec.__dataclass_fields__:
            changes[field] = value
    if spec is None:
        required = {"layer", "mlp_in", "mlp_out", "attn", "final_norm", "lm_head", "embed", "layers_container"}
        if not required <= set(changes):
            raise UnsupportedArchitecture(
                f"model type {model_type!r} is not known (supported: {', '.join(supported_model_types())}); "
                f"give the module names {sorted(required - set(changes))} explicitly"
            )
        spec = ArchSpec(model_type=model_type or "custom", gate=None, **{k: changes.pop(k) for k in required})
    for field, found in _embedding_names(model).items():
        changes.setdefault(field, found)
    spec = replace(spec, **changes)
    _check_names(model, spec)
    return spec


def _embedding_names(model: nn.Module) -> dict[str, str]:
    """The names of the input and output embeddings, found by identity.

    Their attribute names move between ``transformers`` releases (GPT-NeoX's ``embed_out``), the
    accessor methods do not.
    """
    by_identity = {id(module): name for name, module in model.named_modules()}
    found = {}
    for field, accessor in (("lm_head", "get_output_embeddings"), ("embed", "get_input_embeddings")):
        module = getattr(model, accessor, lambda: None)()
        if module is not None and id(module) in by_identity:
            found[field] = by_identity[id(module)]
    return found


def _check_names(model: nn.Module, spec: ArchSpec) -> None:
    names = dict(model.named_modules())
    wanted = [spec.layer_name(0), spec.mlp_in_name(0), spec.mlp_out_name(0), spec.final_norm, spec.lm_head, spec.embed, spec.layers_container]
    if spec.gate:
        wanted.append(spec.gate_name(0))
    missing = [name for name in wanted if name not in names]
    if missing:
        raise UnsupportedArchitecture(
            f"{type(model).__name__} ({spec.model_type}) has no module(s) {missing}; "
            "set the *_module_tmp hyperparameters to the right names"
        )


def num_layers(model: nn.Module, spec: ArchSpec) -> int:
    """The number of decoder layers."""
    return len(model.get_submodule(spec.layers_container))
