"""The records plugins hand to the host: one per method, dataset, evaluator or layer selector.

They are plain frozen dataclasses, so a third-party plugin needs nothing from this package but
these classes and the ``hookimpl`` marker to register its own entries. They sit below both the
methods and the layer selectors (a selector returns a :class:`LayerSelection`) and below the
host that collects them, so none of those has to import another to agree on a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from .core.weights import EditOutcome


class EditFunction(Protocol):
    """A method's editing function: change ``model`` in place for ``requests``.

    ``requests`` are EasyEdit request dictionaries (``prompt``, ``subject``, ``target_new``,
    ...). The function returns an :class:`~easyedit_plugins.core.weights.EditOutcome` holding
    the pre-edit value of every parameter it changed. It never has to deal with EasyEdit's
    ``apply`` conventions (padding side, ``weights_copy``, extra keyword arguments): the host
    wraps it.
    """

    def __call__(self, model: Any, tok: Any, requests: list[dict[str, Any]], hparams: Any) -> EditOutcome: ...


@dataclass(frozen=True)
class MethodSpec:
    """An editing method.

    ``name`` is the ``alg_name`` EasyEdit looks up in its ``ALG_DICT``; ``batchable`` says
    whether EasyEdit's ``batch_edit`` may hand it several requests at once.
    """

    name: str
    hparams_class: type
    edit: EditFunction
    batchable: bool
    description: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: ``load(path, **options)`` returns what the dataset module documents.

    ``dataset_class`` (optional) is a class EasyEdit's ``edit_dataset`` accepts; it is added to
    EasyEdit's ``DS_DICT`` under ``name``.
    """

    name: str
    load: Callable[..., Any]
    description: str = ""
    dataset_class: type | None = None


#: An evaluator named ``judge.<name>`` with ``kind="judge"`` is the judge ``--judge <name>`` picks.
JUDGE_PREFIX = "judge."


@dataclass(frozen=True)
class EvaluatorSpec:
    """A metric or judge: ``evaluate(**inputs)`` as its description documents.

    A judge (``kind="judge"``, named ``JUDGE_PREFIX + name``) is called as
    ``evaluate(prediction, target, question=None) -> bool``.
    """

    name: str
    evaluate: Callable[..., Any]
    description: str = ""
    kind: str = "metric"


@dataclass(frozen=True)
class LayerSelectorSpec:
    """A layer-selection strategy a method can name in ``layer_selection``."""

    name: str
    description: str = ""
    hparams_class: type | None = None


@dataclass
class LayerSelection:
    """A layer selector's answer.

    ``layers`` holds the chosen layers, or one list per group (``{"formula+description": [...],
    "instance": [...]}``) for methods that edit in stages; ``scores`` the per-layer scores it
    ranked by, and ``details`` anything worth saving next to them.
    """

    selector: str
    layers: list[int] | dict[str, list[int]]
    scores: dict[str, list[float]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
