"""DMLE: Distributed Multi-Layer Editing of rule-level knowledge (arXiv 2604.08284).

The forms of a rule are stored in different layers: formulas and natural-language descriptions
early, numerical instances in the middle. DMLE writes each group of forms into its own layer
group with a MEMIT batch edit, stage after stage on the same model (:mod:`.edit`). Requests are
routed to stages by their ``form`` tag (:mod:`.routing`); the stages are configured in the
hyperparameters (:mod:`.stages`, :mod:`.hparams`).
"""

from .edit import dmle_edit
from .hparams import DMLEHyperParams
from .routing import RoutingError, route_requests
from .stages import DEFAULT_STAGES, FORMS, Stage, parse_stages

__all__ = [
    "DEFAULT_STAGES",
    "FORMS",
    "DMLEHyperParams",
    "RoutingError",
    "Stage",
    "dmle_edit",
    "parse_stages",
    "route_requests",
]
