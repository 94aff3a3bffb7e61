"""Fixtures for the engine tests: tiny models and a small statistics corpus."""

from __future__ import annotations

import pytest

from easyedit_plugins.testing.tokenizer import training_corpus

#: A prompt whose subject ends the prompt. Random weights have random attention, which does
#: not carry a subject from the middle of a prompt to the answer position; an edit at the last
#: token works on them (the trained miniature world covers mid-prompt subjects).
SUBJECT_FINAL = {"prompt": "The mother tongue of Danielle Darrieux", "subject": "Danielle Darrieux", "target_new": "Tokyo"}
SECOND = {"prompt": "The instrument played by Toko Yasuda", "subject": "Toko Yasuda", "target_new": "Berlin"}


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(training_corpus() * 3), encoding="utf-8")
    return path

