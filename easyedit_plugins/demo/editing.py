"""Applying a demo edit through EasyEdit's ``BaseEditor`` when it is importable, else directly.

Facts go through ``BaseEditor.edit`` exactly as a user's script would call it (one request at
a time, edits kept). A rule goes through the editor's own method table (``editor.apply_algo``)
in ONE call: ``edit()`` rebuilds requests from prompts and targets and drops the ``form`` tag
DMLE routes by, and DMLE edits the formula and description cases of a rule together.

Without EasyEdit the same apply functions are called directly (the package's own path). Either
way the model's state is snapshotted first and restored afterwards, so every method edits the
unedited model.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager, nullcontext
from typing import Any, Iterator

import torch

from ..easyedit_bridge import EasyEditHandle, load_easyedit
from ..host.install import apply_function
from ..host.manager import get_registry
from ..testing.legacy_cpu import LegacyCudaToCpu
from .scenario import DemoEdit

logger = logging.getLogger(__name__)


#: ``transformer.h.2.mlp.c_proj.weight`` -> layer 2, module ``mlp.c_proj``.
_LAYER_PARAMETER = re.compile(r"\.(\d+)\.(.+)\.(?:weight|bias)$")


@contextmanager
def restored_afterwards(model: torch.nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """Snapshot every parameter; put them back when the block ends (the demo's models are small).

    Yields the snapshot, so that :func:`written_layers` can say what the block changed.
    """
    snapshot = {name: value.detach().clone() for name, value in model.state_dict().items()}
    try:
        yield snapshot
    finally:
        model.load_state_dict(snapshot)


def written_layers(model: torch.nn.Module, snapshot: dict[str, torch.Tensor]) -> dict[int, list[str]]:
    """The layers whose weights differ from ``snapshot``, each with the modules that changed.

    Read from the weights themselves, not from the method's settings: it is what the edit
    actually wrote (BLUE: the first and last critical layer; LGA: the layers it chose).
    """
    written: dict[int, set[str]] = {}
    for name, value in model.state_dict().items():
        match = _LAYER_PARAMETER.search(name)
        if match and not torch.equal(value, snapshot[name]):
            written.setdefault(int(match.group(1)), set()).add(match.group(2))
    return {layer: sorted(modules) for layer, modules in sorted(written.items())}


def describe_written(written: dict[int, list[str]]) -> str:
    """``layers [0, 2] (mlp.c_proj)``, or each layer's modules where they differ."""
    if not written:
        return "no layer"
    modules = {tuple(names) for names in written.values()}
    if len(modules) == 1:
        return f"layers {list(written)} ({', '.join(next(iter(modules)))})"
    return "; ".join(f"layer {layer} ({', '.join(names)})" for layer, names in written.items())


def editor_label(handle: EasyEditHandle | None) -> str:
    return f"EasyEdit {handle.generation} BaseEditor" if handle is not None else "easyedit-plugins (EasyEdit not installed)"


def _easyedit_device(handle: EasyEditHandle) -> tuple[Any, Any]:
    """The ``device`` to give EasyEdit, and the context its edits must run in."""
    if handle.generation == "2026":
        return "cpu", nullcontext()
    # The 2023 release moves everything to cuda:{device}; on a machine without CUDA the demo
    # redirects that to the CPU.
    return 0, (nullcontext() if torch.cuda.is_available() else LegacyCudaToCpu())


def apply_edit(edit: DemoEdit, model: torch.nn.Module, tok: Any, use_easyedit: bool = True) -> str:
    """Edit ``model`` in place as ``edit`` says; returns which path did it."""
    handle = load_easyedit() if use_easyedit else None
    if handle is None:
        apply = apply_function(get_registry().method(edit.hparams.alg_name))
        batches = [edit.requests] if edit.kind == "rule" else [[r] for r in edit.requests]
        for batch in batches:
            apply(model, tok, [dict(r) for r in batch], edit.hparams)
        return editor_label(None)
    device, context = _easyedit_device(handle)
    hparams = edit.hparams.replace(model_name=(model, tok), device=device)
    with context:
        editor = handle.base_editor.from_hparams(hparams)
        editor.model_name = str(edit.hparams.model_name)  # EasyEdit's evaluation reads it as a string
        if edit.kind == "rule":
            editor.apply_algo(model, tok, [dict(r) for r in edit.requests], hparams, copy=False)
        else:
            keep = {"sequential_edit": True} if handle.generation == "2026" else {"keep_original_weight": False}
            editor.edit(
                prompts=[r["prompt"] for r in edit.requests],
                target_new=[r["target_new"] for r in edit.requests],
                ground_truth=[r["ground_truth"] for r in edit.requests],
                subject=[r["subject"] for r in edit.requests],
                verbose=False,
                **keep,
            )
    return editor_label(handle)
