"""Shared by the examples: the miniature world model and the settings that fit it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from easyedit_plugins.evaluation import greedy_generate
from easyedit_plugins.world import WorldModel, load_world_model, world_statistics_corpus


def world_and_corpus(workdir: Path) -> tuple[WorldModel, Path]:
    """The cached ``test`` world model (trained on first use) and a text file of its training
    lines, the corpus the key statistics of MEMIT-style methods are computed from."""
    world = load_world_model("test", "gpt2")
    corpus = workdir / "world_corpus.txt"
    corpus.write_text("\n".join(world_statistics_corpus(world.world)), encoding="utf-8")
    return world, corpus


def answers(model: Any, tok: Any, prompts: list[str], tokens: int = 6) -> list[str]:
    """The model's greedy answers, cut after the first sentence."""
    return [text.strip().split(". ")[0] for text in greedy_generate(model, tok, prompts, tokens)]
