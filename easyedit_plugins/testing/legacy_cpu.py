"""Running the 2023 EasyEdit release on a machine without a GPU.

``easyeditor==0.0.1.dev0`` moves the model, every tokenized batch and every restored weight to
``f"cuda:{hparams.device}"`` and creates tensors with ``device="cuda:..."``, so it cannot run on
the CPU. Tests and benchmarks that compare against it run inside :class:`LegacyCudaToCpu`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.overrides import TorchFunctionMode


def _is_cuda(device: Any) -> bool:
    if isinstance(device, torch.device):
        return device.type == "cuda"
    if isinstance(device, str):
        return device == "cuda" or device.startswith("cuda:")
    return isinstance(device, int) and not isinstance(device, bool)  # Tensor.to(0) means cuda:0


class LegacyCudaToCpu(TorchFunctionMode):
    """While active, any CUDA device becomes the CPU.

    A CUDA device given to ``Tensor.to`` (string, ``torch.device`` or int) or as a ``device=``
    argument is replaced by ``"cpu"``, and ``Tensor.cuda()`` does nothing. It changes where
    tensors live, nothing else, and only on the thread that entered it. The 2026 editor takes
    ``device: cpu`` and needs none of this.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = dict(kwargs or {})
        name = getattr(func, "__name__", "")
        if name == "cuda":
            return args[0]
        if name == "to":
            args = (args[0],) + tuple("cpu" if _is_cuda(a) else a for a in args[1:])
        if "device" in kwargs and _is_cuda(kwargs["device"]):
            kwargs["device"] = "cpu"
        return func(*args, **kwargs)
