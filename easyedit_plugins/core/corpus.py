"""Local text corpora for covariance statistics: text files, folders, JSONL, saved datasets.

EasyEdit downloads Wikipedia at run time to compute its statistics; this project never
downloads, so the user points at a corpus on disk instead. A :class:`TextCorpus` yields its
samples in a fixed order (the first ``n`` samples are the budget, as EasyEdit's
``mom2_n_samples`` counts text samples) and has an :meth:`~TextCorpus.identity` that changes
when the files or the way they are split change, so cached statistics name the corpus they
came from.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

#: How a text file is cut into samples: one per non-empty line, per blank-line-separated
#: paragraph, or the whole file as one document.
Split = Literal["line", "paragraph", "document"]
Kind = Literal["text", "directory", "jsonl", "datasets"]

_JSONL_SUFFIXES = {".jsonl", ".ndjson"}
#: Files ``datasets.Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` write.
_DATASETS_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")
#: Bytes of each file hashed into the corpus identity (the head: cheap, and catches edits).
_HEAD_BYTES = 1 << 20
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class CorpusError(ValueError):
    """A corpus cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class TextCorpus:
    """A corpus on disk and how to read samples from it (build one with :func:`open_corpus`)."""

    path: Path
    kind: Kind
    split: Split
    text_field: str = "text"

    def texts(self) -> Iterator[str]:
        """Every non-empty sample, in a deterministic order."""
        if self.kind == "text":
            yield from _split_text(_read_text(self.path), self.split)
        elif self.kind == "directory":
            for file in self._files():
                yield from _split_text(_read_text(file), self.split)
        elif self.kind == "jsonl":
            yield from _jsonl_texts(self.path, self.text_field)
        else:
            yield from _datasets_texts(self.path, self.text_field)

    def identity(self) -> str:
        """A short id of the corpus content and reading options (``kind:hash``).

        Hashes the resolved path, each file's size and the first MiB of each file, plus the
        split and text field: cheap on a multi-gigabyte corpus, and different whenever the
        samples it yields could differ in practice.
        """
        digest = hashlib.sha256()
        digest.update(f"{self.kind}|{self.split}|{self.text_field}|{self.path.resolve()}".encode())
        for file in self._files():
            digest.update(f"|{file.relative_to(self.path) if self.path.is_dir() else file.name}|{file.stat().st_size}".encode())
            with open(file, "rb") as handle:
                digest.update(handle.read(_HEAD_BYTES))
        return f"{self.kind}:{digest.hexdigest()[:16]}"

    def _files(self) -> list[Path]:
        if self.kind == "directory":
            return sorted(self.path.rglob("*.txt"))
        if self.kind == "datasets":
            return sorted(file for file in self.path.rglob("*") if file.is_file())
        return [self.path]


def open_corpus(path: str | Path, *, split: Split | None = None, text_field: str = "text") -> TextCorpus:
    """Recognise the corpus at ``path``.

    * a folder written by ``datasets``' ``save_to_disk`` (it holds ``dataset_info.json``,
      ``state.json`` or ``dataset_dict.json``): rows' ``text_field``;
    * any other folder: every ``*.txt`` file below it, one document per file by default;
    * ``*.jsonl`` / ``*.ndjson``: one JSON object per line, its ``text_field``;
    * any other file: plain text, one sample per non-empty line by default.

    ``split`` ('line', 'paragraph', 'document') overrides how text files are cut into samples.
    """
    corpus_path = Path(path).expanduser()
    if not corpus_path.exists():
        raise CorpusError(f"corpus {corpus_path} does not exist")
    if corpus_path.is_dir():
        if any((corpus_path / marker).exists() for marker in _DATASETS_MARKERS):
            return TextCorpus(corpus_path, "datasets", "document", text_field)
        if not any(corpus_path.rglob("*.txt")):
            raise CorpusError(f"corpus folder {corpus_path} holds no .txt files and is not a saved `datasets` dataset")
        return TextCorpus(corpus_path, "directory", split or "document", text_field)
    if corpus_path.suffix.lower() in _JSONL_SUFFIXES:
        return TextCorpus(corpus_path, "jsonl", "document", text_field)
    return TextCorpus(corpus_path, "text", split or "line", text_field)


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(f"corpus file {file} is not UTF-8 text ({error})") from error


def _split_text(text: str, split: Split) -> Iterator[str]:
    if split == "document":
        pieces = [text]
    elif split == "paragraph":
        pieces = _PARAGRAPH_BREAK.split(text)
    else:
        pieces = text.splitlines()
    for piece in pieces:
        if piece.strip():
            yield piece.strip()


def _jsonl_texts(file: Path, text_field: str) -> Iterator[str]:
    with open(file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise CorpusError(f"{file}, line {number}: not valid JSON ({error.msg})") from error
            if not isinstance(record, dict) or text_field not in record:
                raise CorpusError(f"{file}, line {number}: no field {text_field!r} (set the text field)")
            text = record[text_field]
            if not isinstance(text, str):
                raise CorpusError(f"{file}, line {number}: field {text_field!r} is {type(text).__name__}, not text")
            if text.strip():
                yield text


def _datasets_texts(folder: Path, text_field: str) -> Iterator[str]:
    try:
        import datasets  # imported lazily: an optional dependency used only for this format
    except ImportError as error:
        raise CorpusError(
            f"{folder} is a dataset saved by the `datasets` package, which is not installed; "
            "install it (pip install datasets) or export the text to a .txt or .jsonl file"
        ) from error
    loaded = datasets.load_from_disk(str(folder))
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if "train" in loaded:
            loaded = loaded["train"]
        elif len(splits) == 1:
            loaded = loaded[splits[0]]
        else:
            raise CorpusError(f"{folder} holds the splits {splits}; save the one to use on its own")
    if text_field not in loaded.column_names:
        raise CorpusError(f"{folder}: no column {text_field!r} (columns: {loaded.column_names}); set the text field")
    for row in loaded:
        text = row[text_field]
        if isinstance(text, str) and text.strip():
            yield text
