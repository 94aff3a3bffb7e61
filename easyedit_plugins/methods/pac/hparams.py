"""Hyperparameters of PAC (Parameter-Aware Contrastive editing, ACL 2025).

Defaults are the paper's and its authors' code (``SonglinZhai/PAC``, ``pac.py`` and the
``run_*.sh`` scripts): N = 15 critical keys and values per layer, M = 1 negative key and value,
lambda = 0.1, re-tracing every eta = 2 epochs, mini-batches of 2, Adam with lr 1e-5 and no
weight decay, 12 epochs, every layer's FFN.

Some options are this package's, not the paper's, and all are off by default: ``lr: auto``
(the paper's per-entry drift budget, for edit sets of another size), and the key-drift remedies
measured in ``benchmarks/bench_pac_regimes.py`` (``train_keys``, ``key_max_drift``,
``retain_weight``). See docs/methods.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from ...hparams import HyperParamsError, PluginHyperParams

OptimizerMode = Literal["exact", "shared"]

#: The paper's per-entry drift budget: 12 epochs x 1500 mini-batches (3000 edits, 2 per batch) x
#: Adam's ~lr = 1e-5 movement per step. ``lr: auto`` spends it over the actual number of steps.
PAPER_DRIFT_BUDGET = 0.18


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
    #: Adam's step size, or ``"auto"``: :attr:`drift_budget` / (epochs x mini-batches), see
    #: :meth:`learning_rate`. The default stays the paper's fixed 1e-5.
    lr: float | Literal["auto"] = 1e-5
    #: Used only with ``lr: auto``: how far (about) an always-selected entry may move in a whole
    #: edit, since an Adam step moves an entry by about lr.
    drift_budget: float = PAPER_DRIFT_BUDGET
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
    #: Train the critical keys (the paper). ``False`` trains values only: keys stay bit-exact,
    #: so no neuron can start firing on prompts it ignored before.
    train_keys: bool = True
    #: Bound on each trained key's movement relative to its pre-edit norm: after every step a key
    #: ``k`` with ``|k - k0| > key_max_drift * |k0|`` is pulled back onto that sphere around its
    #: pre-edit value ``k0``. ``None``: unbounded (the paper).
    key_max_drift: float | None = None
    #: Weight of a retention step on the critical keys/values: the NLL of the unedited model's own
    #: greedy predictions on :attr:`retain_per_step` lines of :attr:`retain_corpus` (text unrelated
    #: to the edits), one step after every edit step. 0 (the paper): no such step.
    retain_weight: float = 0.0
    #: A UTF-8 text file, one prompt per line (e.g. the statistics corpus); needed when
    #: :attr:`retain_weight` > 0.
    retain_corpus: str | None = None
    retain_per_step: int = 4

    def learning_rate(self, num_requests: int) -> float:
        """The Adam step size for an edit of ``num_requests`` requests.

        ``lr: auto`` gives ``drift_budget / (num_epochs * ceil(num_requests / mini_batch_size))``:
        the paper's 1e-5 for its 3000 edits, larger for smaller edit sets (7.5e-4 for 40).
        """
        if self.lr != "auto":
            return float(self.lr)
        steps = self.num_epochs * math.ceil(num_requests / self.mini_batch_size)
        return self.drift_budget / steps

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
        if self.lr != "auto" and self.lr <= 0:
            raise HyperParamsError(f"key 'lr' must be positive or 'auto', got {self.lr}")
        if self.drift_budget <= 0:
            raise HyperParamsError(f"key 'drift_budget' must be positive, got {self.drift_budget}")
        if self.key_max_drift is not None and self.key_max_drift < 0:
            raise HyperParamsError(f"key 'key_max_drift' must be null or 0 or more, got {self.key_max_drift}")
        if self.retain_weight < 0:
            raise HyperParamsError(f"key 'retain_weight' must be 0 or more, got {self.retain_weight}")
        if self.retain_weight > 0 and not self.retain_corpus:
            raise HyperParamsError("key 'retain_corpus' must name a text file when 'retain_weight' is positive")
        if self.retain_per_step < 1:
            raise HyperParamsError(f"key 'retain_per_step' must be at least 1, got {self.retain_per_step}")
        if self.key_max_drift is not None and self.optimizer_mode != "exact":
            raise HyperParamsError("key 'key_max_drift' needs optimizer_mode 'exact'")
        if not all(0 <= beta < 1 for beta in self.adam_betas):
            raise HyperParamsError(f"key 'adam_betas' must lie in [0, 1), got {self.adam_betas}")
        if self.layers is not None and (not self.layers or min(self.layers) < 0):
            raise HyperParamsError(f"key 'layers' must be null or a non-empty list of layer indices, got {self.layers}")

    def module_overrides(self) -> dict[str, str]:
        """The FFN module templates given, as overrides for :func:`~easyedit_plugins.core.archspec.arch_spec`."""
        given = {"mlp_in": self.mlp_in_module_tmp, "mlp_out": self.mlp_out_module_tmp}
        return {field: template for field, template in given.items() if template}
