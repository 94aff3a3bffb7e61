"""The named recipes of world models, and the parameters that identify a trained one.

A preset fixes the world (how many subjects, objects, rules), the model size and the training
schedule of each architecture. Every number that changes the trained weights is part of
:func:`world_parameters`, whose hash names the model's cache directory.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from .data import WorldSpec
from .natural import NaturalWorldSpec
from .train import ModelSpec, TrainSpec

#: Version of the training script; part of every cache key, like ``WORLD_VERSION``.
TRAINER_VERSION = "world-train-2"


@dataclass(frozen=True)
class WorldPreset:
    """A named recipe: which world, which model size, how to train each architecture.

    The schedules of the two architectures differ only in the learning rate, and it matters:
    on the ``test`` world (one line per row, 600 steps) Llama knew 88% of trained facts at
    GPT-2's best rate, 4e-3, and 100% at 2e-3, where GPT-2 knew 97%; on the ``full`` world GPT-2
    knew 45% at 3e-3 and 98% at 2e-3.
    """

    name: str
    world: WorldSpec | NaturalWorldSpec
    model: ModelSpec
    train: Mapping[str, TrainSpec]
    description: str = field(default="", compare=False)

    def schedule(self, arch: str) -> TrainSpec:
        """The training schedule of ``arch``; an unknown architecture is an error."""
        if arch not in self.train:
            raise ValueError(f"unknown world architecture {arch!r}; choose from {', '.join(self.train)}")
        return self.train[arch]


def _schedules(learning_rates: Mapping[str, float], **options: Any) -> dict[str, TrainSpec]:
    """One schedule per architecture, the same but for the learning rate."""
    return {arch: TrainSpec(learning_rate=rate, **options) for arch, rate in learning_rates.items()}


PRESETS: dict[str, WorldPreset] = {
    preset.name: preset
    for preset in (
        WorldPreset(
            "test",
            WorldSpec(subjects=120, cities=12, languages=8, professions=10, rules=6, instance_max=3),
            ModelSpec(layers=4, width=128, vocab_size=1024),
            _schedules({"gpt2": 4e-3, "llama": 2e-3}, steps=900, batch_size=32, warmup_steps=50, subject_readout_layer=2),
            "small enough for a test suite to train once per CI run (about a minute on 2 cores)",
        ),
        WorldPreset(
            "full",
            WorldSpec(subjects=500, cities=24, languages=12, professions=16, rules=16, instance_max=4),
            ModelSpec(layers=6, width=256, vocab_size=2048),
            _schedules({"gpt2": 2e-3, "llama": 1.5e-3}, steps=2000, batch_size=64, warmup_steps=100, subject_readout_layer=3),
            "made for measuring edits: trained facts >= 95%, held-out pairs >= 85%, about 10 minutes on 2 idle cores",
        ),
        WorldPreset(
            "natural",
            NaturalWorldSpec(subjects=160, name_pool=30, skill_lines=1000),
            ModelSpec(layers=8, width=192, vocab_size=2048),
            _schedules({"gpt2": 2e-3, "llama": 1.5e-3}, steps=2000, batch_size=64, warmup_steps=100, row_tokens=40,
                       instance_repeats=1),
            "two-word names in mirror pairs, subjects at the start and in the middle, attribute and aside lines, "
            "worked rule instances, no attention masking (see easyedit_plugins.world.natural); GPT-2 on "
            "2026-11-26: 99.2% trained facts, 91.0% held-out pairs, 100% rule statements, 95.2% trained and 67.5% "
            "held-out instances, 1975 s (1352 CPU s) on 1 thread of 2 cores at mean load 2.45, 853 s on 2 threads; "
            "causal tracing finds the subject's last token in the first layers",
        ),
    )
}


def preset_named(name: str) -> WorldPreset:
    """The preset called ``name``; an unknown name is an error that lists the known ones."""
    if name not in PRESETS:
        raise ValueError(f"unknown world preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]


def world_parameters(preset: str, arch: str, seed: int) -> dict[str, Any]:
    """Everything that determines a trained world model; its hash names the cache directory."""
    recipe = preset_named(preset)
    schedule = recipe.schedule(arch)
    return {
        "preset": recipe.name, "arch": arch, "seed": seed, "world_version": recipe.world.data_version,
        "trainer_version": TRAINER_VERSION, "world": asdict(recipe.world), "model": asdict(recipe.model),
        "train": asdict(schedule),
    }


#: Default critical layers of fact edits (BLUE/MEMIT ``layers``) per preset.
#:
#: ``natural`` (data ``natural-data-3``): causal tracing on GPT-2
#: (benchmarks/results/world-natural-gpt2-2026-11-26.md) finds the subject's last token at the
#: first layers for subjects at the start and in the middle (0.11-0.14 at layer 0, falling to
#: 0.02-0.05 by layer 3 and 0 at layer 7) while the final token takes over from layer 1 on (0.10-0.12
#: at layer 0 to 0.83-0.85 at layer 7). [1, 2, 3] spans that hand-over and is three layers wide,
#: so BLUE skips the middle one; EasyEdit 2026's own MEMIT on it edits 20 of 20 single facts
#: (benchmarks/results/world-natural-easyedit-memit-gpt2-2026-11-26.md).
EDIT_LAYERS: dict[str, list[int]] = {"test": [1, 2], "full": [1, 2], "natural": [1, 2, 3]}

#: Default DMLE stages of rule edits per preset.
RULE_STAGES: dict[str, list[dict[str, Any]]] = {
    "test": [{"name": "f_d", "forms": ["formula", "description"], "layers": [0, 1]},
             {"name": "ins", "forms": ["instance"], "layers": [1, 2]}],
    "full": [{"name": "f_d", "forms": ["formula", "description"], "layers": [0, 1]},
             {"name": "ins", "forms": ["instance"], "layers": [2, 3]}],
    # natural: tracing the rule prompts (the rule's name noised; same results file as EDIT_LAYERS)
    # finds almost nothing at the name's last token (at most 0.017, layers 0-1) and the final
    # token reading the name by layer 1 (formula 0.82 at layer 0; description -0.01 -> 0.31 from
    # layer 0 to 1): the rule lines have no asides, so the final token reads the name itself.
    # Writes at the name must come before that read, hence the early group at [0, 1]; the
    # instance group keeps the full preset's [2, 3], which the tracing neither supports nor
    # rules out.
    "natural": [{"name": "f_d", "forms": ["formula", "description"], "layers": [0, 1]},
                {"name": "ins", "forms": ["instance"], "layers": [2, 3]}],
}
