"""The ``--device`` option: checked before any model is loaded, so a device that is not there
is one clear error instead of a failure deep inside torch."""

from __future__ import annotations

from .failures import CommandError

#: ``--device`` default: the first CUDA GPU if there is one, else the CPU.
AUTO = "auto"


def resolve_device(text: str) -> str:
    """``cpu``, ``cuda``, ``cuda:N``, ``N`` (a CUDA index) or ``auto``, as a device torch accepts."""
    import torch

    value = text.strip().lower()
    if value == AUTO:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if value.isdigit():
        value = f"cuda:{value}"
    if value == "cpu":
        return value
    kind, _, index = value.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise CommandError(f"--device {text!r} is not cpu, cuda, cuda:N or a GPU index")
    if not torch.cuda.is_available():
        raise CommandError(f"--device {text!r}: no CUDA GPU is available (torch {torch.__version__}); use --device cpu")
    count = torch.cuda.device_count()
    if index and int(index) >= count:
        raise CommandError(f"--device {text!r}: this machine has {count} CUDA GPU(s), numbered from 0")
    return value
