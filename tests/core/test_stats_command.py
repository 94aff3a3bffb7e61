"""`easyedit-plugins stats`: builds the files that `second_moments` then finds."""

from __future__ import annotations

import transformers

from easyedit_plugins.cli import main
from easyedit_plugins.core.covariance import second_moments
from easyedit_plugins.testing import save_tiny_model


def test_stats_command_builds_what_second_moments_reads(tmp_path, capsys):
    model_dir = save_tiny_model("gpt2", tmp_path, width=32, layers=3)
    corpus = tmp_path / "wiki.txt"
    corpus.write_text("The capital of France is Paris.\nMozart was born in Salzburg.\n12 + 30 = 42.\n", encoding="utf-8")
    stats_dir = tmp_path / "stats"
    argv = ["stats", "--model", str(model_dir), "--corpus", str(corpus), "--layers", "0", "2", "--samples", "all",
            "--stats-dir", str(stats_dir), "--max-length", "32", "--no-progress", "--device", "cpu"]
    assert main(argv) == 0
    saved = capsys.readouterr().out.splitlines()
    assert [line.split(": saved ")[0] for line in saved] == ["transformer.h.0.mlp.c_proj", "transformer.h.2.mlp.c_proj"]
    assert main(argv) == 0
    assert all("already computed" in line for line in capsys.readouterr().out.splitlines())

    model = transformers.AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True)
    found = second_moments(model, ["transformer.h.2.mlp.c_proj"], stats_dir=stats_dir, corpus_name="wiki",
                           n_samples=None, max_length=32)
    assert found["transformer.h.2.mlp.c_proj"].shape == (128, 128)

    assert main(argv[:5] + ["--layers", "7"] + argv[8:]) == 2
    assert "out of range" in capsys.readouterr().err
