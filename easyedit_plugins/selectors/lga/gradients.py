"""Per-item inner products of weight gradients, without ever forming a weight gradient.

For a weight ``W`` applied position by position (``nn.Linear``, GPT-2's ``Conv1D``), the
gradient of a loss on one sequence is ``sum_t delta_t x_t^T``: ``x_t`` the module's input at
position ``t``, ``delta_t`` the loss gradient at its output. So the inner product of the
gradients of two losses (old and new answer) is, exactly,

    <g_old, g_new> = sum_{t, s} (delta_old_t . delta_new_s) (x_old_t . x_new_s),

the sum of the elementwise product of two small T x T matrices. LGA keeps the factors
``(x, delta)`` of the original answer for every scored module (``T x (d_in + d_out)`` numbers
instead of ``d_out x d_in``), then runs the new answer's backward pass with a hook on every
module output that turns its ``delta`` into inner products as soon as autograd produces it
and drops it: one module's output gradient at a time, never a weight gradient. Each item's
factors are separate rows of the batch, so a batch of items still gives per-item products.

Parameters are frozen during the passes (no ``.grad`` is written, and autograd saves no inputs
for weight gradients); the graph starts at the input embeddings' output instead.

Memory, estimated for Llama-3-8B in bfloat16 (32 layers, d = 4096, d_ff = 14336) and proxy items
of T tokens (prompt + answer): the original answer's factors take 32 x T x (14336 + 4096) x 2
bytes, about 1.2 MB x T per item for ``mlp_out`` (35 MB at T = 30; three times that for
``mlp_all``), the new answer's module inputs as much again, plus ONE module's output gradient
at a time. Materialised weight gradients would take 3.8 GB (``mlp_out``) or 11.3 GB
(``mlp_all``) per answer. The peak is the weights (16 GB) plus one batch's activations and these
factors: roughly 1.5 GB more at ``proxy_batch_size: 8`` and T = 30; lower the batch size to
lower it.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...core.positions import Batch, input_device, pad_id, right_padded
from .answers import AnswerPair

#: Called with (module name, output gradient of the batch) during a backward pass.
GradientObserver = Callable[[str, torch.Tensor], None]


class UnsupportedModule(ValueError):
    """A scored module is not a position-wise linear map, so its gradient cannot be factored."""


def check_factorable(model: nn.Module, names: Sequence[str]) -> None:
    """Fail early, naming the module, unless each is ``nn.Linear`` or GPT-2's ``Conv1D``."""
    for name in names:
        module = model.get_submodule(name)
        if not (isinstance(module, nn.Linear) or type(module).__name__ == "Conv1D"):
            raise UnsupportedModule(
                f"LGA scores Linear or Conv1D weights; {name} is a {type(module).__name__}"
            )


@contextmanager
def gradient_graph(model: nn.Module) -> Iterator[None]:
    """Autograd from the input embeddings' output on, with every parameter frozen (restored after)."""
    flags = [(parameter, parameter.requires_grad) for parameter in model.parameters()]
    was_training = model.training

    def make_leaf(_module: nn.Module, _args: Any, output: torch.Tensor) -> torch.Tensor:
        return output.detach().requires_grad_(True)

    handle = model.get_input_embeddings().register_forward_hook(make_leaf)
    try:
        for parameter, _ in flags:
            parameter.requires_grad_(False)
        model.eval()
        with torch.enable_grad():
            yield
    finally:
        handle.remove()
        model.train(was_training)
        for parameter, flag in flags:
            parameter.requires_grad_(flag)


@dataclass
class AnswerBatch:
    """Right-padded ``prompt + answer[:-1]`` rows and where each row's answer is read."""

    batch: Batch
    lengths: list[int]
    answer_start: list[int]  # position whose logits predict the first answer token
    answers: list[list[int]]

    @classmethod
    def build(cls, tok: Any, device: torch.device, prompts: Sequence[list[int]], answers: Sequence[list[int]]) -> "AnswerBatch":
        rows = [prompt + answer[:-1] for prompt, answer in zip(prompts, answers)]
        return cls(
            batch=right_padded(rows, pad_id(tok), device),
            lengths=[len(row) for row in rows],
            answer_start=[len(prompt) - 1 for prompt in prompts],
            answers=[list(answer) for answer in answers],
        )


def answer_nll(logits: torch.Tensor, rows: AnswerBatch) -> torch.Tensor:
    """The sum over rows of each row's mean NLL of its answer tokens (answer-only loss).

    A sum, not a mean over rows: each row's gradient is then exactly its own item's gradient.
    """
    total = logits.new_zeros((), dtype=torch.float32)
    for row, (start, answer) in enumerate(zip(rows.answer_start, rows.answers)):
        picked = logits[row, start : start + len(answer)].float()
        target = torch.tensor(answer, device=picked.device)
        total = total + F.cross_entropy(picked, target, reduction="mean")
    return total


def backward_through(
    model: nn.Module, modules: Sequence[str], rows: AnswerBatch, observe_input: GradientObserver, observe_grad: GradientObserver
) -> None:
    """One forward and one backward pass of the answer-only loss of ``rows``.

    ``observe_input(name, x)`` sees each module's input during the forward pass,
    ``observe_grad(name, delta)`` its output gradient during the backward pass (batch x
    positions x features, detached); nothing else of the gradients is kept.
    """
    leaves: list[torch.Tensor] = []

    def on_forward(name: str) -> Callable[..., None]:
        def hook(_module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> None:
            observe_input(name, args[0].detach())
            output.register_hook(lambda grad: observe_grad(name, grad.detach()))

        return hook

    def keep_leaf(_module: nn.Module, _args: Any, output: torch.Tensor) -> None:
        leaves.append(output)

    with ExitStack() as stack, gradient_graph(model):
        for name in modules:
            stack.callback(model.get_submodule(name).register_forward_hook(on_forward(name)).remove)
        # Registered after gradient_graph's hook, so it sees the leaf that hook returns.
        stack.callback(model.get_input_embeddings().register_forward_hook(keep_leaf).remove)
        logits = model(**rows.batch.as_kwargs()).logits
        loss = answer_nll(logits, rows)
        torch.autograd.grad(loss, leaves)


def item_inner_products(pairs: Sequence[AnswerPair], model: nn.Module, tok: Any, modules: Sequence[str]) -> torch.Tensor:
    """``<g_old, g_new>`` of every item (rows) for every module's weight (columns), float64.

    Two backward passes for the whole batch, one per answer.
    """
    device = input_device(model)
    old_rows = AnswerBatch.build(tok, device, [p.prompt_ids for p in pairs], [p.old_ids for p in pairs])
    new_rows = AnswerBatch.build(tok, device, [p.prompt_ids for p in pairs], [p.new_ids for p in pairs])
    column = {name: index for index, name in enumerate(modules)}
    old_inputs: dict[str, list[torch.Tensor]] = {}
    old_grads: dict[str, list[torch.Tensor]] = {}
    new_inputs: dict[str, list[torch.Tensor]] = {}
    products = torch.zeros(len(pairs), len(modules), dtype=torch.float64)

    def per_item(batch_tensor: torch.Tensor, lengths: Sequence[int]) -> list[torch.Tensor]:
        """Views of each item's rows, kept in the model's dtype until they are multiplied."""
        return [batch_tensor[i, :length] for i, length in enumerate(lengths)]

    def keep(store: dict[str, list[torch.Tensor]], lengths: Sequence[int]) -> GradientObserver:
        return lambda name, tensor: store.__setitem__(name, per_item(tensor, lengths))

    def multiply(name: str, grad: torch.Tensor) -> None:
        for i, delta_new in enumerate(per_item(grad, new_rows.lengths)):
            x_old, delta_old, x_new = old_inputs[name][i], old_grads[name][i], new_inputs[name][i]
            gram_grads = delta_old.float() @ delta_new.float().T
            gram_inputs = x_old.float() @ x_new.float().T
            products[i, column[name]] = (gram_grads.double() * gram_inputs.double()).sum().item()

    backward_through(model, modules, old_rows, keep(old_inputs, old_rows.lengths), keep(old_grads, old_rows.lengths))
    backward_through(model, modules, new_rows, keep(new_inputs, new_rows.lengths), multiply)
    return products
