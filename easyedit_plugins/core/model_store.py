"""Everything the package remembers about one model object, in one place.

Several parts of an edit are worth computing once per model and reusing on the next call: the
context templates sampled from it (:mod:`.context`), its key statistics and fingerprint
(:mod:`.covariance`), AlphaEdit's running key moments and projectors (:mod:`.model_state`), a
layer selector's choice (:mod:`easyedit_plugins.host.selection`). Each keeps its entry under a
name of its own in :func:`model_slot`.

The table holds the models by weak reference: the entry of a model goes away with the model,
so a process that loads and drops many models (a benchmark reloading per rule) does not keep
their statistics alive. It is a table and not an attribute on the model because a model may
be a third party's object that refuses new attributes, and because ``copy.deepcopy`` of the
model (EasyEdit's ``copy=True``) must not carry the state over to the copy.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, TypeVar

T = TypeVar("T")

_store: "weakref.WeakKeyDictionary[Any, dict[str, Any]]" = weakref.WeakKeyDictionary()


def model_slot(model: Any, name: str, create: Callable[[], T]) -> T:
    """The entry ``name`` of ``model``, made by ``create()`` on first use."""
    slots = _store.setdefault(model, {})
    if name not in slots:
        slots[name] = create()
    return slots[name]


def forget_model(model: Any) -> None:
    """Drop everything remembered about ``model`` (it is also dropped when the model is)."""
    _store.pop(model, None)


def remembered_models() -> int:
    """How many models have entries now (for tests and diagnostics)."""
    return len(_store)
