"""Corpus readers: text files, folders of .txt files, JSONL, and `datasets` folders."""

from __future__ import annotations

import json
import sys
import types

import pytest

from easyedit_plugins.core.corpus import CorpusError, open_corpus


def test_text_file_lines_and_paragraphs(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("first line\n\n  \nsecond line\nthird\n\nlast paragraph\n", encoding="utf-8")
    corpus = open_corpus(path)
    assert (corpus.kind, corpus.split) == ("text", "line")
    assert list(corpus.texts()) == ["first line", "second line", "third", "last paragraph"]
    paragraphs = open_corpus(path, split="paragraph")
    assert list(paragraphs.texts()) == ["first line", "second line\nthird", "last paragraph"]
    assert corpus.identity() != paragraphs.identity()


def test_folder_of_text_files_gives_one_document_per_file_in_order(tmp_path):
    (tmp_path / "b.txt").write_text("second\ndocument", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("third", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    corpus = open_corpus(tmp_path)
    assert corpus.kind == "directory"
    assert list(corpus.texts()) == ["first", "second\ndocument", "third"]
    before = corpus.identity()
    (tmp_path / "a.txt").write_text("changed", encoding="utf-8")
    assert open_corpus(tmp_path).identity() != before


def test_jsonl_reads_the_text_field_and_names_bad_lines(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in [{"text": "one"}, {"body": "two", "text": ""}, {"text": "three"}]))
    assert list(open_corpus(path).texts()) == ["one", "three"]
    with pytest.raises(CorpusError, match=r"corpus.jsonl, line 1: no field 'body'"):
        list(open_corpus(path, text_field="body").texts())
    path.write_text('{"text": "ok"}\n{not json\n')
    with pytest.raises(CorpusError, match="line 2: not valid JSON"):
        list(open_corpus(path).texts())


def test_identity_is_stable_for_the_same_content(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("same\n", encoding="utf-8")
    assert open_corpus(path).identity() == open_corpus(path).identity()
    assert open_corpus(path).identity().startswith("text:")


def test_missing_corpus_and_empty_folder(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        open_corpus(tmp_path / "nowhere.txt")
    with pytest.raises(CorpusError, match="no .txt files"):
        open_corpus(tmp_path)


def _saved_dataset(tmp_path):
    folder = tmp_path / "wiki"
    folder.mkdir()
    (folder / "dataset_info.json").write_text("{}", encoding="utf-8")
    (folder / "data-00000-of-00001.arrow").write_bytes(b"arrow")
    return folder


def test_datasets_folder_without_datasets_installed_says_so(tmp_path, monkeypatch):
    folder = _saved_dataset(tmp_path)
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    corpus = open_corpus(folder)
    assert corpus.kind == "datasets"
    with pytest.raises(CorpusError, match=r"`datasets` package, which is not installed"):
        list(corpus.texts())


def test_datasets_folder_reads_the_train_split(tmp_path, monkeypatch):
    folder = _saved_dataset(tmp_path)

    class FakeDataset(list):
        column_names = ["text", "title"]

    class FakeDatasetDict(dict):
        pass

    loaded = FakeDatasetDict(train=FakeDataset([{"text": "alpha", "title": "A"}, {"text": " ", "title": "B"}]))
    fake = types.SimpleNamespace(DatasetDict=FakeDatasetDict, load_from_disk=lambda path: loaded)
    monkeypatch.setitem(sys.modules, "datasets", fake)
    assert list(open_corpus(folder).texts()) == ["alpha"]
    with pytest.raises(CorpusError, match="no column 'body'"):
        list(open_corpus(folder, text_field="body").texts())
