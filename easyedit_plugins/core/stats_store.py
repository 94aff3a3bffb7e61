"""Second-moment statistics on disk: this package's cache files and EasyEdit's ``.npz`` caches.

Our files are keyed by everything that changes the numbers: the model fingerprint (config +
weight sample), the module, the corpus (name and content identity), the sample budget, the
sequence cap and the dtype. Two models therefore never share a file, unlike EasyEdit's, which
are named after the model folder's name alone. Files hold the token count and the SUM of outer
products (not the mean), so shards stay mergeable, and are written atomically.

EasyEdit's caches are read too, so statistics a user already computed are reused. Layout
(``layer_stats`` + ``runningstats.CombinedStat``/``SecondMoment``, both EasyEdit generations):
``{stats_dir}/{model_dir}/{ds_name}_stats/{module}_{dtype}_mom2_{n}.npz`` (``_{n}`` absent when
the sample budget was "all"), where ``model_dir`` is the last path component of
``_name_or_path`` (2026 tree) or ``_name_or_path`` with ``/`` replaced by ``_`` (2023 PyPI
release). The arrays are ``mom2.mom2`` (the d x d SUM of ``k k^T`` in the file's dtype),
``mom2.count`` (number of token positions), ``mom2.constructor`` (a string) and
``sample_size`` (the text-sample budget); EasyEdit's ``C0`` is ``mom2.mom2 / mom2.count``. Those
files carry no model identity: only their shape can be checked.

Everything is loaded with ``numpy.load(allow_pickle=False)``.
"""

from __future__ import annotations

import logging
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .files import remove_stale_temporaries, write_atomically
from .stats import SecondMomentAccumulator

log = logging.getLogger(__name__)

FORMAT = "easyedit-plugins/second-moment/1"
#: Dtypes a statistic may be stored in (numpy has no bfloat16; EasyEdit offers these three).
STORAGE_DTYPES = ("float16", "float32", "float64")
#: Folder under ``stats_dir`` that holds this package's files, apart from EasyEdit's.
OWN_FOLDER = "easyedit_plugins"
#: EasyEdit stores a null ``sample_size`` ("all samples") as this NaN bit pattern.
_EASYEDIT_NULL_BITS = 0xFFF8000000000002


class StatisticsError(ValueError):
    """Base class of the errors about statistics files."""


class CorruptStatistics(StatisticsError):
    """A statistics file is unreadable, inconsistent or belongs to another model or module."""


class AmbiguousStatistics(StatisticsError):
    """Several cached files fit the request and nothing says which corpus to use."""


@dataclass(frozen=True)
class StatisticsSpec:
    """What identifies a statistic besides the model and the module.

    ``corpus_name`` is EasyEdit's ``mom2_dataset`` (it names the folder); ``n_samples`` the
    text-sample budget (None: the whole corpus); ``dtype`` the accumulation and storage dtype
    (EasyEdit's ``mom2_dtype``); ``max_length`` the cap on tokens per sequence.
    """

    corpus_name: str
    n_samples: int | None
    dtype: str
    max_length: int

    def __post_init__(self) -> None:
        if self.dtype not in STORAGE_DTYPES:
            raise ValueError(f"dtype {self.dtype!r} is not one of {', '.join(STORAGE_DTYPES)}")
        if not self.corpus_name or "/" in self.corpus_name or self.corpus_name in (".", ".."):
            raise ValueError(f"corpus name {self.corpus_name!r} must be a plain folder name")
        if self.n_samples is not None and self.n_samples < 1:
            raise ValueError(f"n_samples must be positive or None, got {self.n_samples}")

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)

    @property
    def samples_label(self) -> str:
        return "all" if self.n_samples is None else str(self.n_samples)


def model_label(name_or_path: str | None, model_type: str | None) -> str:
    """A readable folder-name prefix for a model (its folder's name, else its type)."""
    base = (name_or_path or "").rstrip("/").rsplit("/", 1)[-1] or model_type or "model"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)


def own_path(stats_dir: str | Path, label: str, fingerprint: str, module: str, spec: StatisticsSpec, corpus_id: str) -> Path:
    """Where this package stores the statistic of ``module`` computed from corpus ``corpus_id``.

    ``{stats_dir}/easyedit_plugins/{label}-{fingerprint}/{corpus_name}_stats/
    {module}_{dtype}_mom2_{n}_len{max_length}_{corpus hash}.npz``; the label is only for people
    browsing the folder, lookups go by fingerprint (see :func:`find_own`).
    """
    folder = Path(stats_dir) / OWN_FOLDER / f"{label}-{fingerprint[:16]}" / f"{spec.corpus_name}_stats"
    return folder / f"{_own_stem(module, spec)}_{_corpus_tag(corpus_id)}.npz"


def find_own(
    stats_dir: str | Path, fingerprint: str, module: str, spec: StatisticsSpec, corpus_id: str | None = None
) -> list[Path]:
    """Our cached files for ``module`` under ``spec`` (from corpus ``corpus_id``, or any corpus).

    Searches every model folder with this fingerprint, whatever its label, so a model loaded
    from a folder with another name still finds its statistics. Temporary files that a killed
    run left in those folders are deleted on the way.
    """
    root = Path(stats_dir) / OWN_FOLDER
    if not root.is_dir():
        return []
    stem = _own_stem(module, spec)
    tag = _corpus_tag(corpus_id) if corpus_id is not None else None
    found = []
    for folder in root.glob(f"*-{fingerprint[:16]}/{spec.corpus_name}_stats"):
        remove_stale_temporaries(folder)  # a killed stats run's half-written files (GBs at 7B)
        for path in folder.glob(f"{stem}_*.npz"):
            file_tag = path.name[len(stem) + 1:-len(".npz")]
            if file_tag.isalnum() and (tag is None or file_tag == tag):
                found.append(path)
    return sorted(found)


def _corpus_tag(corpus_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "", corpus_id.rsplit(":", 1)[-1])[:12]


def _own_stem(module: str, spec: StatisticsSpec) -> str:
    return f"{module}_{spec.dtype}_mom2_{spec.samples_label}_len{spec.max_length}"


def easyedit_paths(stats_dir: str | Path, name_or_path: str | None, module: str, spec: StatisticsSpec) -> list[Path]:
    """The files EasyEdit (either generation) would have written for this request."""
    if not name_or_path:
        return []
    # the 2026 tree's rsplit gives "" for a trailing slash; try the folder's real name too
    folders = dict.fromkeys([
        name_or_path.rsplit("/")[-1], name_or_path.replace("/", "_"), name_or_path.rstrip("/").rsplit("/")[-1],
    ])
    suffix = "" if spec.n_samples is None else f"_{spec.n_samples}"
    name = f"{module}_{spec.dtype}_mom2{suffix}.npz"
    return [Path(stats_dir) / folder / f"{spec.corpus_name}_stats" / name for folder in folders if folder]


def save_own(
    path: Path,
    accumulator: SecondMomentAccumulator,
    *,
    fingerprint: str,
    module: str,
    corpus_id: str,
    spec: StatisticsSpec,
    samples_seen: int,
) -> None:
    """Write one module's statistic to ``path`` atomically (temporary file, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "format": np.array(FORMAT),
        "fingerprint": np.array(fingerprint),
        "module": np.array(module),
        "corpus_id": np.array(corpus_id),
        "corpus_name": np.array(spec.corpus_name),
        "dtype": np.array(spec.dtype),
        "n_samples": np.array(-1 if spec.n_samples is None else spec.n_samples, dtype=np.int64),
        "max_length": np.array(spec.max_length, dtype=np.int64),
        "samples_seen": np.array(samples_seen, dtype=np.int64),
        "count": np.array(accumulator.count, dtype=np.int64),
        "sum": accumulator.sum.detach().cpu().to(spec.torch_dtype).numpy(),
    }
    write_atomically(path, lambda stream: np.savez(stream, **arrays), binary=True)
    log.info("saved statistics of %s to %s", module, path)


def save_easyedit(path: Path, accumulator: SecondMomentAccumulator, sample_size: int) -> None:
    """Write one module's statistic in EasyEdit's own ``.npz`` layout, atomically.

    For files EasyEdit itself must read (benchmarks that run its MEMIT/AlphaEdit on the same
    statistics as ours); the package's own cache uses :func:`save_own`, which records what the
    statistic was computed from.
    """
    arrays = {
        "mom2.mom2": accumulator.sum.detach().cpu().float().numpy(),
        "mom2.count": np.array(accumulator.count),
        "mom2.constructor": np.array("easyeditor.util.runningstats.SecondMoment()"),
        "sample_size": np.array(sample_size),
    }
    write_atomically(path, lambda stream: np.savez(stream, **arrays), binary=True)


@dataclass(frozen=True)
class LoadedStatistics:
    """A validated statistic read from disk; ``source`` says which format it came from."""

    path: Path
    count: int
    total: torch.Tensor
    source: str

    def second_moment(self) -> torch.Tensor:
        return self.total / self.count


def load_own(path: Path, *, fingerprint: str, module: str, spec: StatisticsSpec, width: int) -> LoadedStatistics:
    """Read one of our files, refusing it unless it is this model's, module's and request's, and sound."""
    arrays = _read_npz(path)
    _require(path, arrays, ("format", "fingerprint", "module", "dtype", "n_samples", "max_length", "count", "sum"))
    if str(arrays["format"]) != FORMAT:
        raise CorruptStatistics(f"{path}: unknown format {str(arrays['format'])!r} (expected {FORMAT!r})")
    if str(arrays["fingerprint"]) != fingerprint:
        raise CorruptStatistics(
            f"{path}: computed for another model (fingerprint {str(arrays['fingerprint'])}, this model "
            f"{fingerprint}); delete it or recompute"
        )
    stored = {"module": str(arrays["module"]), "dtype": str(arrays["dtype"]),
              "n_samples": None if int(arrays["n_samples"]) < 0 else int(arrays["n_samples"]),
              "max_length": int(arrays["max_length"])}
    wanted = {"module": module, "dtype": spec.dtype, "n_samples": spec.n_samples, "max_length": spec.max_length}
    for key, value in wanted.items():
        if stored[key] != value:
            raise CorruptStatistics(f"{path}: holds {key} {stored[key]!r}, but {value!r} was asked for")
    return _validated(path, int(arrays["count"]), arrays["sum"], width, "easyedit-plugins")


def load_easyedit(path: Path, *, width: int, n_samples: int | None) -> LoadedStatistics:
    """Read an EasyEdit ``layer_stats`` cache (see the module docstring for its layout)."""
    arrays = _read_npz(path)
    if "mom2.mom2" in arrays:
        _require(path, arrays, ("mom2.count",))
        total, count = arrays["mom2.mom2"], arrays["mom2.count"]
    elif "mom2" in arrays:
        _require(path, arrays, ("count",))
        total, count = arrays["mom2"], arrays["count"]
    else:
        raise CorruptStatistics(f"{path}: no second moment in it (keys: {sorted(arrays)}); expected 'mom2.mom2'")
    if "sample_size" in arrays:
        stored = _easyedit_optional_int(arrays["sample_size"])
        if stored != n_samples:
            raise CorruptStatistics(f"{path}: sample_size is {stored}, but {n_samples} samples were asked for")
    return _validated(path, int(count), total, width, "easyedit")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise CorruptStatistics(f"{path}: not a readable .npz file ({error})") from error


def _require(path: Path, arrays: dict[str, np.ndarray], keys: tuple[str, ...]) -> None:
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise CorruptStatistics(f"{path}: missing key(s) {missing} (keys: {sorted(arrays)})")


def _easyedit_optional_int(value: np.ndarray) -> int | None:
    if value.dtype == np.float64 and value.ndim == 0 and np.isnan(value):
        bits = struct.unpack(">Q", struct.pack(">d", float(value)))[0]
        if bits == _EASYEDIT_NULL_BITS:
            return None
    return int(value)


def _validated(path: Path, count: int, total: np.ndarray, width: int, source: str) -> LoadedStatistics:
    """Refuse a statistic that cannot be a second moment of ``width``-wide keys."""
    if total.shape != (width, width):
        raise CorruptStatistics(f"{path}: matrix of shape {total.shape}, but the module's input has width {width}")
    if total.dtype.kind != "f":
        raise CorruptStatistics(f"{path}: matrix of dtype {total.dtype}, expected floating point")
    if count <= 0:
        raise CorruptStatistics(f"{path}: token count is {count}")
    matrix = torch.from_numpy(np.ascontiguousarray(total))
    if not torch.isfinite(matrix).all():
        raise CorruptStatistics(f"{path}: contains NaN or infinite values")
    if (torch.diagonal(matrix) < 0).any():
        raise CorruptStatistics(f"{path}: negative diagonal entries; not a second moment")
    scale = float(matrix.abs().max())
    asymmetry = float((matrix - matrix.T).abs().max())
    tolerance = 1e3 * torch.finfo(matrix.dtype).eps * scale
    if asymmetry > tolerance:
        raise CorruptStatistics(f"{path}: not symmetric (max |A - A^T| = {asymmetry:.3g}, scale {scale:.3g})")
    return LoadedStatistics(path=path, count=count, total=matrix, source=source)
