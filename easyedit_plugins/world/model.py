"""The trained miniature world: small models that really know invented facts and rules.

Random-weight models show the mechanics of an edit; they cannot show whether an edit WORKS,
because they know nothing. A world model is trained from scratch, on the CPU, by this
package's own deterministic script, on the invented knowledge base of
:mod:`.data`, so efficacy, generalisation and locality of an edit can be measured on a
laptop. Trained models are cached (see :mod:`.cache`), so training happens once per
machine and preset.

Typical use::

    world = load_world_model(preset="test", arch="gpt2")   # trains on first use
    requests = world.fact_requests(4)                       # EasyEdit request dicts
    corpus = world_statistics_corpus(world.world)           # text for key statistics

Tests wrap :func:`easyedit_plugins.testing.world_model_factory` in a session fixture and take a
fresh copy per test.
"""

from __future__ import annotations

import json
import logging
import platform
import random
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import torch
import transformers
from transformers import PreTrainedModel, PreTrainedTokenizerFast

from .tokenizer import save_tokenizer, train_tokenizer
from .cache import build_once, cache_root, is_complete, parameters_key
from .data import World, WorldSpec
from .natural import NaturalWorld, NaturalWorldSpec
from .evaluation import accuracy_report, greedy_hits
from .presets import PRESETS, WorldPreset, preset_named, world_parameters
from .requests import Request, fact_requests, rule_requests
from ..threads import torch_threads
from .train import idle_cores, train, untrained_model

__all__ = [
    "PRESETS", "WorldModel", "idle_cores", "load_world_model", "world_model_path", "world_parameters",
    "world_statistics_corpus",
]

logger = logging.getLogger(__name__)

REPORT_NAME = "report.json"


@lru_cache(maxsize=8)
def _world(spec: WorldSpec | NaturalWorldSpec, seed: int) -> World | NaturalWorld:
    return spec.build(seed)


def world_model_path(preset: str = "test", arch: str = "gpt2", seed: int = 0) -> Path:
    """The cache directory of a world model (which may not exist yet).

    The name starts with ``world-<arch>``: EasyEdit's name-based loader picks the model class by
    substrings such as ``gpt`` and ``llama``.
    """
    key = parameters_key(world_parameters(preset, arch, seed))
    return cache_root() / "world" / f"world-{arch}-{preset}-seed{seed}-{key}"


def _train_into(directory: Path, preset: WorldPreset, arch: str, seed: int, progress: bool) -> None:
    """Train a world model and write it, its tokenizer and its accuracy report into ``directory``."""
    world = _world(preset.world, seed)
    tok = train_tokenizer(preset.model.vocab_size, extra_corpus=world.all_text)
    model = untrained_model(arch, preset.model, tok, seed)
    schedule = preset.schedule(arch)
    examples = world.training_examples(schedule.statement_repeats, schedule.instance_repeats)
    logger.info("training the %s world model (%s, seed %d) on %d lines", preset.name, arch, seed, len(examples))
    log = train(model, tok, examples, schedule, seed, progress=progress)
    started = time.perf_counter()
    accuracies = accuracy_report(model, tok, world)
    report = {
        "preset": preset.name, "arch": arch, "seed": seed, "accuracy": accuracies,
        "parameters": sum(p.numel() for p in model.parameters()), "training_lines": len(examples),
        "subjects": len(world.subjects), "facts": len(world.facts), "rules": len(world.rules),
        "steps": log.steps, "final_loss": log.final_loss, "train_seconds": round(log.seconds, 1),
        "train_cpu_seconds": round(log.cpu_seconds, 1), "steps_per_second": round(log.steps / log.seconds, 3),
        "mean_load": None if log.mean_load is None else round(log.mean_load, 2),
        "eval_seconds": round(time.perf_counter() - started, 1),
        "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
        "transformers": transformers.__version__, "machine": platform.machine(),
    }
    model.save_pretrained(str(directory))
    save_tokenizer(tok, directory)
    (directory / REPORT_NAME).write_text(json.dumps(report, indent=2), encoding="utf-8")
    logger.info("world model accuracy: %s", accuracies)


@dataclass
class WorldModel:
    """A trained world model, its tokenizer, its knowledge base and its accuracy report."""

    model: PreTrainedModel
    tok: PreTrainedTokenizerFast
    world: World | NaturalWorld
    report: dict[str, Any]
    path: Path

    def knows(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """For each ``(prompt, answer)``: does the model's greedy continuation give the answer?"""
        return greedy_hits(self.model, self.tok, pairs)

    def fact_requests(self, count: int, seed: int = 0, neighbours: int = 2,
                      distinct_within: int | None = None) -> list[Request]:
        """Fact edits built only from prompts this model answers correctly (see :func:`fact_requests`)."""
        return fact_requests(self.world, count, seed, knows=self.knows, neighbours=neighbours,
                             distinct_within=distinct_within)

    def rule_requests(self, seed: int = 0, rules: Sequence[int] | None = None, instances: int = 4,
                      neighbours: int = 2) -> list[Request]:
        """Rule edits in the three forms for rules this model knows (see :func:`rule_requests`)."""
        return rule_requests(self.world, seed, knows=self.knows, rules=rules, instances=instances,
                             neighbours=neighbours)


def load_world_model(preset: str = "test", arch: str = "gpt2", seed: int = 0, train_if_missing: bool = True,
                     progress: bool = True, threads: int | None = None) -> WorldModel:
    """The cached world model of ``preset``/``arch``/``seed``, trained first if missing.

    ``threads`` sets PyTorch's CPU thread count while training (restored afterwards); by default
    it is :func:`idle_cores`. Every call returns independent model and tokenizer objects read
    from disk, so editing one never changes another.
    """
    recipe = preset_named(preset)
    parameters = world_parameters(preset, arch, seed)
    key = parameters_key(parameters)
    directory = world_model_path(preset, arch, seed)
    if not is_complete(directory, key):
        if not train_if_missing:
            raise FileNotFoundError(f"no trained {preset} world model for {arch} (seed {seed}) at {directory}; "
                                    f"run `easyedit-plugins world --preset {preset} --arch {arch}`")
        with torch_threads(threads or idle_cores()):
            build_once(directory, key, parameters, lambda target: _train_into(target, recipe, arch, seed, progress))
    model = transformers.AutoModelForCausalLM.from_pretrained(str(directory)).float()
    model.eval()
    tok = PreTrainedTokenizerFast.from_pretrained(str(directory))
    tok.padding_side = "right"
    report = json.loads((directory / REPORT_NAME).read_text(encoding="utf-8"))
    return WorldModel(model, tok, _world(recipe.world, seed), report, directory)


def world_statistics_corpus(world: World, seed: int = 0) -> list[str]:
    """Every training line of ``world`` once, shuffled: text for key covariance statistics.

    Shuffled so that the first ``n`` lines, which is what a statistics pass with a sample limit
    reads, mix facts and rules instead of covering the first subjects only.
    """
    lines = list(world.training_lines)
    random.Random(f"statistics-corpus:{seed}").shuffle(lines)
    return lines


