"""The locate-then-edit engine: MEMIT and AlphaEdit updates with two layer schedules.

* ``distributed`` -- MEMIT's and AlphaEdit's own schedule. ``z`` is optimised once, at the last
  critical layer ``L``. For each critical layer ``l`` in order, the current output at ``L`` is
  read on the partly edited model, the residual ``(Z - H_L) / (number of layers left)`` is
  solved for at ``l`` and written into the weights before going on.
* ``boundary`` -- BLUE. Only the first and the last critical layer are edited, in that order,
  each with its OWN target: ``z`` is optimised at the layer itself on the current model (so the
  last layer sees the first one's update), and the whole residual ``Z_l - H_l`` is solved for,
  not a share of it.

Both run on the same code, so BLUE and its baseline differ only in the schedule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

import torch

from ..progress import progress_bar
from .archspec import ArchSpec
from .context import Templates
from .model_state import ModelEditState
from .readout import read_at_subject
from .requests import EditRequest
from .solvers import alphaedit_update, memit_update, nullspace_projector
from .targets import TargetOptions, compute_targets
from .weights import WeightBackup, add_to_weight, weight_out_in

logger = logging.getLogger(__name__)

Schedule = Literal["distributed", "boundary"]
SolverKind = Literal["memit", "alphaedit"]


@dataclass(frozen=True)
class SolverOptions:
    """Which closed form to use and its regularisation."""

    kind: SolverKind = "memit"
    #: MEMIT's lambda (EasyEdit's ``mom2_update_weight``).
    mom2_update_weight: float = 15000.0
    #: AlphaEdit's ridge term (EasyEdit's ``L2``).
    l2: float = 10.0
    #: AlphaEdit's absolute eigenvalue threshold (EasyEdit's ``nullspace_threshold``).
    nullspace_threshold: float | None = 2e-2
    #: Eigenvalues below this fraction of the largest also count as null space (None: off).
    nullspace_relative_threshold: float | None = None


@dataclass(frozen=True)
class EngineOptions:
    layers: tuple[int, ...]
    schedule: Schedule
    targets: TargetOptions
    solver: SolverOptions


#: ``second_moment(layer)`` -> the layer's C0 (d_ff x d_ff), on any device.
SecondMomentSource = Callable[[int], torch.Tensor]


@dataclass
class LayerReport:
    layer: int
    residual_norm: float
    update_norm: float
    target_steps: list[int] = field(default_factory=list)
    #: Per request, the target loss when its optimisation stopped (converged below
    #: ``early_stop_loss`` or ran out of steps): whether ``z`` says the target at all.
    target_loss: list[float] = field(default_factory=list)


def edited_layers(layers: Sequence[int], schedule: Schedule) -> list[int]:
    """The layers whose weights an edit changes under ``schedule``."""
    ordered = sorted(set(layers))
    if not ordered:
        raise ValueError("no layers to edit")
    if schedule == "boundary":
        return sorted({ordered[0], ordered[-1]})
    return ordered


def _solve(
    options: SolverOptions,
    layer: int,
    keys: torch.Tensor,
    residuals: torch.Tensor,
    second_moment: SecondMomentSource,
    state: ModelEditState | None,
    projector_key: tuple,
) -> torch.Tensor:
    """The (d x d_ff) float64 update at ``layer`` for keys (d_ff x n) and residuals (d x n)."""
    moment = second_moment(layer).to(keys.device)
    if options.kind == "memit":
        return memit_update(keys, residuals, moment, options.mom2_update_weight)
    if state is None:
        raise ValueError("AlphaEdit needs a model edit state")
    if projector_key not in state.projectors:
        projection = nullspace_projector(moment, options.nullspace_threshold, options.nullspace_relative_threshold)
        logger.info(
            "layer %d: null space keeps %d of %d directions (eigenvalue < %.3g, largest %.3g)",
            layer, projection.dimension, projection.size, projection.cutoff, projection.max_eigenvalue,
        )
        state.projectors[projector_key] = projection
    projector = state.projectors[projector_key].projector.to(keys.device)
    previous = state.moments.get(layer, keys.shape[0], keys.device)
    return alphaedit_update(keys, residuals, projector, previous, options.l2)


def locate_and_edit(
    model: torch.nn.Module,
    tok: Any,
    spec: ArchSpec,
    requests: Sequence[EditRequest],
    templates: Templates,
    options: EngineOptions,
    second_moment: SecondMomentSource,
    backup: WeightBackup,
    state: ModelEditState | None = None,
    projector_tag: str = "",
) -> list[LayerReport]:
    """Edit ``model`` in place for ``requests``; back up every weight before changing it.

    ``state`` carries AlphaEdit's projectors and running key moments (required for the
    ``alphaedit`` solver); ``projector_tag`` distinguishes projectors built from different
    statistics of the same model.
    """
    layers = edited_layers(options.layers, options.schedule)
    critical = sorted(set(options.layers))
    last = critical[-1]
    reports: list[LayerReport] = []
    used_keys: dict[int, torch.Tensor] = {}
    if state is not None:
        state.check_weights(model)

    shared_targets = None
    if options.schedule == "distributed":
        shared_targets = compute_targets(model, tok, spec, requests, last, templates, options.targets)

    bar = progress_bar(layers, desc=f"{options.solver.kind} {options.schedule} edit", unit="layer", leave=False)
    for position, layer in enumerate(bar):
        bar.set_postfix_str(f"layer {layer}: target and update")
        if options.schedule == "distributed":
            assert shared_targets is not None
            target = shared_targets
            readout = read_at_subject(model, tok, spec, key_layer=layer, output_layer=last, requests=requests, templates=templates)
            share = len(layers) - position
        else:
            target = compute_targets(model, tok, spec, requests, layer, templates, options.targets)
            readout = read_at_subject(model, tok, spec, key_layer=layer, output_layer=layer, requests=requests, templates=templates)
            share = 1
        keys = readout.keys.T  # d_ff x n
        residuals = (target.targets.to(readout.outputs.device) - readout.outputs).T / share  # d x n
        projector_key = (spec.mlp_out_name(layer), projector_tag, options.solver.nullspace_threshold, options.solver.nullspace_relative_threshold)
        update = _solve(options.solver, layer, keys, residuals.to(keys.device), second_moment, state, projector_key)
        module = model.get_submodule(spec.mlp_out_name(layer))
        backup.save(f"{spec.mlp_out_name(layer)}.weight")
        add_to_weight(module, update.to(weight_out_in(module).device))
        used_keys[layer] = keys
        reports.append(
            LayerReport(
                layer=layer,
                residual_norm=float(residuals.norm()),
                update_norm=float(update.norm()),
                target_steps=list(target.steps_taken),
                target_loss=list(target.final_loss),
            )
        )
        logger.info("layer %d: target in %s step(s), final loss %s, |residual| %.4g, |update| %.4g", layer,
                    "/".join(map(str, target.steps_taken)) or "0", "/".join(f"{x:.3g}" for x in target.final_loss) or "-",
                    reports[-1].residual_norm, reports[-1].update_norm)

    if state is not None and options.solver.kind == "alphaedit":
        for layer, keys in used_keys.items():
            state.moments.add(layer, keys)
        state.remember_weights(model, [f"{spec.mlp_out_name(layer)}.weight" for layer in layers])
    return reports
