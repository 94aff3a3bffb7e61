"""Hyperparameters of DMLE (Distributed Multi-Layer Editing, arXiv 2604.08284).

Everything inside a stage is standard MEMIT (or AlphaEdit), so the target, statistics and
solver settings are the shared :class:`~..locate_edit_params.LocateEditHyperParams`, with
EasyEdit's MEMIT names; only the layer groups differ, and they live in ``stages``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...hparams import HyperParamsError
from ..layer_choice import LayerSelectable
from ..locate_edit_params import LocateEditHyperParams
from .stages import DEFAULT_STAGES, FORMS, Stage, parse_stages, stage_aliases


def _default_stages() -> list[dict[str, Any]]:
    return copy.deepcopy(list(DEFAULT_STAGES))


@dataclass(kw_only=True)
class DMLEHyperParams(LayerSelectable, LocateEditHyperParams):
    """DMLE's stages plus MEMIT's settings.

    ``stages`` lists the closed-form edits in the order they are applied, each a mapping with
    ``name``, ``forms`` (drawn from ``formula``, ``description``, ``instance``; each form in one
    stage), ``layers`` and optionally ``schedule`` (``distributed``: MEMIT, the default;
    ``boundary``: BLUE) and ``base_method`` (``MEMIT``, the default, or ``AlphaEdit``).

    Layer selection (``layer_selection: <selector>``): the selector answers either with groups,
    ``{name: layers}``, where a name is a stage's name, its forms joined by ``+``
    (``formula+description``) or, for a one-form stage, that form (``instance``) -- stages it
    does not name keep their layers; or with one flat list, which replaces the layers of the
    only stage, or of ``flat_selection_stage`` when there are several (without it a flat list is
    refused: giving every stage the same layers would undo what DMLE is for).
    """

    ALG_NAME: ClassVar[str] = "DMLE"

    stages: list[dict[str, Any]] = field(default_factory=_default_stages)
    #: The form of a request without a ``form`` tag (see :mod:`.routing`); null: an error.
    untagged_form: str | None = "instance"
    #: The stage a flat layer selection applies to when there are several stages.
    flat_selection_stage: str | None = None

    def validate(self) -> None:
        super().validate()
        plan = parse_stages(self.stages)
        names = [stage.name for stage in plan]
        if self.untagged_form is not None:
            if self.untagged_form not in FORMS:
                raise HyperParamsError(f"untagged_form must be one of {', '.join(FORMS)} or null, got {self.untagged_form!r}")
            if not any(self.untagged_form in stage.forms for stage in plan):
                raise HyperParamsError(f"untagged_form is {self.untagged_form!r} but no stage edits that form (stages: {names})")
        if self.flat_selection_stage is not None and self.flat_selection_stage not in names:
            raise HyperParamsError(f"flat_selection_stage {self.flat_selection_stage!r} is not a stage; stages: {names}")

    @property
    def stage_plan(self) -> tuple[Stage, ...]:
        """The stages, parsed and checked, in the order they are applied."""
        return parse_stages(self.stages)

    def with_layer_selection(self, selection: Any) -> "DMLEHyperParams":
        """A copy editing the layers a selector chose (see the class docstring for the contract)."""
        chosen = selection.layers
        plan = self.stage_plan
        if isinstance(chosen, dict):
            assignment = self._assign_groups(chosen, plan, selection.selector)
        elif len(plan) == 1 or self.flat_selection_stage is not None:
            assignment = {self.flat_selection_stage or plan[0].name: list(chosen)}
        else:
            raise HyperParamsError(
                f"layer selector {selection.selector!r} returned one list of layers {list(chosen)}, but DMLE has "
                f"stages {[s.name for s in plan]}: return {{stage name: layers}} or set flat_selection_stage"
            )
        stages = []
        for raw, stage in zip(self.stages, plan):
            if stage.name in assignment:
                raw = {**raw, "layers": sorted(set(assignment[stage.name]))}
            stages.append(raw)
        return self.replace(stages=stages, layer_selection=None)

    @staticmethod
    def _assign_groups(groups: dict[str, list[int]], plan: tuple[Stage, ...], selector: str) -> dict[str, list[int]]:
        stage_by_alias = {alias: stage.name for stage in plan for alias in stage_aliases(stage)}
        assignment: dict[str, list[int]] = {}
        for key, layers in groups.items():
            if key not in stage_by_alias:
                raise HyperParamsError(
                    f"layer selector {selector!r} returned a group {key!r} that names no stage; "
                    f"accepted names: {', '.join(stage_by_alias)}"
                )
            name = stage_by_alias[key]
            if name in assignment:
                raise HyperParamsError(f"layer selector {selector!r} returned two groups for stage {name!r}")
            assignment[name] = list(layers)
        return assignment
