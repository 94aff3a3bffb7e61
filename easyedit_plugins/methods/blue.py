"""BLUE: Boundary Layer UpdatE for MEMIT and AlphaEdit (NeurIPS 2025, arXiv 2502.03748).

MEMIT and AlphaEdit optimise one target at the last critical layer and spread the residual
over all critical layers; BLUE's analysis shows the shares given to the early layers barely
move the prediction and the error they leave grows with batch size and sequential edits. BLUE
edits only the first and the last critical layer, each with a target of its own computed on the
current model, and with the whole residual.

``schedule: distributed`` runs the classic MEMIT/AlphaEdit schedule on the same engine (the
reference mode), so BLUE and its baseline differ in nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from ..core.locate_edit import EngineOptions, edited_layers, locate_and_edit
from ..core.model_state import edit_state
from ..core.request_checks import check_edit_requests
from ..core.requests import to_edit_requests
from ..core.weights import EditOutcome, WeightBackup
from ..hparams import HyperParamsError
from .layer_choice import LayerSelectable
from .locate_edit_params import LocateEditHyperParams

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class BLUEHyperParams(LayerSelectable, LocateEditHyperParams):
    """BLUE on MEMIT or AlphaEdit (or, with ``schedule: distributed``, plain MEMIT/AlphaEdit)."""

    ALG_NAME = "BLUE"

    #: The critical layers; BLUE edits the first and the last of them.
    layers: list[int]
    base_method: Literal["MEMIT", "AlphaEdit"] = "MEMIT"
    #: ``boundary`` is BLUE; ``distributed`` is the base method's own residual distribution.
    schedule: Literal["boundary", "distributed"] = "boundary"

    def validate(self) -> None:
        super().validate()
        if not self.layers:
            raise HyperParamsError("layers must name at least one layer")
        if self.layers != sorted(set(self.layers)):
            raise HyperParamsError(f"layers must be increasing and distinct, got {self.layers}")

    @property
    def solver_kind(self) -> Literal["memit", "alphaedit"]:
        return "alphaedit" if self.base_method == "AlphaEdit" else "memit"


def blue_edit(model: Any, tok: Any, requests: list[dict[str, Any]], hparams: BLUEHyperParams) -> EditOutcome:
    """Edit ``model`` in place for ``requests`` (the host's edit-function contract)."""
    spec = hparams.arch(model)
    hparams.check_layers(model, spec, {"key 'layers'": hparams.layers})
    edit_requests = to_edit_requests(requests)
    check_edit_requests(model, tok, edit_requests, hparams.templates(model, tok))
    layers = edited_layers(hparams.layers, hparams.schedule)
    second_moment = hparams.second_moment_source(model, tok, spec, layers)
    templates = hparams.templates(model, tok)
    options = EngineOptions(
        layers=tuple(hparams.layers),
        schedule=hparams.schedule,
        targets=hparams.target_options(model, spec),
        solver=hparams.solver_options(hparams.solver_kind),
    )
    backup = WeightBackup(model)
    state = edit_state(model) if hparams.solver_kind == "alphaedit" else None
    reports = locate_and_edit(
        model, tok, spec, edit_requests, templates, options, second_moment, backup, state, hparams.projector_tag
    )
    summary = ", ".join(f"layer {r.layer}: |R| {r.residual_norm:.3g}" for r in reports)
    return EditOutcome(
        originals=backup.originals,
        info={"summary": f"{hparams.base_method} {hparams.schedule} ({summary})", "layers": [r.__dict__ for r in reports]},
    )
