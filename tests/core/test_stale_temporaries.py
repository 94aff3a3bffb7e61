"""Issue 10 §4: a process killed inside an atomic write leaves a temporary file; the next run
removes it (statistics files are about 0.5 GB each at 7B)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from easyedit_plugins.core.covariance import second_moments
from easyedit_plugins.core.files import write_text_atomically
from easyedit_plugins.testing import tiny_model


def _killed_inside_a_write(path) -> None:
    code = textwrap.dedent(f"""
        import os, signal
        from easyedit_plugins.core.files import write_atomically

        def write(stream):
            stream.write("half")
            stream.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        write_atomically({str(path)!r}, write)
    """)
    subprocess.run([sys.executable, "-c", code], check=False)


def test_a_write_removes_temporaries_that_dead_processes_left_in_its_folder(tmp_path):
    _killed_inside_a_write(tmp_path / "a.json")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    write_text_atomically(tmp_path / "b.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]


def test_statistics_lookup_removes_temporaries_of_a_killed_stats_run(tmp_path):
    model, tok = tiny_model("gpt2", layers=2, width=32)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("The capital of France is Paris.\nMozart was born in Salzburg.\n", encoding="utf-8")
    name = "transformer.h.1.mlp.c_proj"
    options = dict(stats_dir=tmp_path / "stats", corpus_name="wiki", n_samples=None, max_length=16,
                   corpus=str(corpus), tokenizer=tok)
    second_moments(model, [name], **options)
    (saved,) = (tmp_path / "stats").rglob("*.npz")
    _killed_inside_a_write(saved.with_name("other.npz"))
    assert list(saved.parent.glob(".*.tmp"))
    fresh, _ = tiny_model("gpt2", layers=2, width=32)  # the next run: a new process, the same model
    second_moments(fresh, [name], **options)  # found on disk: nothing is written
    assert not list((tmp_path / "stats").rglob(".*.tmp"))


def test_sigterm_inside_a_write_removes_the_temporary_file_at_once(tmp_path):
    code = textwrap.dedent(f"""
        import time
        from easyedit_plugins.core.files import write_atomically

        def write(stream):
            stream.write("half")
            stream.flush()
            print("writing", flush=True)
            time.sleep(60)

        write_atomically({str(tmp_path / "big.npz")!r}, write)
    """)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    assert list(tmp_path.glob(".*.tmp"))
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) != 0
    assert list(tmp_path.iterdir()) == []
