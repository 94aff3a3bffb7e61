"""The settings of an LGA layer search (:class:`LGAHyperParams`).

A method asks for LGA by writing ``layer_selection: lga`` in its own hyperparameters;
``layer_selection_config`` then holds these settings inline (a mapping) or names an LGA YAML
file. Every field has a default, so ``layer_selection: lga`` alone is a valid request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

from ...hparams import HyperParamsError, PluginHyperParams

#: ``top1``: the golden layer (the paper's rule); ``topk``: the ``num_layers`` best layers;
#: ``window``: ``num_layers`` consecutive layers centred on the best one.
SelectionRule = Literal["top1", "topk", "window"]

#: What "best" means: the largest signed score (the reconstructed paper rule), the most
#: negative one, or the largest magnitude.
RankBy = Literal["signed", "negated", "absolute"]

#: ``mlp_out``: the MLP output projection, the matrix MEMIT-style methods write;
#: ``mlp_all``: every weight matrix of the MLP (input, gate where there is one, output).
ScoredWeights = Literal["mlp_out", "mlp_all"]

#: ``ground_truth``: the dataset's answer (the model's own prediction where the dataset has
#: none); ``prediction``: the model's greedy continuation, as many tokens as the new target.
OriginalAnswer = Literal["ground_truth", "prediction"]


@dataclass(kw_only=True)
class LGAHyperParams(PluginHyperParams):
    """Layer Gradient Analysis (arXiv 2602.20207) as a layer selector."""

    ALG_NAME = "LGA"

    #: Not needed by a selector (it gets the model from the method); kept for the base class.
    model_name: Any = ""

    #: Where the proxy requests come from: an EasyEdit-style JSON/JSONL list of requests, the
    #: RuleEdit-200 zip or folder, or ``world:<preset>/<arch>[/<seed>]`` (the miniature world's
    #: fact edits, or its rule edits when the method edits in stages). Relative paths are read
    #: from the working directory. Without it, the requests about to be edited are the proxy
    #: set; as the host caches a selection per model, the layers are then chosen once, from the
    #: FIRST edit's requests, and kept for the model's later edits.
    proxy_data: str | None = None
    #: Use this many proxy requests (a seeded random sample); ``None``: all of them.
    proxy_size: int | None = None
    #: Or this fraction of them (the paper uses about 10% of a dataset).
    proxy_fraction: float | None = None
    #: Seed of the proxy sample; the scores are a deterministic function of it.
    seed: int = 0
    #: Proxy requests scored per forward/backward pass.
    proxy_batch_size: int = 8

    original_answer: OriginalAnswer = "ground_truth"
    weights: ScoredWeights = "mlp_out"

    #: Tukey's ``k``: layers outside ``[Q1 - k IQR, Q3 + k IQR]`` of the scores are dropped
    #: before ranking; ``null`` (the default) keeps every layer. The reconstructed paper rule
    #: (``tukey_k: 1``, ``rank_by: signed``) drops the first and last layers, whose gradients are
    #: largest; the default is instead the reading the brute-force benchmark favours (most
    #: negative score, no fences: brute force's layer in 7 of 8 miniature world models, regret
    #: 0.005 against 0.129 for the paper rule), which there always meant layer 0
    #: (docs/methods.md, "Which reading is the default").
    tukey_k: float | None = None
    #: ``negated`` (the default): the layer where the old and the new answer's gradients
    #: conflict most.
    rank_by: RankBy = "negated"
    selection: SelectionRule = "top1"
    #: Layers to choose for ``topk``/``window``; ``null``: as many as the method lists now
    #: (the span of its ``layers`` for ``window``, so BLUE's ``[4, 8]`` asks for 5 layers).
    num_layers: int | None = None
    #: The rule for each stage group of a staged method (DMLE), sized like the stage's list.
    group_selection: SelectionRule = "window"

    #: Where to save the chosen layers and the scores as JSON (nothing is saved without it).
    output_dir: str | None = None

    def validate(self) -> None:
        super().validate()
        if self.proxy_size is not None and self.proxy_size < 1:
            raise HyperParamsError(f"proxy_size must be at least 1, got {self.proxy_size}")
        if self.proxy_fraction is not None and not 0.0 < self.proxy_fraction <= 1.0:
            raise HyperParamsError(f"proxy_fraction must be in (0, 1], got {self.proxy_fraction}")
        if self.proxy_size is not None and self.proxy_fraction is not None:
            raise HyperParamsError("set proxy_size or proxy_fraction, not both")
        if self.proxy_batch_size < 1:
            raise HyperParamsError(f"proxy_batch_size must be at least 1, got {self.proxy_batch_size}")
        if self.tukey_k is not None and self.tukey_k < 0:
            raise HyperParamsError(f"tukey_k must be non-negative or null, got {self.tukey_k}")
        if self.num_layers is not None and self.num_layers < 1:
            raise HyperParamsError(f"num_layers must be at least 1, got {self.num_layers}")

    @classmethod
    def from_selection_config(cls, config: Mapping[str, Any] | str | Path | None) -> "LGAHyperParams":
        """The settings a method's ``layer_selection_config`` gives: a mapping, a file, or none."""
        if config is None:
            return cls()
        if isinstance(config, Mapping):
            return cls.from_dict(dict(config), source="layer_selection_config")
        return cls.from_hparams(config)
