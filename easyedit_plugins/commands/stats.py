"""Compute the covariance statistics (second moments of the MLP keys) that MEMIT-style methods
need, from a local corpus, for every requested layer in one pass, and cache them where
`second_moments` (and so every method of this package) finds them. Nothing is downloaded: the
model and tokenizer load from a local folder or the Hugging Face cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from .devices import AUTO, resolve_device
from .failures import CommandError

#: EasyEdit's default ``stats_dir`` (``STATS_DIR`` in ``easyeditor.util.globals``).
DEFAULT_STATS_DIR = "./data/stats"

#: ``core.stats.DEFAULT_MAX_LENGTH`` and ``core.stats_store.STORAGE_DTYPES``, repeated here so
#: that ``--help`` needs no torch (tests/cli/test_cli_constants.py checks that they agree).
DEFAULT_MAX_LENGTH = 256
STORAGE_DTYPES = ("float16", "float32", "float64")


def _samples(value: str) -> int | None:
    if value == "all":
        return None
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("the sample count must be positive (or 'all')")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="local model folder (or a name already in the HF cache)")
    parser.add_argument("--corpus", required=True, type=Path,
                        help="a text file, a folder of .txt files, a .jsonl file or a `datasets` folder saved to disk")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--layers", type=int, nargs="+", help="layers whose MLP output projection inputs to collect")
    which.add_argument("--modules", nargs="+", help="explicit module names instead of --layers")
    parser.add_argument("--samples", type=_samples, default=100000,
                        help="text samples to read (EasyEdit's mom2_n_samples; 'all' for the whole corpus)")
    parser.add_argument("--stats-dir", default=DEFAULT_STATS_DIR, help="statistics folder (EasyEdit's stats_dir)")
    parser.add_argument("--corpus-name", help="name of the corpus (EasyEdit's mom2_dataset); default: the corpus file's stem")
    parser.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH, help="tokens per sequence, at most")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per forward pass")
    parser.add_argument("--dtype", choices=STORAGE_DTYPES, default="float32",
                        help="accumulation and storage dtype (EasyEdit's mom2_dtype)")
    parser.add_argument("--torch-dtype", choices=("float32", "float16", "bfloat16"), default="float32",
                        help="dtype to load the model in; use the one the editing run loads it in")
    parser.add_argument("--device", default=AUTO,
                        help="cpu, cuda, cuda:N or a GPU index (default: auto, the first GPU if there is one)")
    parser.add_argument("--split", choices=("line", "paragraph", "document"),
                        help="how text files become samples (default: lines of a file, whole files of a folder)")
    parser.add_argument("--text-field", default="text", help="field holding the text in JSONL / datasets corpora")
    parser.add_argument("--force", action="store_true", help="recompute even if the statistics are cached")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..core.archspec import arch_spec, num_layers
    from ..core.corpus import open_corpus
    from ..core.covariance import build_statistics
    from ..core.fingerprint import model_fingerprint
    from ..core.stats_store import StatisticsSpec, find_own
    from ..runners.model_loading import load_pretrained

    device = resolve_device(args.device)
    corpus = open_corpus(args.corpus, split=args.split, text_field=args.text_field)
    spec = StatisticsSpec(
        corpus_name=args.corpus_name or corpus.path.stem,
        n_samples=args.samples,
        dtype=args.dtype,
        max_length=args.max_length,
    )
    model, tokenizer = load_pretrained(args.model, dtype=getattr(torch, args.torch_dtype), device=device)
    if args.layers is not None:
        architecture = arch_spec(model)
        total = num_layers(model, architecture)
        out_of_range = [layer for layer in args.layers if not 0 <= layer < total]
        if out_of_range:
            raise CommandError(f"layer(s) {out_of_range} out of range; the model has {total} layers")
        modules = [architecture.mlp_out_name(layer) for layer in args.layers]
    else:
        modules = list(args.modules)
    fingerprint = model_fingerprint(model)
    corpus_id = corpus.identity()
    todo = []
    for name in modules:
        existing = [] if args.force else find_own(args.stats_dir, fingerprint, name, spec, corpus_id)
        if existing:
            print(f"{name}: already computed, {existing[0]}")
        else:
            todo.append(name)
    if todo:
        written = build_statistics(
            model, tokenizer, corpus, todo, stats_dir=args.stats_dir, spec=spec, batch_size=args.batch_size,
            progress=not args.no_progress, fingerprint=fingerprint,
        )
        for name, path in written.items():
            print(f"{name}: saved {path}")
    return 0
