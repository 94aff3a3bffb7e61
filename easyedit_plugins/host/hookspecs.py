"""The hooks a plugin can implement, under pluggy's project name ``easyedit``.

A plugin is any module or object with functions marked ``@hookimpl`` whose names match the
specifications below. The package's own methods are registered exactly the same way, from
:mod:`easyedit_plugins.plugin`. Third-party packages expose theirs through the
entry-point group ``easyedit_plugins``::

    [project.entry-points.easyedit_plugins]
    my_method = "my_package.plugin"
"""

from __future__ import annotations

from typing import Any

import pluggy

from ..specs import DatasetSpec, EvaluatorSpec, LayerSelection, LayerSelectorSpec, MethodSpec

PROJECT_NAME = "easyedit"
ENTRY_POINT_GROUP = "easyedit_plugins"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def easyedit_register_methods() -> list[MethodSpec]:
    """Return the editing methods this plugin provides.

    Each becomes an ``alg_name`` in EasyEdit's ``ALG_DICT`` once installed, with its editing
    function wrapped in EasyEdit's ``apply`` contract by the host.
    """


@hookspec
def easyedit_register_datasets() -> list[DatasetSpec]:
    """Return the datasets this plugin can load (added to EasyEdit's ``DS_DICT`` when they
    carry a ``dataset_class``)."""


@hookspec
def easyedit_register_evaluators() -> list[EvaluatorSpec]:
    """Return the evaluators (metrics and judges) this plugin provides.

    A judge is an evaluator named ``judge.<name>`` with ``kind="judge"`` whose ``evaluate`` is
    ``(prediction, target, question=None) -> bool``; ``easyedit-plugins ruleedit --judge <name>``
    grades with it.
    """


@hookspec
def easyedit_register_layer_selectors() -> list[LayerSelectorSpec]:
    """Return the layer selectors this plugin implements in :func:`easyedit_select_layers`."""


@hookspec(firstresult=True)
def easyedit_select_layers(
    selector: str,
    model: Any,
    tok: Any,
    requests: list[dict[str, Any]],
    hparams: Any,
) -> LayerSelection | None:
    """Choose the layers ``hparams`` should edit, if ``selector`` is yours; else return None.

    Called by the host before a method edits when its hyperparameters name a selector in
    ``layer_selection``. The first plugin to return a selection wins. ``requests`` are the
    requests about to be edited; a selector may instead (or also) use a proxy set named in
    ``hparams``.
    """
