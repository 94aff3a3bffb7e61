"""Fixtures of the input-validation tests: a tiny GPT-2 and a statistics corpus.

The statistics are real, so a check that comes too late shows the error the edit would have
met without it (torch's, on the current code) rather than missing statistics.
"""

from __future__ import annotations

from typing import Any

import pytest

from easyedit_plugins.testing import tiny_model
from easyedit_plugins.world.tokenizer import training_corpus


@pytest.fixture(scope="session")
def model_tok():
    return tiny_model("gpt2", layers=4)  # 512 positions


@pytest.fixture(scope="session")
def stats(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("input-stats")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(training_corpus()), encoding="utf-8")
    return {"stats_dir": str(folder / "stats"), "stats_corpus": str(corpus), "mom2_n_samples": 50,
            "v_num_grad_steps": 2, "context_templates": ["Hello. {}"]}
