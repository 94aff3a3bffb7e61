"""Loading the model a hyperparameter set names, from local files only.

The runner loads the model once per run; this is also what the reload-per-rule baseline of
the benchmark calls for every rule. Placement follows EasyEdit's fields: ``device`` (an int or
a digit string means ``cuda:<n>``, as in EasyEdit; ``"cpu"`` or ``"cuda:1"`` are taken as
written), ``model_parallel`` (``device_map="auto"``) and ``fp16``.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import transformers
from packaging.version import Version
from transformers import AutoModelForCausalLM, AutoTokenizer

logger = logging.getLogger(__name__)

# transformers 4.56 renamed `torch_dtype` to `dtype` (5.x warns about the old name).
_DTYPE_ARGUMENT = "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"


class ModelLoadError(OSError):
    """The model or its tokenizer cannot be loaded from local files."""


def torch_device(device: Any) -> torch.device:
    """EasyEdit's ``device`` value as a torch device."""
    if isinstance(device, int) and not isinstance(device, bool):
        return torch.device(f"cuda:{device}")
    if isinstance(device, str) and device.isdigit():
        return torch.device(f"cuda:{device}")
    return torch.device(device)


def _available(device: Any) -> torch.device:
    """``device`` as a torch device, checked before the model loads: a GPU that is not there is
    a ModelLoadError naming it, not an error from deep inside torch after a long load."""
    try:
        placed = torch_device(device)
    except RuntimeError as error:  # torch's words for an unknown device string
        raise ModelLoadError(f"device {device!r} is not a device: {error}") from error
    if placed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (placed.index or 0) >= count:
            raise ModelLoadError(f"device {device!r} is not available: this machine has {count} CUDA GPU(s)")
    return placed


def load_pretrained(
    name: str, *, dtype: torch.dtype = torch.float32, device: Any = "cpu", model_parallel: bool = False,
) -> tuple[torch.nn.Module, Any]:
    """``(model, tokenizer)`` from a local folder or a name already in the Hugging Face cache
    (nothing is downloaded), in eval mode, on ``device`` (EasyEdit's values, see
    :func:`torch_device`) or spread over the GPUs with ``model_parallel``.

    A tokenizer without a padding token gets its end-of-sequence token, as EasyEdit's editor
    does. Every command and runner loads models here.
    """
    placed = None if model_parallel else _available(device)
    options: dict[str, Any] = {"local_files_only": True, _DTYPE_ARGUMENT: dtype}
    if model_parallel:
        options["device_map"] = "auto"
    try:
        tok = AutoTokenizer.from_pretrained(name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(name, **options)
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"model_name {name!r} cannot be loaded from local files: {error}") from error
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if placed is not None:
        model = model.to(placed)
    logger.info("loaded %s (%s) on %s", name, dtype, "several devices" if model_parallel else next(model.parameters()).device)
    return model.eval(), tok


def load_model(hparams: Any) -> tuple[torch.nn.Module, Any]:
    """``(model, tokenizer)`` for ``hparams.model_name``, placed as EasyEdit's fields say
    (``device``, ``model_parallel``, ``fp16``); see :func:`load_pretrained`.

    A ``(model, tokenizer)`` tuple in ``model_name`` is returned as it is.
    """
    name = hparams.model_name
    if not isinstance(name, str):
        model, tok = name
        return model, tok
    return load_pretrained(
        name,
        dtype=torch.float16 if getattr(hparams, "fp16", False) else torch.float32,
        device=getattr(hparams, "device", "cpu"),
        model_parallel=bool(getattr(hparams, "model_parallel", False)),
    )
