"""The miniature world: small models trained on invented facts and rules, so edits can be measured.

A run-time feature, not a test helper: the demo, LGA's ``world:`` proxy sets, the examples and
the benchmarks all use it. Modules:

* :mod:`.data` builds the invented knowledge base of the ``test`` and ``full`` presets, :mod:`.natural`
  the ``natural`` preset's (subjects not at the end, worked instances, no attention masking);
  :mod:`.names` makes up their names;
* :mod:`.requests` turns it into EasyEdit requests; :mod:`.evaluation` scores a model on it;
* :mod:`.tokenizer` trains the word-level tokenizer, :mod:`.train` the model;
* :mod:`.presets` names the sizes; :mod:`.cache` keeps trained models once per machine;
* :mod:`.model` ties them together (:func:`load_world_model`).
"""

from .model import (
    PRESETS,
    WorldModel,
    idle_cores,
    load_world_model,
    world_model_path,
    world_parameters,
    world_statistics_corpus,
)

__all__ = [
    "PRESETS",
    "WorldModel",
    "idle_cores",
    "load_world_model",
    "world_model_path",
    "world_parameters",
    "world_statistics_corpus",
]
