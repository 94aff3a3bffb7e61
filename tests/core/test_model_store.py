"""The per-model store: one entry per model object, gone with the model."""

from __future__ import annotations

import copy
import gc

from easyedit_plugins.core.context import context_templates
from easyedit_plugins.core.model_state import edit_state
from easyedit_plugins.core.model_store import forget_model, model_slot, remembered_models
from easyedit_plugins.testing import tiny_model


def test_a_slot_is_made_once_per_model_and_name():
    model, _ = tiny_model("gpt2", layers=2)
    first = model_slot(model, "test", list)
    first.append(1)
    assert model_slot(model, "test", list) is first
    assert model_slot(model, "other", list) is not first
    copied = copy.deepcopy(model)
    assert model_slot(copied, "test", list) == []


def test_the_state_of_every_part_lives_in_the_store():
    model, tok = tiny_model("gpt2", layers=2)
    assert edit_state(model) is model_slot(model, "alphaedit", dict)
    templates = context_templates(model, tok, length_params=[(3, 1)])
    assert templates in model_slot(model, "context_templates", dict).values()
    forget_model(model)
    assert model_slot(model, "alphaedit", list) == []


def test_a_dropped_model_frees_its_entry():
    gc.collect()
    before = remembered_models()
    model, _ = tiny_model("gpt2", layers=2)
    edit_state(model)
    assert remembered_models() == before + 1
    del model
    gc.collect()
    assert remembered_models() == before
