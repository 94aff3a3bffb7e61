"""One switch for every progress bar; a thread count chosen from the usable cores and their load."""

from __future__ import annotations

import os

import pytest

from easyedit_plugins import progress, threads


@pytest.fixture(autouse=True)
def _reset_progress():
    yield
    progress.set_progress(None)


def test_bars_follow_the_switch_and_the_environment(monkeypatch):
    monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    assert not progress.progress_bar(range(3)).disable
    assert progress.progress_bar(range(3), disable=True).disable
    monkeypatch.setenv(progress.PROGRESS_ENV, "0")
    assert progress.progress_bar(range(3)).disable
    progress.set_progress(True)
    assert not progress.progress_bar(range(3)).disable
    progress.set_progress(False)
    monkeypatch.setenv(progress.PROGRESS_ENV, "1")
    assert progress.progress_bar(range(3)).disable


def test_pac_and_statistics_bars_are_switched_off_by_quiet(monkeypatch):
    """PAC's epochs and the second-moment pass have no progress argument of their own in the
    demo; the global switch reaches them (they build their bars through progress_bar)."""
    import inspect

    from easyedit_plugins.core import stats
    from easyedit_plugins.methods.pac import train

    for module in (stats, train):
        source = inspect.getsource(module)
        assert "progress_bar(" in source and "tqdm(" not in source


def test_quiet_on_the_command_line_switches_bars_off(monkeypatch, capsys):
    from easyedit_plugins.cli import main

    monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    assert main(["world", "--path", "-q"]) == 0
    assert not progress.progress_enabled()


def test_requested_threads_win(monkeypatch):
    choice = threads.choose_threads(3)
    assert choice.threads == 3 and choice.requested and "--threads" in choice.describe()
    with pytest.raises(ValueError):
        threads.choose_threads(0)


@pytest.mark.parametrize("load", [0.1, 1.2, 5.5])
def test_default_threads_are_the_usable_cores_at_any_load(monkeypatch, load):
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    choice = threads.choose_threads()
    assert choice.threads == 2 and not choice.requested
    assert "2 core(s)" in choice.describe() and f"{load:.2f}" in choice.describe()


def test_usable_cores_is_the_affinity():
    assert threads.usable_cores() == len(os.sched_getaffinity(0))


def test_a_command_restores_the_thread_count_it_changed():
    import torch

    from easyedit_plugins.cli import main

    before = torch.get_num_threads()
    assert main(["world", "--path", "--threads", str(before + 1)]) == 0
    assert torch.get_num_threads() == before
