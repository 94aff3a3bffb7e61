"""Training a small GPT-2- or Llama-style model from scratch on the miniature world, on the CPU.

The training text is the world's lines ("Kruzai lives in the city of Drummar."), several packed
into each row. Reading lines behind other text matters for editing: locate-then-edit methods
read keys and fit targets behind short context prefixes ("<some text>. {prompt}"), and a model
that only ever saw facts at position 0 would not recall them there.

Everything is seeded: the initial weights and the order of the lines.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
import transformers
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..progress import progress_bar

logger = logging.getLogger(__name__)

#: Architectures the world can be trained in, by the names ``tiny_model`` uses.
WORLD_ARCHES = ("gpt2", "llama")


def idle_cores() -> int:
    """PyTorch's thread count, lowered to the cores the last minute's load left idle (at least 1).

    PyTorch's CPU kernels split every operation across their threads and wait for the slowest:
    on an oversubscribed machine a thread that shares its core stalls all the others. Measured
    on 2 shared cores, one training step of the ``full`` preset took 0.24 s with 2 threads and
    0.41 s with 1 thread while the machine was otherwise idle, but 1.7 to 8 s with 2 threads
    while other jobs kept it busy.
    """
    available = torch.get_num_threads()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        return available
    return max(1, min(available, (os.cpu_count() or 1) - round(load)))


@dataclass(frozen=True)
class ModelSpec:
    """Size of a world model; the tokenizer's vocabulary is trained on the world's text."""

    layers: int
    width: int
    heads: int = 4
    vocab_size: int = 1024
    max_positions: int = 256


@dataclass(frozen=True)
class TrainSpec:
    """Optimisation of a world model (AdamW, linear warm-up, cosine decay to a tenth).

    ``prompt_loss_weight`` weighs the loss on prompt tokens against the answer tokens (1.0).
    Subject names are random, so most of the prompt loss is noise that competes with learning
    the facts: on the ``test`` preset a weight of 0.1 instead of 1.0 raised trained-fact
    accuracy from 76% to 95% and held-out pairs from 55% to 86% at the same cost. The
    repeats list rule lines several times (see :meth:`World.training_examples`).

    ``row_tokens`` caps a packed row (see :class:`_PackedBatches`). Longer rows waste less
    on padding but put fewer lines at the start of a row, and attending across many unrelated
    lines slows GPT-2's learning. Measured on the ``test`` preset (GPT-2, 600 steps): rows of
    40 tokens gave 37% of trained facts, rows of 24 gave 77%, one line per row 99% but at 1.7
    times the cost of rows of 24; rows of 24 with 900 steps gave 98% for 0.8 times the cost of
    600 steps of one line per row.

    ``subject_readout_layer`` (``k``) makes the tokens after a line's subject read it only
    through its LAST token, and only from layer ``k`` on (see :class:`_SubjectBottleneck`).
    ``None`` trains with plain causal attention.
    """

    steps: int
    batch_size: int
    learning_rate: float
    warmup_steps: int = 100
    weight_decay: float = 0.0
    row_tokens: int = 24
    prompt_loss_weight: float = 0.1
    statement_repeats: int = 4
    instance_repeats: int = 2
    subject_readout_layer: int | None = None


@dataclass(frozen=True)
class TrainingLog:
    """What a training run did: its final smoothed loss and how long it took.

    CPU seconds are reported beside wall seconds because a shared machine stretches the wall
    time of the same work.
    """

    steps: int
    final_loss: float
    seconds: float
    cpu_seconds: float
    #: The machine's one-minute load average, sampled every 100 steps and averaged (None if unknown).
    mean_load: float | None = None


def world_config(arch: str, spec: ModelSpec, tok: PreTrainedTokenizerBase) -> transformers.PretrainedConfig:
    """A ``transformers`` config of ``arch`` with ``spec``'s size, without dropout.

    The Llama MLP is gated (three matrices), so its hidden size is 8/3 of the width, rounded up
    to a multiple of 16: about the parameter count of GPT-2's 4x MLP with two matrices.
    """
    special = {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}
    if arch == "gpt2":
        return transformers.GPT2Config(
            vocab_size=len(tok), n_positions=spec.max_positions, n_embd=spec.width, n_layer=spec.layers,
            n_head=spec.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **special,
        )
    if arch == "llama":
        return transformers.LlamaConfig(
            vocab_size=len(tok), hidden_size=spec.width, intermediate_size=-(-8 * spec.width // 48) * 16,
            num_hidden_layers=spec.layers, num_attention_heads=spec.heads, num_key_value_heads=spec.heads,
            max_position_embeddings=spec.max_positions, tie_word_embeddings=False, **special,
        )
    raise ValueError(f"unknown world architecture {arch!r}; choose from {', '.join(WORLD_ARCHES)}")


def untrained_model(arch: str, spec: ModelSpec, tok: PreTrainedTokenizerBase, seed: int) -> PreTrainedModel:
    """Freshly initialised float32 weights, the same for the same arguments."""
    config = world_config(arch, spec, tok)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return transformers.AutoModelForCausalLM.from_config(config).float()


@dataclass(frozen=True)
class _Line:
    """One tokenized training line: its prompt (ending with the subject under the bottleneck) and its answer."""

    prompt: list[int]
    answer: list[int]
    subject_tokens: int


@dataclass
class _Row:
    """A packed row: token ids, per-token loss weights and where each line's subject sits."""

    ids: list[int]
    weights: list[float]
    #: ``(first subject token, last subject token, end of the line)`` per line, as positions.
    subjects: list[tuple[int, int, int]]


@dataclass(frozen=True)
class Batch:
    """What one training step feeds the model."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    loss_weights: torch.Tensor
    #: ``(below k, from k on)`` additive attention masks of :class:`_SubjectBottleneck`, or None.
    layer_masks: tuple[torch.Tensor, torch.Tensor] | None


class _PackedBatches:
    """Seeded batches: ``batch_size`` lines per step, in shuffled epochs, packed into rows.

    Lines are packed one after another into rows of at most ``row_tokens`` tokens. Packing wastes
    almost no compute on padding (lines are 5 to 25 tokens long), and every line but the first of
    a row is read behind other text, the situation of a prompt behind an editor's context prefix.
    """

    def __init__(self, tok: PreTrainedTokenizerBase, examples: Sequence[tuple[str, str, str]], spec: TrainSpec,
                 seed: int) -> None:
        self._spec = spec
        self._rng = random.Random(seed)

        def encode(text: str) -> list[int]:
            return tok(text, add_special_tokens=False)["input_ids"]

        def line(prompt: str, answer: str, subject: str) -> _Line:
            ids = encode(prompt)
            if spec.subject_readout_layer is None:  # plain attention: where the subject is does not matter
                return _Line(ids, encode(" " + answer), 0)
            subject_ids = encode(" " + subject)
            if ids[-len(subject_ids):] != subject_ids:
                raise ValueError(f"training line {prompt!r} does not end with its subject {subject!r} as tokens")
            return _Line(ids, encode(" " + answer), len(subject_ids))

        self._first = [line(prompt, answer, subject) for prompt, answer, subject in examples]
        # Behind other text the first word carries a leading space, so it tokenizes differently.
        self._later = [line(" " + prompt, answer, subject) for prompt, answer, subject in examples]
        self._order: list[int] = []
        self._pad = tok.pad_token_id

    def _next_index(self) -> int:
        if not self._order:
            self._order = list(range(len(self._first)))
            self._rng.shuffle(self._order)
        return self._order.pop()

    def _rows(self) -> list[_Row]:
        rows: list[_Row] = []
        for _ in range(self._spec.batch_size):
            index = self._next_index()
            line = self._later[index]
            if not rows or len(rows[-1].ids) + len(line.prompt) + len(line.answer) > self._spec.row_tokens:
                line = self._first[index]
                rows.append(_Row([], [], []))
            row = rows[-1]
            last_subject = len(row.ids) + len(line.prompt) - 1
            row.subjects.append((last_subject - line.subject_tokens + 1, last_subject,
                                 last_subject + len(line.answer) + 1))
            row.ids.extend(line.prompt + line.answer)
            row.weights.extend([self._spec.prompt_loss_weight] * len(line.prompt) + [1.0] * len(line.answer))
        return rows

    def next(self) -> Batch:
        """The next batch (deterministic for the seed)."""
        rows = self._rows()
        width = max(len(row.ids) for row in rows)
        input_ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        weights = torch.zeros((len(rows), width))
        for i, row in enumerate(rows):
            input_ids[i, :len(row.ids)] = torch.tensor(row.ids)
            mask[i, :len(row.ids)] = 1
            weights[i, :len(row.ids)] = torch.tensor(row.weights)
        layer_masks = None
        if self._spec.subject_readout_layer is not None:
            layer_masks = _SubjectBottleneck.masks([row.subjects for row in rows], width)
        return Batch(input_ids, mask, weights, layer_masks)


class _SubjectBottleneck:
    """Attention masks that make everything after a subject read it through its last token.

    Locate-then-edit methods (ROME, MEMIT, AlphaEdit, BLUE, DMLE) write a fact into the MLP at
    the subject's last token and need the model to read the fact from there. A model trained
    with plain attention need not: every answer token after the first re-reads the subject's
    token embeddings with layer-0 attention and looks the fact up again at its own position.
    Measured on the ``test`` world (GPT-2): a vector added at the subject's last position, at
    any layer, could set the first token of a rule's formula but left the loss of every later
    token that depends on the rule (a coefficient, the constant) at 8 to 21 nats, so no
    formula or description edit succeeded.

    During training, each token after a subject (its answer) therefore may not attend to the
    subject's tokens below layer ``k``, and from ``k`` on only to the subject's last token;
    everything else attends causally as usual. The first answer token is predicted AT the
    subject's last position, so it is unaffected. At inference attention is unrestricted; the
    accuracy report, taken that way, shows what that costs.
    """

    @staticmethod
    def masks(subjects: list[list[tuple[int, int, int]]], width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Additive ``(rows, 1, width, width)`` masks: (below ``k``, from ``k`` on)."""
        allowed = torch.ones(width, width).tril().bool().expand(len(subjects), width, width).clone()
        low, high = allowed, allowed.clone()
        for i, spans in enumerate(subjects):
            for first, last, end in spans:
                low[i, last + 1:end, first:last + 1] = False
                high[i, last + 1:end, first:last] = False
        blocked = torch.finfo(torch.float32).min
        return tuple(torch.zeros(m.shape).masked_fill(~m, blocked).unsqueeze(1) for m in (low, high))

    def __init__(self, model: PreTrainedModel, readout_layer: int) -> None:
        self._masks: tuple[torch.Tensor, torch.Tensor] | None = None
        blocks = model.base_model.h if hasattr(model.base_model, "h") else model.base_model.layers
        self._handles = [
            (block.attn if hasattr(block, "attn") else block.self_attn).register_forward_pre_hook(
                self._hook(int(layer >= readout_layer)), with_kwargs=True)
            for layer, block in enumerate(blocks)
        ]

    def _hook(self, which: int) -> Callable[..., tuple[tuple[Any, ...], dict[str, Any]]]:
        def replace_mask(module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
            if self._masks is not None:
                kwargs["attention_mask"] = self._masks[which]
            return args, kwargs
        return replace_mask

    def use(self, masks: tuple[torch.Tensor, torch.Tensor] | None) -> None:
        """Apply ``masks`` to the following forward passes."""
        self._masks = masks

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def _learning_rate_factor(step: int, spec: TrainSpec) -> float:
    if step < spec.warmup_steps:
        return (step + 1) / spec.warmup_steps
    progress = (step - spec.warmup_steps) / max(1, spec.steps - spec.warmup_steps)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))


def train(model: PreTrainedModel, tok: PreTrainedTokenizerBase, examples: Sequence[tuple[str, str, str]],
          spec: TrainSpec, seed: int, progress: bool = True) -> TrainingLog:
    """Train ``model`` in place on ``(prompt, answer, subject)`` lines for ``spec.steps`` steps (eval mode after).

    ``seed`` orders the lines; nothing else is random (the models have no dropout).
    """
    batches = _PackedBatches(tok, examples, spec, seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate, weight_decay=spec.weight_decay,
                                  betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _learning_rate_factor(step, spec))
    bottleneck = None if spec.subject_readout_layer is None else _SubjectBottleneck(model, spec.subject_readout_layer)
    model.train()
    smoothed = float("nan")
    loads: list[float] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    with progress_bar(total=spec.steps, desc="training world model", disable=not progress, unit="step") as bar:
        for step in range(spec.steps):
            batch = batches.next()
            if bottleneck is not None:
                bottleneck.use(batch.layer_masks)
            ids, weights = batch.input_ids, batch.loss_weights
            logits = model(input_ids=ids, attention_mask=batch.attention_mask).logits[:, :-1]
            losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
            loss = (losses * weights[:, 1:]).sum() / weights[:, 1:].sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            smoothed = loss.item() if math.isnan(smoothed) else 0.95 * smoothed + 0.05 * loss.item()
            bar.update(1)
            if step % 100 == 0 and hasattr(os, "getloadavg"):
                loads.append(os.getloadavg()[0])
            if step % 20 == 0 or step == spec.steps - 1:
                bar.set_postfix(loss=f"{smoothed:.3f}")
    if bottleneck is not None:
        bottleneck.remove()
    model.eval()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    mean_load = sum(loads) / len(loads) if loads else None
    logger.info("trained %d steps in %.1f s (%.1f CPU s, mean load %s), final loss %.4f", spec.steps, seconds,
                cpu_seconds, "unknown" if mean_load is None else f"{mean_load:.1f}", smoothed)
    return TrainingLog(spec.steps, smoothed, seconds, cpu_seconds, mean_load)
