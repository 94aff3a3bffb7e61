"""Issue 10 §4: one run per output folder, and a run with other settings only on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from runner_fixture import TINY_DMLE

from easyedit_plugins.cli import main
from easyedit_plugins.core.output_lock import LOCK_NAME, OutputLock, OutputLocked
from easyedit_plugins.runners import ManifestMismatch, run_ruleedit


def test_a_second_run_on_a_locked_folder_refuses_naming_the_holder(tmp_path, ruleedit_data, dmle_kwargs):
    out = tmp_path / "out"
    with OutputLock(out):
        with pytest.raises(OutputLocked, match=rf"process {os.getpid()}\b"):
            run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs=dmle_kwargs, limit=0, show_progress=False)
    # released: the folder can be used again
    run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs=dmle_kwargs, limit=0, show_progress=False)


def test_the_lock_of_another_live_process_is_refused_through_the_cli(tmp_path, ruleedit_data, dmle_kwargs, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from easyedit_plugins.core.output_lock import OutputLock
            with OutputLock({str(out)!r}):
                print("held", flush=True)
                time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        kwargs = [json.dumps(dmle_kwargs)]
        code = main(["ruleedit", "--hparams", str(TINY_DMLE), "--data", str(ruleedit_data), "--out", str(out),
                     "--limit", "0", "--no-progress", "--method-kwargs", *kwargs])
        assert code == 2
        assert f"process {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    # the holder died without cleaning up: its lock is stale and is taken over
    assert (out / LOCK_NAME).is_file()
    run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs=dmle_kwargs, limit=0, show_progress=False)


def test_a_stale_lock_file_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": "x"}), encoding="utf-8")
    with OutputLock(tmp_path) as lock:
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
        assert lock.directory == tmp_path


def test_other_settings_are_refused_unless_restart_is_asked_for(tmp_path, ruleedit_data, dmle_kwargs, capsys):
    out = tmp_path / "out"
    run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs=dmle_kwargs, limit=1, show_progress=False)
    assert (out / "metrics_rule_1.json").is_file()
    other = {**dmle_kwargs, "v_num_grad_steps": 6}
    with pytest.raises(ManifestMismatch, match=r"(?s)v_num_grad_steps.*--restart"):
        run_ruleedit(TINY_DMLE, ruleedit_data, out, method_kwargs=other, limit=1, show_progress=False)
    (out / "notes.txt").write_text("mine", encoding="utf-8")

    argv = ["ruleedit", "--hparams", str(TINY_DMLE), "--data", str(ruleedit_data), "--out", str(out),
            "--limit", "0", "--no-progress", "--method-kwargs", json.dumps(other)]
    assert main(argv) == 2
    assert "--restart" in capsys.readouterr().err
    assert main(argv + ["--restart"]) == 0
    assert not (out / "metrics_rule_1.json").exists() and not (out / "manifest.json").exists()
    assert (out / "notes.txt").read_text() == "mine"  # only the run's own files are removed
