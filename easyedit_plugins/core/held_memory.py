"""How much memory a step of target optimisation holds, to size batches from a budget.

Between a forward pass and its backward pass, autograd keeps the tensors the backward needs;
with the KV cache of the prompts' prefixes, that is what a batch of requests costs beyond the
model itself, and it grows with the number of requests. :class:`SavedBytes` measures it on the
device where it happens (the same way on CPU and GPU, where allocator statistics differ) by
looking at every tensor autograd saves; the model's own parameters, which are saved too, are
not counted.
"""

from __future__ import annotations

import math
from types import TracebackType

import torch


class SavedBytes:
    """Context manager: ``bytes`` is the size of the distinct storages autograd saved inside it."""

    def __init__(self, model: torch.nn.Module) -> None:
        self._parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
        self._seen: set[int] = set()
        self.bytes = 0
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda tensor: tensor)

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        pointer = storage.data_ptr()
        if pointer not in self._parameters and pointer not in self._seen:
            self._seen.add(pointer)
            self.bytes += storage.nbytes()
        return tensor

    def __enter__(self) -> "SavedBytes":
        self._hooks.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._hooks.__exit__(kind, error, trace)


def requests_within(budget_bytes: float, bytes_per_request: float) -> int:
    """How many requests fit in ``budget_bytes`` at ``bytes_per_request`` each (at least one)."""
    if bytes_per_request <= 0:
        return 1
    return max(1, math.floor(budget_bytes / bytes_per_request))
