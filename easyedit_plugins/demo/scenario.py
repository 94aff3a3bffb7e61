"""What the demo edits: which methods, with which settings, on which requests of the world.

Every method edits the UNEDITED miniature world model (the demo restores the weights between
methods) so the rows of the table compare like with like. The settings are the published ones
scaled to a model of a few layers, chosen by measurement on the ``test`` world (three facts and
one rule, each setting applied to the unedited model):

* ``mom2_update_weight`` 100 instead of 15000-20000: the statistics come from the world's own
  small corpus, and at 1000 BLUE on MEMIT still reached every edited prompt but only one of
  three rephrases; at 1, 10 and 100 all three, with every neighbour unchanged.
* ``v_num_grad_steps`` 100: at 25 the target vector of a rule's worked instance had not
  converged and DMLE's instance edit failed; the optimisation stops early once the loss is
  small, so facts cost no more.
* DMLE's target vectors with the bare ``"{}"`` context template and up to 300 steps: with the
  sampled templates (prefixes the model generates, off-distribution for a model trained on
  single lines) its rule targets end further from the answer at every step count
  (``benchmarks/results/dmle-fidelity-test-2026-11-26.md``, chosen by final target loss: mean
  0.76 formula/description and 0.92 instance at bare/300 against 1.29 and 1.19 sampled/300).
* PAC with learning rate 3e-3 and 5 critical keys/values per layer: the paper's 15 of 16384
  FFN neurons are 0.1% of a layer, of the world's 512 neurons 3%; with 15 (or with learning
  rate 1e-2) PAC reached the edits but changed the neighbours, with fewer than 3 it often did
  not reach them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..methods.blue import BLUEHyperParams
from ..methods.dmle import DMLEHyperParams
from ..methods.pac import PACHyperParams
from ..world import WorldModel, world_statistics_corpus

Kind = Literal["facts", "rule"]


@dataclass
class DemoEdit:
    """One row group of the demo: a method, its hyperparameters and what it edits."""

    label: str
    hparams: Any
    kind: Kind
    requests: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


def fact_layers(num_layers: int) -> list[int]:
    """The critical layers the demo gives the locate-then-edit methods: at least three.

    The lower layers: the world model resolves a fact at the subject (which ends every prompt),
    and its first layers are where that happens (measured with
    ``benchmarks/bench_world_editability.py``). At least three, so that BLUE visibly skips the
    middle of its range (it writes the first and the last): ``[0, 1, 2]`` on the ``test``
    world's 4 layers, ``[0, 1, 2, 3]`` on the ``full`` world's 6; never the last layer, where
    the target's loss is read.
    """
    return list(range(0, min(num_layers - 1, max(3, num_layers // 2 + 1))))


def _locate_edit_settings(world: WorldModel, stats_dir: Path, corpus: Path) -> dict[str, Any]:
    num_layers = world.model.config.num_hidden_layers
    return dict(
        model_name=str(world.path),
        device="cpu",
        v_num_grad_steps=100,
        v_loss_layer=num_layers - 1,
        mom2_update_weight=100.0,
        mom2_dataset="world",
        mom2_n_samples=None,
        stats_dir=str(stats_dir),
        stats_corpus=str(corpus),
        stats_max_length=64,
    )


def build_scenario(world: WorldModel, workdir: Path, facts: int = 3, with_lga: bool = True) -> list[DemoEdit]:
    """The demo's edits on ``world``: facts with BLUE (on MEMIT and AlphaEdit), BLUE with
    LGA-chosen layers, PAC, and a rule with DMLE."""
    corpus = workdir / "world_corpus.txt"
    corpus.write_text("\n".join(world_statistics_corpus(world.world)), encoding="utf-8")
    stats_dir = workdir / "stats"
    common = _locate_edit_settings(world, stats_dir, corpus)
    num_layers = world.model.config.num_hidden_layers
    layers = fact_layers(num_layers)
    fact_requests = world.fact_requests(facts, seed=0)
    edits = [
        DemoEdit("BLUE (MEMIT)", BLUEHyperParams(layers=layers, base_method="MEMIT", **common), "facts", fact_requests,
                 f"critical layers {layers}: BLUE writes at most the boundary layers {layers[0]} and {layers[-1]} "
                 f"(a boundary layer whose target the earlier update already reached gets no update)"),
        DemoEdit("BLUE (AlphaEdit)", BLUEHyperParams(layers=layers, base_method="AlphaEdit", L2=1.0,
                                                      nullspace_threshold=None, nullspace_relative_threshold=1e-2, **common),
                 "facts", fact_requests, "null space: eigenvalues below 1% of the largest"),
    ]
    if with_lga:
        edits.append(DemoEdit(
            "BLUE + LGA layers",
            BLUEHyperParams(layers=layers, base_method="MEMIT", layer_selection="lga",
                            layer_selection_config={"selection": "window", "num_layers": len(layers),
                                                    "output_dir": str(workdir / "lga")}, **common),
            "facts", fact_requests, "layers chosen by LGA on the edited facts"))
    edits.append(DemoEdit(
        "PAC",
        PACHyperParams(model_name=str(world.path), device="cpu", lr=3e-3, n_critical=5, num_epochs=12),
        "facts", fact_requests, "5 critical key/value paths per layer, learning rate 3e-3 (scaled to a small model)"))
    rule = world.rule_requests(seed=0)[:3]
    if rule:
        early = [0]
        middle = [max(1, num_layers // 2)]
        stages = [{"name": "f_d", "forms": ["formula", "description"], "layers": early},
                  {"name": "ins", "forms": ["instance"], "layers": middle}]
        targets = {**common, "context_templates": ["{}"], "v_num_grad_steps": 300}
        edits.append(DemoEdit("DMLE", DMLEHyperParams(stages=stages, **targets), "rule", rule,
                              f"formula and description on layer {early}, instance on layer {middle}"))
    return edits
