"""Form-aware layer groups for methods that edit in stages (DMLE).

DMLE finds formulas and descriptions of a rule stored early and its numerical instances in the
middle layers, and edits each group of forms on its own layers; deriving those layers from a
layer search per form is the DMLE paper's stated future work. Here every stage of the method's
``stages`` gets its own score, summed over the proxy items of the stage's forms only, and its
own layers, chosen like the stage's current list is sized (a window by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class StageGroup:
    """A stage of the method: its name, the request forms it edits and its current layers."""

    name: str
    forms: tuple[str, ...]
    layers: tuple[int, ...]

    def scored_forms(self, untagged_form: str | None) -> tuple[str | None, ...]:
        """The forms whose items score this group; untagged items (``None``) count as
        ``untagged_form``, as the method routes them."""
        return self.forms + ((None,) if untagged_form in self.forms else ())


def _field(stage: Any, key: str) -> Any:
    return stage.get(key) if isinstance(stage, Mapping) else getattr(stage, key, None)


def stage_groups(stages: Sequence[Any] | None) -> tuple[StageGroup, ...]:
    """The groups of a method's ``stages`` (mappings or objects with name, forms, layers)."""
    groups = []
    for position, stage in enumerate(stages or ()):
        name, forms, layers = (_field(stage, key) for key in ("name", "forms", "layers"))
        if not isinstance(name, str) or not forms:
            raise ValueError(f"stages[{position}] needs a 'name' and a non-empty 'forms' list for LGA's groups, got {stage!r}")
        groups.append(StageGroup(name=name, forms=tuple(forms), layers=tuple(layers or ())))
    return tuple(groups)
