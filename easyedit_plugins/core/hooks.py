"""Forward-hook utilities that read or change activations without touching model code.

Decoder layers return a tuple ``(hidden_states, ...)`` in some architectures and releases of
``transformers`` and a bare tensor in others (GPT-J still returns a tuple in 5.x, Llama a
tensor). Every helper here goes through :func:`first_tensor` / :func:`with_first_tensor`, so
callers never need to care which. Hooks are always removed, also when the forward pass raises.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from typing import Any, Callable, Iterable, Iterator

import torch
from torch import nn


def first_tensor(output: Any) -> torch.Tensor:
    """The hidden states in a module's output (the output itself, or its first element)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    hidden = getattr(output, "last_hidden_state", None)
    if isinstance(hidden, torch.Tensor):
        return hidden
    raise TypeError(f"cannot find the hidden states in an output of type {type(output).__name__}")


def with_first_tensor(output: Any, hidden: torch.Tensor) -> Any:
    """``output`` with its hidden states replaced by ``hidden``, same structure."""
    if isinstance(output, torch.Tensor):
        return hidden
    if isinstance(output, tuple):
        return (hidden,) + tuple(output[1:])
    if isinstance(output, list):
        return [hidden] + list(output[1:])
    raise TypeError(f"cannot replace the hidden states in an output of type {type(output).__name__}")


InputObserver = Callable[[str, torch.Tensor], None]
OutputEditor = Callable[[str, torch.Tensor], torch.Tensor | None]


@contextmanager
def observe_inputs(model: nn.Module, names: Iterable[str], observer: InputObserver) -> Iterator[None]:
    """Call ``observer(name, x)`` with the first positional input of each named module."""
    with ExitStack() as stack:
        for name in names:
            module = model.get_submodule(name)

            def hook(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], _name: str = name) -> None:
                value = args[0] if args else next(iter(kwargs.values()))
                observer(_name, value)

            handle = module.register_forward_pre_hook(hook, with_kwargs=True)
            stack.callback(handle.remove)
        yield


@contextmanager
def edit_outputs(model: nn.Module, names: Iterable[str], editor: OutputEditor) -> Iterator[None]:
    """Let ``editor(name, hidden)`` read, and optionally replace, each named module's output.

    ``editor`` returns a new hidden-state tensor to substitute, or None to leave it alone.
    """
    with ExitStack() as stack:
        for name in names:
            module = model.get_submodule(name)

            def hook(_module: nn.Module, _args: Any, output: Any, _name: str = name) -> Any:
                replacement = editor(_name, first_tensor(output))
                return None if replacement is None else with_first_tensor(output, replacement)

            handle = module.register_forward_hook(hook)
            stack.callback(handle.remove)
        yield


@contextmanager
def capture_inputs(model: nn.Module, names: Iterable[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Record the last input of each named module (``{name: tensor}``, filled by forward passes)."""
    captured: dict[str, torch.Tensor] = {}

    def record(name: str, value: torch.Tensor) -> None:
        captured[name] = value

    with observe_inputs(model, names, record):
        yield captured


@contextmanager
def capture_outputs(model: nn.Module, names: Iterable[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Record the last output hidden states of each named module."""
    captured: dict[str, torch.Tensor] = {}

    def record(name: str, hidden: torch.Tensor) -> None:
        captured[name] = hidden

    with edit_outputs(model, names, record):  # record returns None: the output is unchanged
        yield captured


class _ForwardStopped(Exception):
    """Raised inside a hook to end a forward pass early."""


def forward_until(model: nn.Module, last_module: str, inputs: dict[str, Any], *, before: bool = False) -> None:
    """Run ``model(**inputs)`` only until ``last_module`` has produced its output (``before``:
    only until its input is ready, without running it).

    Editing reads activations of middle layers and statistics read a module's input; the layers
    after them, the final norm and the LM head (a vocabulary-sized matrix product at every
    position) are skipped. Hooks registered on earlier modules fire as usual, and so do
    pre-hooks of ``last_module`` registered before this call (PyTorch runs pre-hooks in
    registration order).
    """

    def stop(*_: Any) -> None:
        raise _ForwardStopped

    module = model.get_submodule(last_module)
    handle = module.register_forward_pre_hook(stop) if before else module.register_forward_hook(stop)
    try:
        model(**inputs)
    except _ForwardStopped:
        pass
    finally:
        handle.remove()
