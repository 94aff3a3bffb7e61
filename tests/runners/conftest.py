"""Fixtures of the runner tests: three invented rules, a tiny model saved to disk, and the
overrides that point the tiny DMLE hyperparameters at them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import torch
from runner_fixture import write_rules

from easyedit_plugins.testing import save_tiny_model
from easyedit_plugins.world.tokenizer import training_corpus


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def ruleedit_data(tmp_path_factory) -> Path:
    """Three rules, ids 1-3, as a folder."""
    return write_rules(tmp_path_factory.mktemp("ruleedit") / "RuleEdit-3", [1, 2, 3])


@pytest.fixture(scope="session")
def dmle_kwargs(tmp_path_factory) -> dict[str, Any]:
    """Overrides that point ``hparams/DMLE/tiny-gpt2.yaml`` at a saved tiny GPT-2 and a corpus."""
    root = tmp_path_factory.mktemp("tiny-model")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(training_corpus() * 3), encoding="utf-8")
    model_dir = save_tiny_model("gpt2", root / "models")
    return {"model_name": str(model_dir), "stats_dir": str(root / "stats"), "stats_corpus": str(corpus),
            "v_num_grad_steps": 5}
