"""Offline model builders for tests, examples and the demo (nothing here downloads)."""

from .tiny import available_architectures, save_tiny_model, tiny_model
from .tokenizer import train_tokenizer

__all__ = ["available_architectures", "save_tiny_model", "tiny_model", "train_tokenizer"]
