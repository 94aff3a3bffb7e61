"""Saving a layer selection: JSON in ``output_dir``, written atomically.

The file is named after the model and its fingerprint (configuration and a weight sample), so
two models searched into the same folder never overwrite each other's choice, and the same
model searched again replaces its previous file.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from torch import nn

from ...core.files import write_text_atomically
from ...core.fingerprint import model_fingerprint
from ...core.stats_store import model_label
from ...specs import LayerSelection


def selection_path(output_dir: str | Path, model: nn.Module) -> Path:
    config = getattr(model, "config", None)
    label = model_label(getattr(config, "_name_or_path", None), getattr(config, "model_type", None))
    return Path(output_dir) / f"lga-{label}-{model_fingerprint(model)[:12]}.json"


def save_selection(selection: LayerSelection, output_dir: str | Path, model: nn.Module, **extra: Any) -> Path:
    """Write ``selection`` (and ``extra`` entries) as JSON into ``output_dir``; return the path."""
    record = {**dataclasses.asdict(selection), **extra}
    return write_text_atomically(selection_path(output_dir, model), json.dumps(record, indent=2, default=str) + "\n")
