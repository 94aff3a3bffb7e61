"""Target hidden states ``z``: what a layer's output should be for the model to say the target.

For each request a vector ``delta`` is added to the output of block ``layer`` at the subject's
last token, in every context template, and optimised with Adam so that the model predicts the
target tokens (MEMIT's ``compute_z``). The loss per request is

    mean over templates of the NLL of the target tokens (averaged over those tokens)
    + kl_factor * KL(current || initial) of the next-token distribution after "{subject} is a"
    + weight_decay * |delta| / |h|^2

read at ``loss_layer`` through the final norm and LM head; ``|delta|`` is clamped to
``clamp_norm_factor * |h|`` after every step, and a request stops as soon as its loss is below
``early_stop_loss`` (checked before the step, so at most ``steps - 1`` updates are made).

The requests of a batch are optimised together, one ``delta`` row each. The losses add up and
Adam works element by element, so this equals optimising each request on its own (what EasyEdit
does in a loop), in one forward pass per step instead of one per request. Batches are as large
as ``requests_per_batch`` or, by default, as fit in ``memory_budget_mib`` at the memory the
first request was measured to hold (:mod:`.held_memory`). Each step recomputes only what
``delta`` can change: the layers above ``layer`` (:mod:`.prefix`), from the subject's last
token on (:mod:`.suffix`), up to ``loss_layer``, and the LM head only where the loss reads.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from .archspec import ArchSpec
from .context import Templates
from .held_memory import SavedBytes, requests_within
from .hooks import edit_outputs, forward_until
from .prefix import replay_prefix
from .positions import continuation_ids, input_device, pad_id, subject_last_index, token_ids
from .requests import EditRequest
from .suffix import prefix_cache_supported, split_rows

logger = logging.getLogger(__name__)
_MIB = 1024 * 1024


@dataclass(frozen=True)
class TargetOptions:
    """Settings of the ``z`` optimisation (EasyEdit's ``v_*`` hyperparameters)."""

    loss_layer: int
    lr: float = 0.5
    steps: int = 25
    clamp_norm_factor: float = 4.0
    kl_factor: float = 0.0625
    weight_decay: float = 0.5
    early_stop_loss: float = 5e-2
    kl_prompt: str = "{} is a"
    #: Requests optimised together in one batch; None sizes batches from ``memory_budget_mib``.
    requests_per_batch: int | None = None
    #: Memory a batch may hold for its backward pass when ``requests_per_batch`` is None.
    memory_budget_mib: float = 64.0
    #: Run each prompt's part before the subject once, with a KV cache (core/suffix.py);
    #: False recomputes every position at every step (same result up to rounding).
    cache_prefix: bool = True


@dataclass
class TargetResult:
    """``z`` (n x d) and the hidden state it started from (n x d), plus diagnostics."""

    targets: torch.Tensor
    initial: torch.Tensor
    final_loss: list[float]
    steps_taken: list[int]
    #: The most memory one batch held for its backward pass (saved activations, prefix cache).
    held_bytes: int = 0


@dataclass
class _Rows:
    """The prompts of a batch: which request each row belongs to and where to read it."""

    sequences: list[list[int]]
    request_of_row: list[int]
    subject_position: list[int]
    target_start: list[int]  # first position whose logits predict a target token (-1: KL row)
    target_ids: list[list[int]]
    is_kl: list[bool]


def _build_rows(tok: Any, requests: Sequence[EditRequest], templates: Templates, kl_prompt: str) -> _Rows:
    rows = _Rows([], [], [], [], [], [])
    for r, request in enumerate(requests):
        target = continuation_ids(tok, request.target)
        for group in templates:
            for context in group:
                template = context.format(request.template)
                prompt_ids = token_ids(tok, template.format(request.subject))
                rows.sequences.append(prompt_ids + target[:-1])
                rows.request_of_row.append(r)
                rows.subject_position.append(subject_last_index(tok, template, request.subject))
                rows.target_start.append(len(prompt_ids) - 1)
                rows.target_ids.append(target)
                rows.is_kl.append(False)
    for r, request in enumerate(requests):
        rows.sequences.append(token_ids(tok, kl_prompt.format(request.subject)))
        rows.request_of_row.append(r)
        rows.subject_position.append(subject_last_index(tok, kl_prompt, request.subject))
        rows.target_start.append(-1)
        rows.target_ids.append([])
        rows.is_kl.append(True)
    return rows


def _logit_reader(model: torch.nn.Module, spec: ArchSpec) -> Callable[[torch.Tensor], torch.Tensor]:
    """``h -> h W^T + b`` with the unembedding matrix of ``spec.lm_head``.

    The matrix is read from the module's weight rather than by calling the module, because
    EasyEdit's ``lm_head_module`` may name the (tied) input embedding, as GPT-2 files do.
    """
    head = model.get_submodule(spec.lm_head)
    weight = head.weight
    bias = getattr(head, "bias", None)

    def logits(hidden: torch.Tensor) -> torch.Tensor:
        out = hidden.to(weight.device, weight.dtype) @ weight.T
        return out + bias if bias is not None else out

    return logits


def compute_targets(
    model: torch.nn.Module,
    tok: Any,
    spec: ArchSpec,
    requests: Sequence[EditRequest],
    layer: int,
    templates: Templates,
    options: TargetOptions,
) -> TargetResult:
    """Optimise ``z`` at ``layer`` for every request, in batches.

    With ``requests_per_batch`` set, batches have that size. Otherwise the first request is
    optimised alone, what it held is measured, and the rest go in batches of as many requests
    as fit in ``memory_budget_mib`` at that cost each. Batching does not change the results.
    """
    parts: list[TargetResult] = []
    size = options.requests_per_batch or 1
    start = 0
    while start < len(requests):
        part = _compute_batch(model, tok, spec, requests[start : start + size], layer, templates, options)
        if options.requests_per_batch is None and not parts:
            size = requests_within(options.memory_budget_mib * _MIB, part.held_bytes)
            logger.debug("targets at layer %d: %.1f MiB per request, %d per batch", layer, part.held_bytes / _MIB, size)
        start += len(part.final_loss)
        parts.append(part)
    return TargetResult(
        targets=torch.cat([p.targets for p in parts]),
        initial=torch.cat([p.initial for p in parts]),
        final_loss=[x for p in parts for x in p.final_loss],
        steps_taken=[x for p in parts for x in p.steps_taken],
        held_bytes=max(p.held_bytes for p in parts),
    )


def _compute_batch(
    model: torch.nn.Module,
    tok: Any,
    spec: ArchSpec,
    requests: Sequence[EditRequest],
    layer: int,
    templates: Templates,
    options: TargetOptions,
) -> TargetResult:
    loss_layer = max(options.loss_layer, layer)
    rows = _build_rows(tok, requests, templates, options.kl_prompt)
    n_requests, n_rows = len(requests), len(rows.sequences)
    # A rewrite row is read up to its end, a KL row only at the subject. The prefix is worth
    # caching when steps run layers (above ``layer``); at the loss layer itself none runs.
    ends = [p + 1 if kl else len(s) for s, p, kl in zip(rows.sequences, rows.subject_position, rows.is_kl)]
    cached = options.cache_prefix and layer < loss_layer and prefix_cache_supported()
    starts = rows.subject_position if cached else [0] * n_rows
    split = split_rows(model, rows.sequences, starts, ends, pad_id(tok), input_device(model))

    edit_module = spec.layer_name(layer)
    loss_module = spec.layer_name(loss_layer)
    final_norm = model.get_submodule(spec.final_norm)
    read_logits = _logit_reader(model, spec)

    # Where delta goes (every row, the subject's last token) and where the loss reads.
    row_index = torch.arange(n_rows)
    subject_pos = torch.tensor([split.column(i, p) for i, p in enumerate(rows.subject_position)])
    owner = torch.tensor(rows.request_of_row)
    rewrite_rows = [i for i in range(n_rows) if not rows.is_kl[i]]
    kl_rows = [i for i in range(n_rows) if rows.is_kl[i]]
    read_rows, read_pos, read_ids, read_owner = [], [], [], []
    for i in rewrite_rows:
        for offset, token in enumerate(rows.target_ids[i]):
            read_rows.append(i)
            read_pos.append(split.column(i, rows.target_start[i] + offset))
            read_ids.append(token)
            read_owner.append(rows.request_of_row[i])
    templates_per_request = sum(len(g) for g in templates)
    target_lengths = torch.tensor([len(continuation_ids(tok, r.target)) for r in requests], dtype=torch.float32)

    edit_device = model.get_submodule(edit_module).parameters().__next__().device
    width = model.config.hidden_size
    delta = torch.zeros((n_requests, width), device=edit_device, requires_grad=True)
    optimizer = torch.optim.Adam([delta], lr=options.lr)
    kl_initial: torch.Tensor | None = None
    active = torch.ones(n_requests, dtype=torch.bool)
    final_loss = [float("nan")] * n_requests
    steps_taken = [0] * n_requests

    captured: dict[str, torch.Tensor] = {}
    held = SavedBytes(model)

    def add_delta(name: str, hidden: torch.Tensor) -> torch.Tensor | None:
        if name == edit_module:
            index = (row_index.to(hidden.device), subject_pos.to(hidden.device))
            shift = torch.zeros_like(hidden).index_put(index, delta[owner.to(delta.device)].to(hidden.dtype))
            hidden = hidden + shift
        if name == loss_module:
            captured["hidden"] = hidden
        return hidden if name == edit_module else None

    requires_grad = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    inputs = split.suffix
    names = [edit_module] if edit_module == loss_module else [edit_module, loss_module]
    try:
        split.run_prefix(model, loss_module)
        with replay_prefix(model, spec, layer, inputs) as edited_layer_output:
            first_rows = [rows.request_of_row.index(r) for r in range(n_requests)]
            initial = edited_layer_output[first_rows, subject_pos[first_rows].to(edited_layer_output.device)].float()
            def step_losses() -> torch.Tensor:
                """Forward from the edited layer and the loss of each request."""
                nonlocal kl_initial
                if edit_module == loss_module:
                    # The loss reads the edited layer itself: no layer needs to run.
                    hidden = add_delta(edit_module, edited_layer_output)
                else:
                    split.rewind()
                    with edit_outputs(model, names, add_delta):
                        forward_until(model, loss_module, inputs)
                    hidden = captured["hidden"]
                read_hidden = hidden[torch.tensor(read_rows, device=hidden.device), torch.tensor(read_pos, device=hidden.device)]
                log_probs = read_logits(final_norm(read_hidden)).float().log_softmax(-1)
                token_logp = log_probs[torch.arange(len(read_ids)), torch.tensor(read_ids, device=log_probs.device)]
                nll = torch.zeros(n_requests, device=token_logp.device).index_add(0, torch.tensor(read_owner, device=token_logp.device), -token_logp)
                nll = nll / target_lengths.to(nll.device) / templates_per_request

                kl_hidden = hidden[torch.tensor(kl_rows, device=hidden.device), subject_pos[kl_rows].to(hidden.device)]
                kl_log_probs = read_logits(final_norm(kl_hidden)).float().log_softmax(-1)
                if kl_initial is None:
                    kl_initial = kl_log_probs.detach().clone()
                kl = (kl_log_probs.exp() * (kl_log_probs - kl_initial)).sum(-1)
                decay = delta.norm(dim=-1) / initial.norm(dim=-1).to(delta.device).pow(2)
                return nll + options.kl_factor * kl.to(nll.device) + options.weight_decay * decay.to(nll.device)

            for step in range(options.steps):
                optimizer.zero_grad()
                with held if step == 0 else nullcontext():  # what a step holds is measured once
                    per_request = step_losses()

                values = per_request.detach().cpu()
                for r in range(n_requests):
                    if active[r]:
                        final_loss[r] = float(values[r])
                        steps_taken[r] = step
                active &= values >= options.early_stop_loss
                if not active.any() or step == options.steps - 1:
                    break
                frozen = delta.detach().clone()
                (per_request * active.to(per_request.device)).sum().backward()
                optimizer.step()
                with torch.no_grad():
                    limit = options.clamp_norm_factor * initial.norm(dim=-1).to(delta.device)
                    norms = delta.norm(dim=-1)
                    scale = torch.where(norms > limit, limit / norms.clamp_min(1e-12), torch.ones_like(norms))
                    delta.mul_(scale.unsqueeze(-1))
                    still = active.to(delta.device).unsqueeze(-1)
                    delta.copy_(torch.where(still, delta, frozen))
    finally:
        for p, flag in zip(model.parameters(), requires_grad):
            p.requires_grad_(flag)
    targets = initial + delta.detach().to(initial.device)
    return TargetResult(
        targets=targets, initial=initial, final_loss=final_loss, steps_taken=steps_taken,
        held_bytes=held.bytes + split.cache_bytes,
    )
