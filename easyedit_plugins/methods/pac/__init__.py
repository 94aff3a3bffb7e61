"""PAC: Parameter-Aware Contrastive knowledge editing (Zhai et al., ACL 2025).

Knowledge sits on *critical transmission paths*: FFN keys (rows of the input projection) and
values (columns of the output projection) across all layers. PAC traces the keys and values the
edit loss depends on most (:mod:`.tracing`), trains only those toward the new target, and trains
the least important ones toward the unedited model's own predictions (the contrastive step), with
exact masking (:mod:`.slices`, :mod:`.exact`) or the authors' shared optimiser (:mod:`.shared`).

Exact masking trains small gathered slices of the selected rows/columns, so no whole matrix ever
has a gradient or optimiser state. Adam's moments are kept per neuron (:mod:`.adam`): at a
re-trace, neurons that stay selected keep their moments and step counts, new ones start fresh,
dropped ones stop moving at once (the shared optimiser's stale momentum would keep moving them).
"""

from .edit import pac_joint_edit, pac_sequential_edit
from .hparams import PACHyperParams
from .tracing import PathSelection, neuron_importance, trace_paths

__all__ = [
    "PACHyperParams",
    "PathSelection",
    "neuron_importance",
    "pac_joint_edit",
    "pac_sequential_edit",
    "trace_paths",
]
