"""DMLE's stages: which request forms each closed-form edit writes, and on which layers.

The paper's finding is that the forms of a rule live in different layers (formulas and
descriptions early, numerical instances in the middle), so DMLE edits them in stages, one
MEMIT batch edit per layer group. The authors configure the stages in a ``config.json`` of
``{"name", "layers"}`` entries and tie each name to a data file; here the forms a stage edits
are named explicitly, so the stage list is self-contained and checked before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence, get_args

from ...hparams import HyperParamsError

Form = Literal["formula", "description", "instance"]
FORMS: tuple[str, ...] = get_args(Form)
StageSchedule = Literal["distributed", "boundary"]
BaseMethod = Literal["MEMIT", "AlphaEdit"]

#: The paper's two stages with the example layer groups of the authors' README.
DEFAULT_STAGES: tuple[dict[str, Any], ...] = (
    {"name": "f_d", "forms": ["formula", "description"], "layers": [3, 4, 5]},
    {"name": "ins", "forms": ["instance"], "layers": [12, 13, 14]},
)

_REQUIRED_KEYS = ("name", "forms", "layers")
_OPTIONAL_KEYS = ("schedule", "base_method")


@dataclass(frozen=True)
class Stage:
    """One closed-form batch edit of DMLE.

    ``schedule`` is ``distributed`` (MEMIT's residual spread over ``layers``, the paper's
    setting) or ``boundary`` (BLUE: only the first and last layer, each with its own target);
    ``base_method`` picks the MEMIT or the AlphaEdit closed form.
    """

    name: str
    forms: tuple[str, ...]
    layers: tuple[int, ...]
    schedule: StageSchedule = "distributed"
    base_method: BaseMethod = "MEMIT"

    @property
    def solver_kind(self) -> Literal["memit", "alphaedit"]:
        return "alphaedit" if self.base_method == "AlphaEdit" else "memit"

    def describe(self) -> str:
        return f"{self.name} ({'+'.join(self.forms)}) on layers {list(self.layers)}, {self.base_method} {self.schedule}"


def _choice(where: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise HyperParamsError(f"{where}: {key} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _layers(where: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise HyperParamsError(f"{where}: layers must be a non-empty list of layer indices, got {value!r}")
    if not all(isinstance(layer, int) and not isinstance(layer, bool) and layer >= 0 for layer in value):
        raise HyperParamsError(f"{where}: layers must be non-negative integers, got {value!r}")
    if list(value) != sorted(set(value)):
        raise HyperParamsError(f"{where}: layers must be increasing and distinct, got {list(value)}")
    return tuple(value)


def _forms(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise HyperParamsError(f"{where}: forms must be a non-empty list drawn from {', '.join(FORMS)}, got {value!r}")
    unknown = [form for form in value if form not in FORMS]
    if unknown:
        raise HyperParamsError(f"{where}: unknown form(s) {unknown}; forms are {', '.join(FORMS)}")
    if len(set(value)) != len(value):
        raise HyperParamsError(f"{where}: forms lists a form twice: {list(value)}")
    return tuple(value)


def parse_stage(raw: Any, position: int) -> Stage:
    """One entry of ``stages``; errors name the entry (``stages[1]`` or its name) and the key."""
    where = f"stages[{position}]"
    if not isinstance(raw, Mapping):
        raise HyperParamsError(f"{where}: expected a mapping with keys {', '.join(_REQUIRED_KEYS)}, got {raw!r}")
    unknown = sorted(set(raw) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
    if unknown:
        raise HyperParamsError(
            f"{where}: unknown key(s) {unknown}; a stage has {', '.join(_REQUIRED_KEYS + _OPTIONAL_KEYS)}"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in raw]
    if missing:
        raise HyperParamsError(f"{where}: missing key(s) {missing}")
    name = raw["name"]
    if not isinstance(name, str) or not name.strip():
        raise HyperParamsError(f"{where}: name must be a non-empty string, got {name!r}")
    where = f"stages[{position}] ({name!r})"
    return Stage(
        name=name,
        forms=_forms(where, raw["forms"]),
        layers=_layers(where, raw["layers"]),
        schedule=_choice(where, "schedule", raw.get("schedule", "distributed"), get_args(StageSchedule)),  # type: ignore[arg-type]
        base_method=_choice(where, "base_method", raw.get("base_method", "MEMIT"), get_args(BaseMethod)),  # type: ignore[arg-type]
    )


def parse_stages(raw: Sequence[Any]) -> tuple[Stage, ...]:
    """All stages, checked: at least one, distinct names, no form edited by two stages."""
    if not raw:
        raise HyperParamsError("stages must list at least one stage")
    stages = tuple(parse_stage(entry, position) for position, entry in enumerate(raw))
    names = [stage.name for stage in stages]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise HyperParamsError(f"stages: stage names must be distinct, {duplicated} repeated")
    owner: dict[str, str] = {}
    for stage in stages:
        for form in stage.forms:
            if form in owner:
                raise HyperParamsError(
                    f"stages: form {form!r} is edited by two stages ({owner[form]!r} and {stage.name!r}); "
                    "each form belongs to one stage"
                )
            owner[form] = stage.name
    return stages


def stage_aliases(stage: Stage) -> tuple[str, ...]:
    """Names a layer selector may use for ``stage``'s group: the stage name, its forms joined by
    ``+`` (``formula+description``), and the form itself for a one-form stage."""
    aliases = [stage.name, "+".join(stage.forms)]
    if len(stage.forms) == 1:
        aliases.append(stage.forms[0])
    return tuple(dict.fromkeys(aliases))
