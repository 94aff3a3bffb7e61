"""Hyperparameters shared by the methods built on the locate-then-edit engine (BLUE, DMLE).

The names are EasyEdit's MEMIT/AlphaEdit names, so an existing EasyEdit MEMIT or AlphaEdit YAML
file needs only its ``alg_name`` changed (and ``base_method`` for AlphaEdit). EasyEdit's
``*_module_tmp`` keys are honoured as overrides of the built-in architecture table, but can be
left out for the architectures it knows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from ..core.archspec import ArchSpec, arch_spec, num_layers
from ..core.validation import check_model_layers
from ..core.context import Templates, check_templates, context_templates
from ..core.covariance import second_moments
from ..core.locate_edit import SecondMomentSource, SolverOptions
from ..core.targets import TargetOptions
from ..hparams import HyperParamsError, PluginHyperParams


@dataclass(kw_only=True)
class LocateEditHyperParams(PluginHyperParams):
    """The settings of target optimisation, statistics and the closed-form solve."""

    #: EasyEdit's token to edit at; only the subject's last token is implemented.
    fact_token: Literal["subject_last"] = "subject_last"
    v_num_grad_steps: int = 25
    v_lr: float = 0.5
    #: Layer whose output the target loss reads (through the final norm and LM head).
    v_loss_layer: int | None = None
    v_weight_decay: float = 0.5
    clamp_norm_factor: float = 4.0
    kl_factor: float = 0.0625
    #: Requests whose targets are optimised together; None (default) sizes the batches so that
    #: each holds at most ``z_memory_budget_mib`` for its backward pass. A number is faster on
    #: many small requests and takes as much memory as it takes.
    z_requests_per_batch: int | None = None
    z_memory_budget_mib: float = 64.0
    #: Compute each prompt's part before the subject once (KV cache) instead of at every target
    #: step; the same targets up to rounding. False is an escape hatch for a model whose forward
    #: takes no KV cache.
    z_cache_prefix: bool = True

    #: Accepted for EasyEdit compatibility; the covariance adjustment is always on.
    mom2_adjustment: bool = True
    mom2_update_weight: float = 15000.0
    mom2_dataset: str = "wikipedia"
    #: Text samples of the statistics (None: the whole corpus, as EasyEdit allows).
    mom2_n_samples: int | None = 100000
    mom2_dtype: str = "float32"
    stats_dir: str = "./data/stats"
    #: A local corpus (text file, folder of .txt, JSONL, or a saved ``datasets`` folder) from
    #: which missing statistics are computed; without it they must exist in ``stats_dir``.
    stats_corpus: str | None = None
    stats_max_length: int = 256

    nullspace_threshold: float | None = 2e-2
    nullspace_relative_threshold: float | None = None
    L2: float = 10.0

    #: EasyEdit's ``[[length, count]]`` for sampled context templates.
    context_template_length_params: list[list[int]] = field(default_factory=lambda: [[10, 5]])
    #: Explicit context templates (each with one ``{}``) instead of sampling them.
    context_templates: list[str] | None = None
    context_template_seed: int = 0

    rewrite_module_tmp: str | None = None
    layer_module_tmp: str | None = None
    mlp_module_tmp: str | None = None
    attn_module_tmp: str | None = None
    ln_f_module: str | None = None
    lm_head_module: str | None = None

    def validate(self) -> None:
        super().validate()
        for params in self.context_template_length_params:
            if len(params) != 2 or min(params) < 1:
                raise HyperParamsError(
                    f"context_template_length_params entries must be [length, count] with positive values, got {params}"
                )
        if self.context_templates is not None:
            try:
                check_templates(list(self.context_templates))
            except ValueError as error:
                raise HyperParamsError(f"key 'context_templates': {error}") from None
        if self.mom2_dtype not in ("float16", "bfloat16", "float32", "float64"):
            raise HyperParamsError(f"mom2_dtype must be a float dtype name, got {self.mom2_dtype!r}")
        if self.nullspace_threshold is None and self.nullspace_relative_threshold is None:
            raise HyperParamsError("set nullspace_threshold, nullspace_relative_threshold or both")
        if self.z_memory_budget_mib <= 0:
            raise HyperParamsError(f"z_memory_budget_mib must be positive, got {self.z_memory_budget_mib}")

    # -- what the engine needs -------------------------------------------------------------
    def arch(self, model: torch.nn.Module) -> ArchSpec:
        overrides = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name.endswith(("_module_tmp", "_module"))}
        return arch_spec(model, overrides)

    def check_layers(self, model: torch.nn.Module, spec: ArchSpec, layers: dict[str, Any]) -> None:
        """Check ``{key: indices}`` and ``v_loss_layer`` against ``model`` before anything touches it."""
        checks = dict(layers)
        if self.v_loss_layer is not None:
            checks["key 'v_loss_layer'"] = [self.v_loss_layer]
        check_model_layers(model, spec, checks)

    def loss_layer(self, model: torch.nn.Module, spec: ArchSpec) -> int:
        return self.v_loss_layer if self.v_loss_layer is not None else num_layers(model, spec) - 1

    def target_options(self, model: torch.nn.Module, spec: ArchSpec) -> TargetOptions:
        return TargetOptions(
            loss_layer=self.loss_layer(model, spec),
            lr=self.v_lr,
            steps=self.v_num_grad_steps,
            clamp_norm_factor=self.clamp_norm_factor,
            kl_factor=self.kl_factor,
            weight_decay=self.v_weight_decay,
            requests_per_batch=self.z_requests_per_batch,
            memory_budget_mib=self.z_memory_budget_mib,
            cache_prefix=self.z_cache_prefix,
        )

    def solver_options(self, kind: Literal["memit", "alphaedit"]) -> SolverOptions:
        return SolverOptions(
            kind=kind,
            mom2_update_weight=self.mom2_update_weight,
            l2=self.L2,
            nullspace_threshold=self.nullspace_threshold,
            nullspace_relative_threshold=self.nullspace_relative_threshold,
        )

    def templates(self, model: torch.nn.Module, tok: Any) -> Templates:
        given = [["{}"], list(self.context_templates)] if self.context_templates else None
        length_params = [tuple(p) for p in self.context_template_length_params]
        return context_templates(model, tok, length_params, seed=self.context_template_seed, given=given)

    def second_moment_source(self, model: torch.nn.Module, tok: Any, spec: ArchSpec, layers: list[int]) -> SecondMomentSource:
        """C0 of every layer in ``layers``, loaded or computed in ONE pass, served by layer."""
        names = {layer: spec.mlp_out_name(layer) for layer in layers}
        moments = second_moments(
            model,
            list(names.values()),
            stats_dir=self.stats_dir,
            corpus_name=self.mom2_dataset,
            n_samples=self.mom2_n_samples,
            dtype=self.mom2_dtype,
            max_length=self.stats_max_length,
            corpus=self.stats_corpus,
            tokenizer=tok,
        )
        return lambda layer: moments[names[layer]]

    @property
    def projector_tag(self) -> str:
        """Identifies the statistics a null-space projector is built from."""
        return f"{self.mom2_dataset}:{self.mom2_n_samples}:{self.mom2_dtype}:{self.stats_corpus}"
