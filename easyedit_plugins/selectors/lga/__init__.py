"""LGA: Layer Gradient Analysis (arXiv 2602.20207), a layer selector for locate-then-edit methods.

The paper's finding: a fixed "golden layer" per model and method edits almost as well as the
best layer chosen per request by brute force, and it can be found on a small proxy set. LGA
scores every layer by ``S_l = sum_i <g_old_i, g_new_i>``, the inner products of the gradients of
the original answer's and the new target's NLL with respect to the layer's MLP weights
(:mod:`.scores`, computed in factored form, :mod:`.gradients`), optionally drops layers outside
Tukey's fences (:mod:`.tukey`) and picks the best-ranked layer, or several (:mod:`.choose`); for
staged methods (DMLE) one group per stage, scored on the stage's forms only (:mod:`.groups`).
Which reading of ``S_l`` is the default, and the evidence for it: docs/methods.md, section 3.

A method uses it with ``layer_selection: lga`` (settings: :class:`LGAHyperParams`, inline in
``layer_selection_config`` or in a file it names); ``easyedit-plugins lga`` writes a ready
hyperparameter file instead.
"""

from .choose import LayerChoice, choose_layers, layers_to_choose, window_around
from .groups import StageGroup, stage_groups
from .hparams import LGAHyperParams
from .proxy import ProxyDataError, ProxyItem, load_proxy_requests, proxy_items
from .scores import LayerScores, lga_scores
from .search import SELECTOR_NAME, EditTarget, LGAReport, lga_select_layers, run_lga
from .tukey import TukeyFences, tukey_fences

__all__ = [
    "SELECTOR_NAME",
    "EditTarget",
    "LGAHyperParams",
    "LGAReport",
    "LayerChoice",
    "LayerScores",
    "ProxyDataError",
    "ProxyItem",
    "StageGroup",
    "TukeyFences",
    "choose_layers",
    "layers_to_choose",
    "lga_scores",
    "lga_select_layers",
    "load_proxy_requests",
    "proxy_items",
    "run_lga",
    "stage_groups",
    "tukey_fences",
    "window_around",
]
