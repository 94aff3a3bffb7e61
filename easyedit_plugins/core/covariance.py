"""The one entry point editing methods call for ``C0``: :func:`second_moments`.

Lookup order, per module: this model's in-memory results, our cache file, an EasyEdit cache
file, and finally a computation over a local corpus (all missing modules in one pass), whose
results are cached on disk. Without a corpus, a missing statistic is an error whose message is
the command that builds it, because computing it means choosing a corpus, which only the user
can do.

The in-memory results hang off the model object in a weak-key dictionary: they disappear with
the model and are never shared between models (EasyEdit's ``COV_CACHE`` is a process-wide dict
keyed by the model's name). The model's fingerprint is taken the first time it is seen, so the
statistics of a model keep being found after an edit has changed its weights (EasyEdit, too,
computes ``C0`` once, on the unedited model).
"""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from .archspec import UnsupportedArchitecture, arch_spec, num_layers
from .corpus import TextCorpus, open_corpus
from .fingerprint import model_fingerprint
from .model_store import model_slot
from .stats import DEFAULT_MAX_LENGTH, collect_second_moments
from .stats_store import (
    AmbiguousStatistics,
    LoadedStatistics,
    StatisticsSpec,
    easyedit_paths,
    find_own,
    load_easyedit,
    load_own,
    model_label,
    own_path,
    save_own,
)
from .weights import weight_out_in

log = logging.getLogger(__name__)


class MissingStatistics(FileNotFoundError):
    """No statistic is cached and no corpus was given; ``command`` builds it."""

    def __init__(self, message: str, command: str) -> None:
        super().__init__(message)
        self.command = command


@dataclass
class _ModelRecord:
    fingerprint: str
    moments: dict[tuple[str, StatisticsSpec], torch.Tensor] = field(default_factory=dict)


def _record(model: nn.Module) -> _ModelRecord:
    """The statistics already loaded for ``model``, kept in its :mod:`.model_store` slot."""
    return model_slot(model, "second_moments", lambda: _ModelRecord(model_fingerprint(model)))


def second_moments(
    model: nn.Module,
    module_names: Sequence[str],
    *,
    stats_dir: str | Path,
    corpus_name: str,
    n_samples: int | None,
    dtype: str = "float32",
    max_length: int = DEFAULT_MAX_LENGTH,
    corpus: str | Path | TextCorpus | None = None,
    tokenizer: Any = None,
    batch_size: int = 16,
    progress: bool = True,
) -> dict[str, torch.Tensor]:
    """``C0 = E[k k^T]`` (``d_in x d_in``, CPU, in ``dtype``) of each module's input.

    ``corpus_name`` and ``n_samples`` play the roles of EasyEdit's ``mom2_dataset`` and
    ``mom2_n_samples`` (so EasyEdit's caches are found), ``dtype`` of ``mom2_dtype``. With a
    ``corpus`` (a path or a :class:`TextCorpus`) and a ``tokenizer``, missing statistics are
    computed and cached; without one they raise :class:`MissingStatistics`.
    """
    spec = StatisticsSpec(corpus_name, n_samples, dtype, max_length)
    record = _record(model)
    names = list(dict.fromkeys(module_names))
    results = {name: record.moments[(name, spec)] for name in names if (name, spec) in record.moments}
    if len(results) == len(names):
        return {name: results[name] for name in names}
    text_corpus = open_corpus(corpus) if isinstance(corpus, (str, Path)) else corpus
    corpus_id = text_corpus.identity() if text_corpus is not None else None
    missing = []
    for name in names:
        if name in results:
            continue
        loaded = _load_from_disk(model, record.fingerprint, name, spec, stats_dir, corpus_id)
        if loaded is None:
            missing.append(name)
        else:
            results[name] = record.moments[(name, spec)] = loaded.second_moment()
    if missing:
        if text_corpus is None or tokenizer is None:
            raise _missing_error(model, missing, spec, stats_dir, has_corpus=text_corpus is not None)
        built = build_statistics(
            model, tokenizer, text_corpus, missing, stats_dir=stats_dir, spec=spec,
            batch_size=batch_size, progress=progress, fingerprint=record.fingerprint,
        )
        for name, path in built.items():
            loaded = load_own(path, fingerprint=record.fingerprint, module=name, spec=spec, width=module_input_width(model, name))
            results[name] = record.moments[(name, spec)] = loaded.second_moment()
    return {name: results[name] for name in names}


def build_statistics(
    model: nn.Module,
    tokenizer: Any,
    corpus: TextCorpus,
    module_names: Sequence[str],
    *,
    stats_dir: str | Path,
    spec: StatisticsSpec,
    batch_size: int = 16,
    progress: bool = True,
    fingerprint: str | None = None,
) -> dict[str, Path]:
    """Compute the statistics of all ``module_names`` in one pass over ``corpus`` and save them.

    Returns the file written for each module. ``fingerprint`` defaults to the model's current
    one (the CLI's case: a freshly loaded model).
    """
    fingerprint = fingerprint or model_fingerprint(model)
    corpus_id = corpus.identity()
    label = _label(model)
    counter = _CountingTexts(corpus)
    accumulators = collect_second_moments(
        model, tokenizer, counter, module_names, n_samples=spec.n_samples, max_length=spec.max_length,
        batch_size=batch_size, dtype=spec.torch_dtype, progress=progress,
    )
    if spec.n_samples is not None and counter.count < spec.n_samples:
        log.warning("corpus %s has only %d samples; %d were asked for", corpus.path, counter.count, spec.n_samples)
    paths = {}
    for name, accumulator in accumulators.items():
        path = own_path(stats_dir, label, fingerprint, name, spec, corpus_id)
        save_own(path, accumulator, fingerprint=fingerprint, module=name, corpus_id=corpus_id, spec=spec,
                 samples_seen=counter.count)
        paths[name] = path
    return paths


def module_input_width(model: nn.Module, name: str) -> int:
    """The width of the input of module ``name`` (a Linear or GPT-2 Conv1D)."""
    return int(weight_out_in(model.get_submodule(name)).shape[1])


class _CountingTexts:
    """Iterates a corpus's texts and counts how many were handed out."""

    def __init__(self, corpus: TextCorpus) -> None:
        self._corpus = corpus
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        for text in self._corpus.texts():
            self.count += 1
            yield text


def _label(model: nn.Module) -> str:
    config = getattr(model, "config", None)
    return model_label(getattr(config, "_name_or_path", None), getattr(config, "model_type", None))


def _load_from_disk(
    model: nn.Module, fingerprint: str, name: str, spec: StatisticsSpec, stats_dir: str | Path, corpus_id: str | None
) -> LoadedStatistics | None:
    width = module_input_width(model, name)
    candidates = find_own(stats_dir, fingerprint, name, spec, corpus_id)
    if len(candidates) > 1:
        raise AmbiguousStatistics(
            f"several cached statistics fit {name} ({', '.join(map(str, candidates))}); "
            "pass the corpus they were computed from"
        )
    if candidates:
        log.info("reading statistics of %s from %s", name, candidates[0])
        return load_own(candidates[0], fingerprint=fingerprint, module=name, spec=spec, width=width)
    name_or_path = getattr(getattr(model, "config", None), "_name_or_path", None)
    for path in easyedit_paths(stats_dir, name_or_path, name, spec):
        if path.exists():
            log.info("reading EasyEdit's statistics of %s from %s (they carry no model identity; "
                     "only their shape is checked)", name, path)
            return load_easyedit(path, width=width, n_samples=spec.n_samples)
    return None


def stats_command(
    model: nn.Module, module_names: Sequence[str], spec: StatisticsSpec, stats_dir: str | Path, corpus: str | None = None
) -> str:
    """The ``easyedit-plugins stats`` command line that builds these statistics."""
    name_or_path = getattr(getattr(model, "config", None), "_name_or_path", None)
    words = ["easyedit-plugins", "stats", "--model", shlex.quote(name_or_path) if name_or_path else "<path to the model>"]
    words += ["--corpus", shlex.quote(corpus) if corpus else "<path to a local corpus>"]
    words += ["--corpus-name", shlex.quote(spec.corpus_name)]
    layers = _layers_of(model, module_names)
    if layers is not None:
        words += ["--layers", *map(str, layers)]
    else:
        words += ["--modules", *map(shlex.quote, module_names)]
    words += ["--samples", spec.samples_label, "--max-length", str(spec.max_length), "--dtype", spec.dtype]
    words += ["--stats-dir", shlex.quote(str(stats_dir))]
    parameter = next(model.parameters(), None)
    if parameter is not None and parameter.dtype != torch.float32:
        words += ["--torch-dtype", str(parameter.dtype).removeprefix("torch.")]
    return " ".join(words)


def _layers_of(model: nn.Module, module_names: Sequence[str]) -> list[int] | None:
    """The layer indices whose MLP output projections are ``module_names``, if that is what they are."""
    try:
        spec = arch_spec(model)
    except UnsupportedArchitecture:
        return None
    by_name = {spec.mlp_out_name(index): index for index in range(num_layers(model, spec))}
    layers = [by_name.get(name) for name in module_names]
    return None if any(layer is None for layer in layers) else layers


def _missing_error(
    model: nn.Module, missing: list[str], spec: StatisticsSpec, stats_dir: str | Path, has_corpus: bool
) -> MissingStatistics:
    command = stats_command(model, missing, spec, stats_dir)
    reason = "a corpus was given but no tokenizer" if has_corpus else "no corpus was given"
    message = (
        f"no covariance statistics for {', '.join(missing)} under {stats_dir} "
        f"(corpus {spec.corpus_name!r}, {spec.samples_label} samples, {spec.dtype}, max length {spec.max_length}), "
        f"and {reason} to compute them. Build them with:\n  {command}"
    )
    return MissingStatistics(message, command)
