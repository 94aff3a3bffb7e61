"""The statistics cache: round trip, EasyEdit's files, refusal of bad files, the missing-file message."""

from __future__ import annotations

import shlex
import struct

import numpy as np
import pytest
import torch

from easyedit_plugins.cli import build_parser
from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.covariance import MissingStatistics, second_moments
from easyedit_plugins.core.fingerprint import model_fingerprint
from easyedit_plugins.core.stats import SecondMomentAccumulator
from easyedit_plugins.core.stats_store import (
    CorruptStatistics,
    StatisticsSpec,
    find_own,
    load_easyedit,
    load_own,
    own_path,
    save_easyedit,
    save_own,
)
from easyedit_plugins.testing import tiny_model

WIDTH, LAYERS = 32, 3
SENTENCES = [
    "The capital of France is Paris.",
    "Mozart was born in Salzburg.",
    "The sky is blue and the grass is green.",
    "Apple was founded by Steve Jobs.",
    "12 + 30 = 42.",
]


def _model(seed: int = 0):
    model, tok = tiny_model("gpt2", seed=seed, width=WIDTH, layers=LAYERS)
    model.config._name_or_path = "/models/tiny-gpt2"
    return model, tok


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus" / "wiki.txt"
    path.parent.mkdir()
    path.write_text("\n".join(SENTENCES), encoding="utf-8")
    return path


def _names(model, layers=(1, 2)):
    spec = arch_spec(model)
    return [spec.mlp_out_name(layer) for layer in layers]


def _options(stats_dir, **extra):
    return dict(stats_dir=stats_dir, corpus_name="wiki", n_samples=4, max_length=16, progress=False, **extra)


def test_round_trip_through_the_disk_cache(tmp_path, corpus):
    model, tok = _model()
    names = _names(model)
    computed = second_moments(model, names, corpus=corpus, tokenizer=tok, **_options(tmp_path / "stats"))
    assert all(value.dtype == torch.float32 and value.shape == (4 * WIDTH, 4 * WIDTH) for value in computed.values())
    files = sorted((tmp_path / "stats").rglob("*.npz"))
    assert len(files) == 2 and not list((tmp_path / "stats").rglob("*.tmp"))
    fresh, _ = _model()  # the same weights in a new object: found on disk, not recomputed
    fresh.config._name_or_path = "/elsewhere/renamed"
    reread = second_moments(fresh, names, **_options(tmp_path / "stats"))
    for name in names:
        torch.testing.assert_close(reread[name], computed[name], rtol=0, atol=0)


def test_memory_cache_is_per_model(tmp_path, corpus):
    model, tok = _model()
    names = _names(model, layers=(0,))
    first = second_moments(model, names, corpus=corpus, tokenizer=tok, **_options(tmp_path))
    for path in tmp_path.rglob("*.npz"):
        path.unlink()
    assert second_moments(model, names, **_options(tmp_path))[names[0]] is first[names[0]]
    twin, _ = _model()
    with pytest.raises(MissingStatistics):
        second_moments(twin, names, **_options(tmp_path))


def test_two_models_never_share_a_file(tmp_path, corpus):
    paths = set()
    for seed in (0, 1):
        model, tok = _model(seed)
        second_moments(model, _names(model, (1,)), corpus=corpus, tokenizer=tok, **_options(tmp_path))
        paths |= set(tmp_path.rglob("*.npz"))
    assert len(paths) == 2


def test_only_missing_modules_are_computed(tmp_path, corpus, monkeypatch):
    import easyedit_plugins.core.covariance as covariance

    model, tok = _model()
    second_moments(model, _names(model, (1,)), corpus=corpus, tokenizer=tok, **_options(tmp_path))
    requested = []
    real = covariance.collect_second_moments
    monkeypatch.setattr(covariance, "collect_second_moments", lambda m, t, texts, names, **kw: requested.append(list(names)) or real(m, t, texts, names, **kw))
    result = second_moments(model, _names(model, (0, 1, 2)), corpus=corpus, tokenizer=tok, **_options(tmp_path))
    assert requested == [_names(model, (0, 2))]  # one pass for both missing layers
    assert list(result) == _names(model, (0, 1, 2))


def _write_easyedit_file(path, total, count, sample_size):
    """A file in the layout EasyEdit's layer_stats/runningstats writes (CombinedStat of mom2)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        **{
            "mom2.constructor": np.array("easyeditor.util.runningstats.SecondMoment()"),
            "mom2.count": np.array(count),
            "mom2.mom2": total,
            "sample_size": sample_size,
        },
    )


def _psd(dim, seed=0):
    a = np.random.default_rng(seed).standard_normal((dim, dim)).astype(np.float32)
    return a @ a.T


def test_saved_easyedit_files_have_easyedits_layout_and_read_back(tmp_path):
    accumulator = SecondMomentAccumulator(3, torch.float32, torch.device("cpu"))
    accumulator.add(torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]]))
    path = tmp_path / "m" / "wiki_stats" / "layer_float32_mom2_7.npz"
    save_easyedit(path, accumulator, 7)
    arrays = np.load(path)
    assert sorted(arrays.files) == ["mom2.constructor", "mom2.count", "mom2.mom2", "sample_size"]
    assert int(arrays["mom2.count"]) == 2 and int(arrays["sample_size"]) == 7
    loaded = load_easyedit(path, width=3, n_samples=7)
    torch.testing.assert_close(loaded.second_moment(), accumulator.sum / 2)


@pytest.mark.parametrize("folder", ["tiny-gpt2", "_models_tiny-gpt2"])  # 2026 tree, 2023 PyPI release
def test_easyedit_caches_are_read(tmp_path, folder):
    model, _ = _model()
    (name,) = _names(model, (2,))
    total = _psd(4 * WIDTH)
    _write_easyedit_file(tmp_path / folder / "wiki_stats" / f"{name}_float32_mom2_4.npz", total, 250, np.array(4))
    result = second_moments(model, [name], **_options(tmp_path))
    torch.testing.assert_close(result[name], torch.from_numpy(total) / 250)


def test_easyedit_cache_of_the_whole_corpus(tmp_path):
    model, _ = _model()
    (name,) = _names(model, (0,))
    null = np.array(struct.unpack(">d", struct.pack(">Q", 0xFFF8000000000002))[0])  # EasyEdit's boxed None
    _write_easyedit_file(tmp_path / "tiny-gpt2" / "wiki_stats" / f"{name}_float64_mom2.npz", _psd(4 * WIDTH).astype(np.float64), 7, null)
    options = _options(tmp_path) | {"n_samples": None, "dtype": "float64"}
    assert second_moments(model, [name], **options)[name].dtype == torch.float64


def _corrupt_cases(width):
    good = _psd(width)
    asymmetric = good.copy()
    asymmetric[0, 1] += 1.0
    nan = good.copy()
    nan[3, 3] = np.nan
    return {
        "NaN": (nan, 10, "NaN or infinite"),
        "shape": (_psd(width + 1), 10, "input has width"),
        "symmetry": (asymmetric, 10, "not symmetric"),
        "count": (good, 0, "token count is 0"),
    }


@pytest.mark.parametrize("case", ["NaN", "shape", "symmetry", "count"])
def test_corrupt_easyedit_files_are_refused_by_name(tmp_path, case):
    model, _ = _model()
    (name,) = _names(model, (1,))
    total, count, message = _corrupt_cases(4 * WIDTH)[case]
    path = tmp_path / "tiny-gpt2" / "wiki_stats" / f"{name}_float32_mom2_4.npz"
    _write_easyedit_file(path, total, count, np.array(4))
    with pytest.raises(CorruptStatistics, match=message) as caught:
        second_moments(model, [name], **_options(tmp_path))
    assert str(path) in str(caught.value)


def test_own_files_of_another_model_or_garbage_are_refused(tmp_path):
    model, _ = _model()
    (name,) = _names(model, (1,))
    spec = StatisticsSpec("wiki", 4, "float32", 16)
    fingerprint = model_fingerprint(model)
    path = own_path(tmp_path, "tiny-gpt2", fingerprint, name, spec, "text:0123456789abcdef")
    accumulator = SecondMomentAccumulator.from_state(5, torch.from_numpy(_psd(4 * WIDTH)))
    save_own(path, accumulator, fingerprint="f" * 32, module=name, corpus_id="text:0123456789abcdef", spec=spec, samples_seen=4)
    assert find_own(tmp_path, fingerprint, name, spec) == [path]
    with pytest.raises(CorruptStatistics, match="another model") as caught:
        second_moments(model, [name], **_options(tmp_path))
    assert str(path) in str(caught.value)
    renamed = StatisticsSpec("wiki", 4, "float32", 32)  # a file whose name lies about its max length
    save_own(path, accumulator, fingerprint=fingerprint, module=name, corpus_id="text:0123456789abcdef", spec=renamed, samples_seen=4)
    with pytest.raises(CorruptStatistics, match="holds max_length 32, but 16"):
        load_own(path, fingerprint=fingerprint, module=name, spec=spec, width=4 * WIDTH)
    path.write_bytes(b"not an npz archive")
    with pytest.raises(CorruptStatistics, match="not a readable .npz"):
        load_own(path, fingerprint=fingerprint, module=name, spec=spec, width=4 * WIDTH)


def test_missing_statistics_name_the_command_that_builds_them(tmp_path):
    model, _ = _model()
    names = _names(model, (0, 2))
    with pytest.raises(MissingStatistics) as caught:
        second_moments(model, names, **_options(tmp_path / "stats dir"))
    command = caught.value.command
    assert command == (
        "easyedit-plugins stats --model /models/tiny-gpt2 --corpus <path to a local corpus> --corpus-name wiki "
        f"--layers 0 2 --samples 4 --max-length 16 --dtype float32 --stats-dir '{tmp_path / 'stats dir'}'"
    )
    assert command in str(caught.value)
    words = shlex.split(command.replace("<path to a local corpus>", "corpus.txt"))
    args = build_parser().parse_args(words[1:])
    assert (args.layers, args.samples, args.max_length, args.dtype, args.corpus_name) == ([0, 2], 4, 16, "float32", "wiki")


def test_missing_message_for_other_modules_and_half_precision(tmp_path):
    model, _ = _model()
    model.half()
    name = arch_spec(model).mlp_in_name(1)
    with pytest.raises(MissingStatistics) as caught:
        second_moments(model, [name], **_options(tmp_path))
    assert f"--modules {name}" in caught.value.command
    assert caught.value.command.endswith("--torch-dtype float16")
