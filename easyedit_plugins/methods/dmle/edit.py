"""DMLE's edit: one closed-form batch edit per stage, applied in order on the same model.

For a rule this is the paper's procedure: the formula and description cases are written into
the early layer group in one MEMIT batch, then the instance case into the middle group, by a
second batch computed on the model that already carries the first edit (its targets, keys and
outputs are read on that model). Each stage runs on the shared locate-then-edit engine, so a
stage is exactly MEMIT (or AlphaEdit, or BLUE's boundary schedule) on its layers.

One :class:`~easyedit_plugins.core.weights.WeightBackup` spans all stages, so the outcome's
``originals`` hold the pre-edit value of every weight any stage changed (a weight two stages
share is saved before the first). If a stage fails, the stages already applied are undone
before the error propagates: the model is either fully edited or untouched.
"""

from __future__ import annotations

import logging
from typing import Any

from ...core.archspec import ArchSpec
from ...core.locate_edit import EngineOptions, SecondMomentSource, edited_layers, locate_and_edit
from ...core.model_state import edit_state
from ...core.request_checks import check_edit_requests, require_requests
from ...core.requests import to_edit_requests
from ...core.weights import EditOutcome, WeightBackup
from .hparams import DMLEHyperParams
from .routing import route_requests
from .stages import Stage

logger = logging.getLogger(__name__)


def _check_layers(model: Any, spec: ArchSpec, hparams: DMLEHyperParams, stages: tuple[Stage, ...]) -> None:
    hparams.check_layers(model, spec, {f"stage {stage.name!r} key 'layers'": stage.layers for stage in stages})


def _edit_stage(
    model: Any, tok: Any, spec: ArchSpec, stage: Stage, requests: list[dict[str, Any]],
    hparams: DMLEHyperParams, second_moment: SecondMomentSource, backup: WeightBackup,
) -> dict[str, Any]:
    options = EngineOptions(
        layers=stage.layers,
        schedule=stage.schedule,
        targets=hparams.target_options(model, spec),
        solver=hparams.solver_options(stage.solver_kind),
    )
    state = edit_state(model) if stage.solver_kind == "alphaedit" else None
    reports = locate_and_edit(
        model, tok, spec, to_edit_requests(requests), hparams.templates(model, tok), options,
        second_moment, backup, state, hparams.projector_tag,
    )
    logger.debug("stage %s edited %d request(s)", stage.describe(), len(requests))
    return {
        "name": stage.name,
        "forms": list(stage.forms),
        "requests": len(requests),
        "layers": [report.layer for report in reports],
        "reports": [report.__dict__ for report in reports],
    }


def dmle_edit(model: Any, tok: Any, requests: list[dict[str, Any]], hparams: DMLEHyperParams) -> EditOutcome:
    """Edit ``model`` in place, stage by stage (the host's edit-function contract)."""
    plan = hparams.stage_plan
    require_requests(requests)
    routed = [(stage, batch) for stage, batch in route_requests(requests, plan, hparams.untagged_form) if batch]
    spec = hparams.arch(model)
    _check_layers(model, spec, hparams, plan)
    check_edit_requests(model, tok, to_edit_requests(requests), hparams.templates(model, tok))
    # C0 of every layer any stage edits, in one pass over the corpus and on the unedited model.
    layers = sorted({layer for stage, _ in routed for layer in edited_layers(stage.layers, stage.schedule)})
    second_moment = hparams.second_moment_source(model, tok, spec, layers)
    backup = WeightBackup(model)
    stage_infos = []
    try:
        for stage, batch in routed:
            stage_infos.append(_edit_stage(model, tok, spec, stage, batch, hparams, second_moment, backup))
    except BaseException:
        backup.restore()
        raise
    summary = "; ".join(f"{info['name']}: {info['requests']} request(s) on layers {info['layers']}" for info in stage_infos)
    return EditOutcome(originals=backup.originals, info={"summary": summary, "stages": stage_infos})
