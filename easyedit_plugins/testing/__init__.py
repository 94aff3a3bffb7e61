"""Offline models for tests, examples and the demo (nothing here downloads).

* :func:`tiny_model` / :func:`save_tiny_model`: random-weight models of every supported
  architecture, for mechanics;
* :func:`load_world_model`: small models trained on the synthetic miniature world, for
  behaviour (do edits take, generalise, stay local).
"""

from .tiny import available_architectures, save_tiny_model, tiny_model
from .tokenizer import train_tokenizer
from .world import WorldModel, load_world_model, world_model_factory, world_statistics_corpus

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
