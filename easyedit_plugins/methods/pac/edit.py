"""PAC's edit functions: the paper's joint regime and a sequential one.

* :func:`pac_joint_edit` trains all requests together for ``num_epochs`` epochs (the paper's
  runs edit 3000 facts this way). It is the function registered with the host, so EasyEdit's
  ``batch_edit`` hands it a whole batch, and EasyEdit's ``edit(..., sequential_edit=True)``
  calls it once per request, each call editing on top of the previous ones.
* :func:`pac_sequential_edit` does the latter without EasyEdit: consecutive joint edits of
  ``requests_per_edit`` requests each.

"Unedited model" (the contrastive loss's reference) means the model as it is when a joint edit
starts: in the sequential regime that is the model after the previous edits.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import torch
from torch import nn

from ...core.request_checks import check_text_requests
from ...core.weights import EditOutcome, WeightBackup
from .hparams import PACHyperParams
from .projections import Projection, ffn_projections
from .train import train_pac

logger = logging.getLogger(__name__)

_HALF_PRECISION = (torch.float16, torch.bfloat16)
#: An Adam step moves a weight by about lr; a typical weight of size ~0.02 has a resolution of
#: ~1e-5 in float16 and ~1e-4 in bfloat16, so steps much below 1e-3 are partly or wholly lost.
_SMALLEST_SAFE_HALF_LR = 1e-3


def _warn_about_precision(projections: list[Projection], lr: float) -> None:
    dtypes = {projection.module.weight.dtype for projection in projections}
    if dtypes & set(_HALF_PRECISION) and lr < _SMALLEST_SAFE_HALF_LR:
        logger.warning(
            "PAC: lr=%g on %s weights: most steps are smaller than the weights' resolution and are "
            "rounded away; load the model in float32 (as the authors do) for PAC's small learning rates",
            lr, ", ".join(sorted(str(dtype) for dtype in dtypes)),
        )


def pac_joint_edit(
    model: nn.Module, tok: Any, requests: Sequence[dict[str, Any]], hparams: PACHyperParams
) -> EditOutcome:
    """Edit ``model`` in place for all ``requests`` jointly; return the pre-edit weights.

    ``requests`` are EasyEdit requests (``prompt`` and ``target_new`` are used). The outcome's
    ``info`` holds the per-epoch losses, the last traced paths (``critical``/``negative``: module
    name -> neuron indices), ``touched``, every neuron selected at any trace, and ``lr``, the
    step size used (``lr: auto`` resolves it from the number of requests).

    With ``train_keys: false`` only the value projections are traced, trained and backed up.
    """
    check_text_requests(model, tok, requests)
    projections = ffn_projections(model, hparams.layers, hparams.module_overrides())
    if not hparams.train_keys:
        projections = [projection for projection in projections if projection.role == "value"]
    lr = hparams.learning_rate(len(requests))
    _warn_about_precision(projections, lr)
    backup = WeightBackup(model, offload=hparams.offload_originals)
    for projection in projections:
        backup.save(projection.weight_name)
        if hparams.train_biases and projection.bias is not None:
            backup.save(projection.bias_name)
    record = train_pac(model, tok, requests, hparams, projections, lr)
    info = {**record.info(len(requests)), "lr": lr}
    logger.debug("PAC: %s", info["summary"])
    return EditOutcome(backup.originals, info)


def pac_sequential_edit(
    model: nn.Module,
    tok: Any,
    requests: Sequence[dict[str, Any]],
    hparams: PACHyperParams,
    requests_per_edit: int = 1,
) -> EditOutcome:
    """Consecutive joint edits of ``requests_per_edit`` requests, each on top of the last.

    The outcome's originals are the weights from before the first edit; ``info['edits']``
    holds each joint edit's info.
    """
    if requests_per_edit < 1:
        raise ValueError(f"requests_per_edit must be at least 1, got {requests_per_edit}")
    check_text_requests(model, tok, requests)  # all of them, before the first edit
    originals: dict[str, torch.Tensor] = {}
    edits = []
    for start in range(0, len(requests), requests_per_edit):
        outcome = pac_joint_edit(model, tok, requests[start:start + requests_per_edit], hparams)
        for name, tensor in outcome.originals.items():
            originals.setdefault(name, tensor)
        edits.append(outcome.info)
    summary = f"{len(edits)} consecutive edit(s) of up to {requests_per_edit} request(s)"
    return EditOutcome(originals, {"summary": summary, "edits": edits})
