"""A short identity of a model's architecture and weights, for naming cached statistics.

EasyEdit names its statistics files after ``_name_or_path`` alone, so two checkpoints in folders
with the same name (a base model and its fine-tune, ``.../llama3-8b`` twice) silently share
one file. The fingerprint here hashes the configuration and a deterministic sample of every
weight tensor, so different weights give different files while the same checkpoint loaded
again (on any device) gives the same one.

Weights are hashed as their float32 values: a checkpoint stored in bfloat16 has the same
fingerprint whether it is loaded in bfloat16 or float32, but a float32 checkpoint loaded in
float16 has been rounded and is, for its activations, a different model.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import torch
from torch import nn

#: Elements sampled per weight tensor, at evenly spaced flat positions.
SAMPLES_PER_TENSOR = 64

#: Configuration entries that say where or how a model was loaded, not what it computes.
_VOLATILE_CONFIG_KEYS = {
    "_name_or_path", "name_or_path", "transformers_version", "_commit_hash", "torch_dtype", "dtype",
    "_attn_implementation", "_attn_implementation_autoset", "attn_implementation", "use_cache",
    "output_attentions", "output_hidden_states", "return_dict", "architectures",
}


def model_fingerprint(model: nn.Module) -> str:
    """32 hex digits that identify ``model``'s configuration and weights.

    Deterministic: the same weights give the same fingerprint on CPU and GPU and in every
    process; cost is a few gathers per parameter, nothing proportional to the model's size.
    """
    digest = hashlib.sha256()
    digest.update(_config_text(model).encode())
    for name, parameter in sorted(model.named_parameters(), key=lambda item: item[0]):
        digest.update(f"|{name}|{tuple(parameter.shape)}|".encode())
        digest.update(_weight_sample(parameter).numpy().tobytes())
    return digest.hexdigest()[:32]


def _config_text(model: nn.Module) -> str:
    config = getattr(model, "config", None)
    if config is None:
        return type(model).__name__
    settings: dict[str, Any] = config.to_dict() if hasattr(config, "to_dict") else dict(vars(config))
    kept = {key: value for key, value in settings.items() if key not in _VOLATILE_CONFIG_KEYS}
    return json.dumps(kept, sort_keys=True, default=str)


def _weight_sample(parameter: torch.Tensor) -> torch.Tensor:
    """Up to :data:`SAMPLES_PER_TENSOR` values at fixed flat positions, as float32 on the CPU."""
    if parameter.device.type == "meta":
        return torch.zeros(0, dtype=torch.float32)
    flat = parameter.detach().reshape(-1)
    count = min(SAMPLES_PER_TENSOR, flat.numel())
    positions = torch.tensor([(i * flat.numel()) // count for i in range(count)], dtype=torch.long, device=flat.device)
    return flat[positions].to(device="cpu", dtype=torch.float32)
