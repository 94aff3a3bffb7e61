"""Hyperparameters of PAC (Parameter-Aware Contrastive editing, ACL 2025).

Defaults are the paper's and its authors' code (``SonglinZhai/PAC``, ``pac.py`` and the
``run_*.sh`` scripts): N = 15 critical keys and values per layer, M = 1 negative key and value,
lambda = 0.1, re-tracing every eta = 2 epochs, mini-batches of 2, Adam with lr 1e-5 and no
weight decay, 12 epochs, every layer's FFN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from ...hparams import HyperParamsError, PluginHyperParams

OptimizerMode = Literal["exact", "shared"]


@dataclass(kw_only=True)
class PACHyperParams(PluginHyperParams):
    """PAC's settings; EasyEdit's own fields (``model_name``, ``device``, ...) come from the base.

    EasyEdit's ``batch_size`` must stay 1 for ``BaseEditor.edit``; PAC's own mini-batch is
    :attr:`mini_batch_size`.
    """

    ALG_NAME: ClassVar[str] = "PAC"

    #: Layers whose FFN keys and values may change; ``None`` means every layer, as in the paper
    #: (its finding is that knowledge is spread over all layers).
    layers: list[int] | None = None
    #: N: the critical keys, and independently the critical values, per layer.
    n_critical: int = 15
    #: M: the negative (least important) keys and values per layer.
    n_negative: int = 1
    #: lambda: weight of the contrastive loss toward the unedited model's own predictions.
    contrastive_weight: float = 0.1
    #: eta: trace the critical paths again every this many epochs (the first epoch always traces).
    trace_interval: int = 2
    num_epochs: int = 12
    #: Requests per optimisation step; each mini-batch takes two steps (edit, then contrastive).
    mini_batch_size: int = 2
    lr: float = 1e-5
    #: PyTorch's Adam defaults, which the authors' code uses.
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    #: ``exact``: only the selected keys/values ever move, each with its own Adam moments (see
    #: :mod:`.train`). ``shared``: the authors' single Adam over the whole matrices with masked
    #: gradients, where stale momentum keeps moving entries selected earlier.
    optimizer_mode: OptimizerMode = "exact"
    #: Also train the FFN biases the way the authors' GPT-J code does: the input bias entries of
    #: the selected neurons and the whole output bias (it belongs to no single neuron).
    train_biases: bool = False
    #: Shuffle the edit set every epoch (the authors' data loader does), seeded by :attr:`seed`.
    shuffle: bool = True
    seed: int = 0
    #: Keep the pre-edit copies of the edited matrices in CPU memory: PAC touches the FFN of
    #: every layer, about two thirds of a 7-8B model's weights.
    offload_originals: bool = True
    #: Module-name templates (``{}`` = layer) of the FFN input and output projections; the
    #: architecture table is used when they are not given.
    mlp_in_module_tmp: str | None = None
    mlp_out_module_tmp: str | None = None

    def validate(self) -> None:
        positive = {
            "num_epochs": self.num_epochs,
            "trace_interval": self.trace_interval,
            "mini_batch_size": self.mini_batch_size,
            "n_critical": self.n_critical,
        }
        for key, value in positive.items():
            if value < 1:
                raise HyperParamsError(f"key {key!r} must be at least 1, got {value}")
        if self.n_negative < 0:
            raise HyperParamsError(f"key 'n_negative' must be 0 or more, got {self.n_negative}")
        if self.contrastive_weight < 0:
            raise HyperParamsError(f"key 'contrastive_weight' must be 0 or more, got {self.contrastive_weight}")
        if self.lr <= 0:
            raise HyperParamsError(f"key 'lr' must be positive, got {self.lr}")
        if not all(0 <= beta < 1 for beta in self.adam_betas):
            raise HyperParamsError(f"key 'adam_betas' must lie in [0, 1), got {self.adam_betas}")
        if self.layers is not None and (not self.layers or min(self.layers) < 0):
            raise HyperParamsError(f"key 'layers' must be null or a non-empty list of layer indices, got {self.layers}")

    def module_overrides(self) -> dict[str, str]:
        """The FFN module templates given, as overrides for :func:`~easyedit_plugins.core.archspec.arch_spec`."""
        given = {"mlp_in": self.mlp_in_module_tmp, "mlp_out": self.mlp_out_module_tmp}
        return {field: template for field, template in given.items() if template}
