"""One LGA layer search: proxy items, scores, then layers for the method's flat list or stages.

Used by the ``lga`` layer selector (:func:`lga_select_layers`, called by the host before an
edit) and by the ``easyedit-plugins lga`` command, which writes the result into a
hyperparameter file instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch

from ...core.archspec import ArchSpec
from ...specs import LayerSelection
from .choose import LayerChoice, choose_layers, layers_to_choose
from .groups import StageGroup, stage_groups
from .hparams import LGAHyperParams
from .proxy import load_proxy_requests, proxy_items
from .record import save_selection
from .scores import LayerScores, lga_scores

logger = logging.getLogger(__name__)

#: The key of the single group of a method that edits one list of layers.
FLAT = "all"

#: The value of a method's ``layer_selection`` that asks for LGA.
SELECTOR_NAME = "lga"


@dataclass(frozen=True)
class EditTarget:
    """What a search fills in: the method's ``layers``, or the layers of each of its stages."""

    layers: tuple[int, ...] = ()
    stages: tuple[StageGroup, ...] = ()
    #: The form a staged method gives requests without a ``form`` tag (DMLE's ``untagged_form``).
    untagged_form: str | None = None

    @classmethod
    def of(cls, hparams: Any) -> "EditTarget":
        """From a method's hyperparameters (an object or a plain mapping)."""
        get = hparams.get if isinstance(hparams, Mapping) else lambda key: getattr(hparams, key, None)
        return cls(
            layers=tuple(get("layers") or ()),
            stages=stage_groups(get("stages")),
            untagged_form=get("untagged_form"),
        )

    def forms(self) -> set[str | None] | None:
        """The forms of the proxy items a staged search uses (None: a flat search uses all)."""
        if not self.stages:
            return None
        return {form for group in self.stages for form in group.scored_forms(self.untagged_form)}


@dataclass
class LGAReport:
    """A finished search: the scores, the choice per group, and the settings behind them."""

    config: LGAHyperParams
    scores: LayerScores
    #: ``{"all": choice}`` for a flat method, ``{stage name: choice}`` for a staged one.
    choices: dict[str, LayerChoice]
    group_scores: dict[str, list[float]]
    group_sizes: dict[str, int]
    proxy_source: str

    @property
    def staged(self) -> bool:
        return FLAT not in self.choices

    @property
    def layers(self) -> list[int] | dict[str, list[int]]:
        if not self.staged:
            return list(self.choices[FLAT].layers)
        return {name: list(choice.layers) for name, choice in self.choices.items()}

    def to_selection(self) -> LayerSelection:
        groups = {
            name: {
                "layers": choice.layers,
                "best": choice.best,
                "kept": choice.kept,
                "fences": {"low": choice.fences.low, "high": choice.fences.high,
                           "q1": choice.fences.q1, "q3": choice.fences.q3, "k": choice.fences.k},
                "proxy_items": self.group_sizes[name],
            }
            for name, choice in self.choices.items()
        }
        details = {
            "groups": groups,
            "proxy_source": self.proxy_source,
            "proxy_items": self.scores.count(),
            "predicted_original_answers": sum(self.scores.predicted),
            "weights": self.scores.weights,
            "modules": self.scores.modules,
            "seconds": round(self.scores.seconds, 3),
            "settings": {key: value for key, value in self.config.to_dict().items() if key != "model_name"},
        }
        return LayerSelection(selector=SELECTOR_NAME, layers=self.layers, scores=dict(self.group_scores), details=details)


def run_lga(
    model: torch.nn.Module,
    tok: Any,
    requests: Sequence[Mapping[str, Any]],
    config: LGAHyperParams,
    target: EditTarget,
    *,
    spec: ArchSpec | None = None,
    proxy_source: str = "requests",
    progress: bool = False,
) -> LGAReport:
    """Score the layers on ``requests`` (sampled as ``config`` says) and choose for ``target``."""
    items = proxy_items(
        requests, size=config.proxy_size, fraction=config.proxy_fraction, seed=config.seed, forms=target.forms()
    )
    scores = lga_scores(
        model, tok, items, weights=config.weights, original_answer=config.original_answer,
        batch_size=config.proxy_batch_size, spec=spec, progress=progress,
    )
    choices: dict[str, LayerChoice] = {}
    totals: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    if not target.stages:
        totals[FLAT] = scores.total()
        sizes[FLAT] = scores.count()
        count = layers_to_choose(config.selection, target.layers, config.num_layers)
        choices[FLAT] = choose_layers(totals[FLAT], config.selection, count, tukey_k=config.tukey_k, rank_by=config.rank_by)
    for group in target.stages:
        forms = group.scored_forms(target.untagged_form)
        sizes[group.name] = scores.count(forms)
        if not sizes[group.name]:
            raise ValueError(
                f"no proxy request has a form of stage {group.name!r} ({', '.join(group.forms)}); "
                "form-aware groups need requests tagged with 'form' (RuleEdit-200, the world's rule edits)"
            )
        totals[group.name] = scores.total(forms)
        count = layers_to_choose(config.group_selection, group.layers)
        choices[group.name] = choose_layers(
            totals[group.name], config.group_selection, count, tukey_k=config.tukey_k, rank_by=config.rank_by
        )
    report = LGAReport(config, scores, choices, totals, sizes, proxy_source)
    for name, choice in choices.items():
        logger.info(
            "LGA %s: layers %s (best %d; kept %s by the fences [%.4g, %.4g]); scores %s",
            name, choice.layers, choice.best, choice.kept, choice.fences.low, choice.fences.high,
            ", ".join(f"{value:.4g}" for value in totals[name]),
        )
    return report


def lga_select_layers(model: torch.nn.Module, tok: Any, requests: list[dict[str, Any]], hparams: Any) -> LayerSelection:
    """The ``lga`` layer selector: what the host's ``easyedit_select_layers`` hook returns.

    Settings come from ``hparams.layer_selection_config``; the proxy set from its
    ``proxy_data``, or else ``requests`` (the requests about to be edited: the host caches the
    selection per model, so the first edit's requests then decide for every later edit).
    """
    config = LGAHyperParams.from_selection_config(getattr(hparams, "layer_selection_config", None))
    target = EditTarget.of(hparams)
    if config.proxy_data:
        proxy = load_proxy_requests(config.proxy_data, staged=bool(target.stages))
        source = config.proxy_data
    else:
        logger.info(
            "LGA has no proxy_data: scoring the %d request(s) about to be edited; the choice is cached "
            "for this model and reused by its later edits", len(requests),
        )
        proxy, source = requests, "requests being edited"
    spec = hparams.arch(model) if hasattr(hparams, "arch") else None
    report = run_lga(model, tok, proxy, config, target, spec=spec, proxy_source=source)
    selection = report.to_selection()
    if config.output_dir:
        path = save_selection(selection, config.output_dir, model)
        selection.details["saved_to"] = str(path)
        logger.info("LGA selection saved to %s", path)
    return selection
