"""Value ranges every hyperparameter class gets checked against when it is built or loaded.

A NaN learning rate trains nothing and reports nothing wrong; a negative one climbs the loss;
``v_num_grad_steps: 0`` optimises no target and MEMIT writes the unedited output back;
``batch_size: 0`` or ``mom2_n_samples: 0`` fail far from the file that said so. These keys mean
the same thing in every method (EasyEdit's names), so one table checks them for all of them,
including third-party subclasses of :class:`~easyedit_plugins.hparams.PluginHyperParams`;
relations between keys stay in each class's ``validate``.

The rules, applied to the fields a class has:

* every float (also inside lists and tuples) is finite: no NaN, no infinity;
* learning rates (``lr``, ``*_lr``) are positive;
* weights, decays, factors, regularisers and thresholds (the keys in :data:`NON_NEGATIVE`, and
  ``*_weight``/``*weight_decay``) are 0 or more;
* counts and sizes (:data:`AT_LEAST_ONE`) are at least 1 (``null`` stays allowed where the
  type allows it: ``mom2_n_samples: null`` means the whole corpus);
* layer indices (:data:`LAYER_INDICES`) are 0 or more (the upper bound needs the model:
  :mod:`easyedit_plugins.core.validation` checks it when the edit starts).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

NON_NEGATIVE = frozenset({
    "kl_factor", "clamp_norm_factor", "L2", "adam_eps", "nullspace_threshold", "nullspace_relative_threshold",
    "tukey_k", "mom2_update_weight", "v_weight_decay", "weight_decay", "contrastive_weight",
})
AT_LEAST_ONE = frozenset({
    "v_num_grad_steps", "batch_size", "mom2_n_samples", "z_requests_per_batch", "stats_max_length", "max_length",
})

LAYER_INDICES = frozenset({"layers", "v_loss_layer"})


def _is_learning_rate(name: str) -> bool:
    return name == "lr" or name.endswith("_lr")


def _is_non_negative(name: str) -> bool:
    return name in NON_NEGATIVE or name.endswith(("_weight", "weight_decay"))


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_non_finite(item) for item in value)
    return False


def range_problem(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be right for key ``name``, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if name in LAYER_INDICES:
        indices = value if isinstance(value, (list, tuple)) else [value]
        negative = [index for index in indices if isinstance(index, int) and index < 0]
        return f"holds layer indices, which start at 0; got {negative}" if negative else None
    if _non_finite(value):
        return f"must be a finite number, got {value!r}"
    if not isinstance(value, (int, float)):
        return None
    if _is_learning_rate(name) and value <= 0:
        return f"is a learning rate and must be positive, got {value!r}"
    if _is_non_negative(name) and value < 0:
        return f"must be 0 or more, got {value!r}"
    if name in AT_LEAST_ONE and value < 1:
        return f"must be at least 1, got {value!r}"
    return None


def check_value_ranges(hparams: Any, error: type[Exception]) -> None:
    """Raise ``error`` naming the first key of the dataclass ``hparams`` whose value is out of range."""
    for f in dataclasses.fields(hparams):
        problem = range_problem(f.name, getattr(hparams, f.name))
        if problem is not None:
            raise error(f"key {f.name!r} {problem}")
