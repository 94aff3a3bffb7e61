"""PAC's optimisation loop over an edit set.

Every epoch whose index is a multiple of eta (``trace_interval``) first traces the critical and
negative paths on the model as it is then. Then, mini-batch by mini-batch (reshuffled every
epoch), two optimiser steps:

a. the edit loss (NLL of ``target_new``) updates the critical keys and values;
b. lambda x the contrastive loss (NLL of the unedited model's own predictions on the same
   input) updates the negative keys and values. Skipped when lambda is 0, and in exact mode
   when there are no negative entries (M = 0).
c. only with ``retain_weight`` > 0 (not the paper): the retention loss on unrelated lines
   (:mod:`.retain`) updates the critical keys and values.

The whole model is frozen and in eval mode during the loop, flags restored afterwards. (The
authors' edit steps run in eval mode and their tracing in train mode, which is the same thing
for GPT-J and Llama, whose dropout rates are 0.) In shared mode the optimiser re-enables
gradients on the matrices it holds.

Tracing groups the edit set into mini-batches in request order; training reshuffles them every
epoch when ``shuffle`` is on (the authors shuffle both; only the grouping of the per-batch mean
losses differs).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Protocol, Sequence

import torch
from torch import nn

from ...progress import progress_bar
from .adam import AdamSettings
from .anchors import KeyAnchors
from .exact import ExactPathOptimizer
from .hparams import PACHyperParams
from .objective import (
    EncodedRequest,
    MiniBatch,
    collate,
    encode_requests,
    input_device,
    pad_token_id,
    unedited_predictions,
)
from .projections import Projection
from .retain import RetentionSet, read_corpus
from .shared import SharedPathOptimizer
from .tracing import Objective, PathSelection, trace_paths

logger = logging.getLogger(__name__)


class PathOptimizer(Protocol):
    """What the loop needs from an optimiser (:mod:`.exact` or :mod:`.shared`)."""

    def select(self, selection: PathSelection) -> None: ...

    def step(
        self, model: nn.Module, batch: MiniBatch, labels: torch.Tensor, objective: Objective, weight: float
    ) -> float: ...

    def state_numel(self) -> int: ...


@dataclass
class TrainingRecord:
    """What one run of the loop did: losses per epoch, the paths it traced."""

    edit_losses: list[float] = field(default_factory=list)
    contrast_losses: list[float] = field(default_factory=list)
    retain_losses: list[float] = field(default_factory=list)
    traces: int = 0
    #: Floats in the optimiser's moments at the end: ``2 (N + M) d`` per projection in exact
    #: mode, two copies of every trainable matrix in shared mode.
    optimizer_state_numel: int = 0
    selection: PathSelection | None = None
    #: Every neuron ever selected (critical or negative) per projection: the only entries an
    #: exact-mode run can have changed.
    touched: dict[str, set[int]] = field(default_factory=dict)

    def remember(self, selection: PathSelection) -> None:
        self.traces += 1
        self.selection = selection
        for chosen in (selection.critical, selection.negative):
            for name, indices in chosen.items():
                self.touched.setdefault(name, set()).update(indices.tolist())

    def info(self, num_requests: int) -> dict[str, Any]:
        losses = f"edit NLL {self.edit_losses[0]:.4f} -> {self.edit_losses[-1]:.4f}" if self.edit_losses else ""
        selection = self.selection
        return {
            "summary": f"{num_requests} request(s), {len(self.edit_losses)} epoch(s), {self.traces} trace(s), {losses}",
            "edit_losses": self.edit_losses,
            "contrast_losses": self.contrast_losses,
            "retain_losses": self.retain_losses,
            "critical": {} if selection is None else {k: v.tolist() for k, v in selection.critical.items()},
            "negative": {} if selection is None else {k: v.tolist() for k, v in selection.negative.items()},
            "touched": {name: sorted(ids) for name, ids in self.touched.items()},
            "optimizer_state_numel": self.optimizer_state_numel,
        }


@contextmanager
def frozen_eval_mode(model: nn.Module) -> Iterator[None]:
    """Freeze every parameter and switch to eval mode; restore both (and any ``.grad``) afterwards."""
    saved = [(parameter, parameter.requires_grad, parameter.grad) for parameter in model.parameters()]
    was_training = model.training
    for parameter, _, _ in saved:
        parameter.requires_grad_(False)
    model.eval()
    try:
        yield
    finally:
        for parameter, flag, grad in saved:
            parameter.requires_grad_(flag)
            parameter.grad = grad
        model.train(was_training)


def _mini_batches(
    items: Sequence[EncodedRequest],
    contrast: Sequence[list[int]] | None,
    order: Iterable[int],
    size: int,
    pad_id: int,
    device: torch.device,
) -> Iterator[MiniBatch]:
    order = list(order)
    for start in range(0, len(order), size):
        chunk = order[start:start + size]
        yield collate(
            [items[i] for i in chunk], None if contrast is None else [contrast[i] for i in chunk], pad_id, device
        )


def train_pac(
    model: nn.Module,
    tok: Any,
    requests: Sequence[dict[str, Any]],
    hparams: PACHyperParams,
    projections: list[Projection],
    lr: float,
) -> TrainingRecord:
    """Run PAC's epochs on ``requests`` jointly with Adam step ``lr``, changing ``projections`` in place."""
    items = encode_requests(tok, requests)
    pad_id = pad_token_id(tok)
    device = input_device(model)
    record = TrainingRecord()
    with frozen_eval_mode(model):
        shared = hparams.optimizer_mode == "shared"
        contrastive = hparams.contrastive_weight > 0 and (shared or hparams.n_negative > 0)
        contrast = unedited_predictions(model, items, hparams.mini_batch_size, pad_id) if contrastive else None
        settings = AdamSettings(lr, tuple(hparams.adam_betas), hparams.adam_eps)
        optimizer: PathOptimizer
        if shared:
            optimizer = SharedPathOptimizer(projections, settings, hparams.train_biases)
        else:
            anchors = None if hparams.key_max_drift is None else KeyAnchors(hparams.key_max_drift)
            optimizer = ExactPathOptimizer(projections, settings, hparams.train_biases, anchors)
        generator = torch.Generator().manual_seed(hparams.seed)
        retention = None
        if hparams.retain_weight > 0 and hparams.retain_corpus:
            retention = RetentionSet(model, tok, read_corpus(hparams.retain_corpus), hparams.mini_batch_size,
                                     pad_id, device, torch.Generator().manual_seed(hparams.seed + 1))

        def batches(order: Iterable[int]) -> Iterator[MiniBatch]:
            return _mini_batches(items, contrast, order, hparams.mini_batch_size, pad_id, device)

        for epoch in progress_bar(range(hparams.num_epochs), desc="PAC", unit="epoch", leave=False):
            if epoch % hparams.trace_interval == 0:
                selection = trace_paths(
                    model, projections, batches(range(len(items))), hparams.n_critical, hparams.n_negative
                )
                optimizer.select(selection)
                record.remember(selection)
            order = torch.randperm(len(items), generator=generator).tolist() if hparams.shuffle else range(len(items))
            edit_losses, contrast_losses, retain_losses = [], [], []
            for batch in batches(order):
                edit_losses.append(optimizer.step(model, batch, batch.edit_labels, "critical", 1.0))
                if retention is not None:
                    unrelated = retention.sample(hparams.retain_per_step)
                    retain_losses.append(
                        optimizer.step(model, unrelated, unrelated.contrast_labels, "critical", hparams.retain_weight)
                    )
                if contrastive:
                    contrast_losses.append(
                        optimizer.step(model, batch, batch.contrast_labels, "negative", hparams.contrastive_weight)
                    )
            record.edit_losses.append(sum(edit_losses) / len(edit_losses))
            if contrast_losses:
                record.contrast_losses.append(sum(contrast_losses) / len(contrast_losses))
            if retain_losses:
                record.retain_losses.append(sum(retain_losses) / len(retain_losses))
            logger.debug(
                "PAC epoch %d/%d: edit NLL %.4f%s", epoch + 1, hparams.num_epochs, record.edit_losses[-1],
                f", contrastive NLL {record.contrast_losses[-1]:.4f}" if contrast_losses else "",
            )
        record.optimizer_state_numel = optimizer.state_numel()
    return record
