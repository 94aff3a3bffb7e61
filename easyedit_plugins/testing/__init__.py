"""Offline models and helpers for tests, examples and benchmarks (nothing here downloads).

* :func:`tiny_model` / :func:`save_tiny_model`: random-weight models of every supported
  architecture, for mechanics;
* :func:`world_model_factory`: trained world models for session fixtures, a copy per test;
* :class:`~.legacy_cpu.LegacyCudaToCpu`: the 2023 EasyEdit release on a machine without a GPU.

The trained miniature world (models that know invented facts, for behaviour) is a run-time
feature of its own, :mod:`easyedit_plugins.world`; its loaders are re-exported here because
tests and examples written before it moved import them from this package.
"""

from ..world import WorldModel, load_world_model, world_statistics_corpus
from ..world.tokenizer import train_tokenizer
from .tiny import available_architectures, save_tiny_model, tiny_model
from .world_factory import world_model_factory

__all__ = [
    "WorldModel",
    "available_architectures",
    "load_world_model",
    "save_tiny_model",
    "tiny_model",
    "train_tokenizer",
    "world_model_factory",
    "world_statistics_corpus",
]
