"""Search a model's golden layers with LGA (Layer Gradient Analysis, arXiv 2602.20207) on a proxy
set and write a READY hyperparameter file for an editing method: the method's settings (from
--base-hparams, or its defaults) with the chosen layers filled in (one group per stage for
DMLE), and header comments recording how they were chosen. Optionally a PNG of the per-layer
scores. The model loads from local files only; nothing is downloaded."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .devices import resolve_device

if TYPE_CHECKING:
    from ..selectors.lga.hparams import LGAHyperParams
    from ..selectors.lga.search import LGAReport

#: Method fields that say "choose the layers at edit time"; a written file has chosen them.
SELECTION_FIELDS = ("layer_selection", "layer_selection_config")

#: Scores per line in the header comments.
SCORES_PER_LINE = 6

#: The values of LGA's ``SelectionRule``, ``RankBy``, ``ScoredWeights`` and ``OriginalAnswer``,
#: written out so that ``--help`` needs no torch (tests/cli/test_cli_constants.py checks them).
SELECTION_RULES = ("top1", "topk", "window")
RANK_BY = ("signed", "negated", "absolute")
SCORED_WEIGHTS = ("mlp_out", "mlp_all")
ORIGINAL_ANSWERS = ("ground_truth", "prediction")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="local model folder (or a name already in the HF cache)")
    parser.add_argument("--data", required=True,
                        help="proxy requests: an EasyEdit-style .json/.jsonl list, the RuleEdit-200 zip or folder, "
                             "or world:<preset>/<arch>[/<seed>]")
    parser.add_argument("--method", required=True, help="the editing method the file is for (e.g. BLUE, DMLE)")
    parser.add_argument("--out", required=True, type=Path, help="hyperparameter YAML file to write")
    parser.add_argument("--base-hparams", type=Path,
                        help="the method's hyperparameter file to start from (default: the method's defaults)")
    parser.add_argument("--config", type=Path, help="an LGA YAML file with the search settings; flags override it")
    parser.add_argument("--selection", choices=SELECTION_RULES, help="rule for a flat layer list (default top1)")
    parser.add_argument("--num-layers", type=int, help="layers for topk/window (default: as many as the method lists)")
    parser.add_argument("--group-selection", choices=SELECTION_RULES,
                        help="rule for each stage of a staged method such as DMLE (default window)")
    parser.add_argument("--tukey-k", type=float,
                        help="drop layers outside Tukey's fences with this k before ranking (default: no fences; "
                             "the reconstructed paper rule uses 1)")
    parser.add_argument("--no-tukey", action="store_true",
                        help="rank every layer, no Tukey filtering (the default; overrides a --config file's tukey_k)")
    parser.add_argument("--rank-by", choices=RANK_BY,
                        help="rank layers by the negated score (default: where the old and new answers' gradients "
                             "conflict most), the signed score (the reconstructed paper rule) or its magnitude")
    parser.add_argument("--weights", choices=SCORED_WEIGHTS,
                        help="mlp_out: the MLP output projection (default); mlp_all: every MLP weight matrix")
    parser.add_argument("--original-answer", choices=ORIGINAL_ANSWERS,
                        help="the dataset's ground truth (default) or the model's greedy prediction")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--proxy-size", type=int, help="score a seeded sample of this many requests")
    size.add_argument("--proxy-fraction", type=float, help="score a seeded sample of this fraction of the requests")
    parser.add_argument("--seed", type=int, help="seed of the proxy sample (default 0)")
    parser.add_argument("--batch-size", type=int, help="proxy requests per forward/backward pass (default 8)")
    parser.add_argument("--plot", type=Path, help="also draw the scores, fences and chosen layers into this PNG")
    parser.add_argument("--device", default="cpu", help="where to run the search: cpu, cuda, cuda:N, a GPU index or auto")
    parser.add_argument("--fp16", action="store_true", help="load the model in float16")
    parser.add_argument("--model-parallel", action="store_true", help="spread the model over the GPUs (device_map=auto)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _settings(args: argparse.Namespace) -> LGAHyperParams:
    from ..selectors.lga.hparams import LGAHyperParams

    config = LGAHyperParams.from_hparams(args.config) if args.config else LGAHyperParams()
    overrides: dict[str, Any] = {
        "proxy_data": args.data, "selection": args.selection, "num_layers": args.num_layers,
        "group_selection": args.group_selection, "tukey_k": args.tukey_k, "rank_by": args.rank_by,
        "weights": args.weights, "original_answer": args.original_answer, "seed": args.seed,
        "proxy_batch_size": args.batch_size, "proxy_size": args.proxy_size, "proxy_fraction": args.proxy_fraction,
    }
    changes = {key: value for key, value in overrides.items() if value is not None}
    if args.proxy_size is not None or args.proxy_fraction is not None:
        changes.setdefault("proxy_size", None)
        changes.setdefault("proxy_fraction", None)
    if args.no_tukey:
        changes["tukey_k"] = None
    return config.replace(**changes)


def _field_defaults(hparams_class: type) -> dict[str, Any]:
    """Every field of ``hparams_class`` that has a default, with it."""
    defaults = {}
    for f in dataclasses.fields(hparams_class):
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            defaults[f.name] = f.default_factory()
    return defaults


def _base_mapping(args: argparse.Namespace, hparams_class: type) -> dict[str, Any]:
    """The settings to start from: the base file as written (checked first), or the defaults."""
    if args.base_hparams is None:
        return _field_defaults(hparams_class)
    hparams_class.from_hparams(args.base_hparams)  # fails early, naming the file and the key
    loaded = yaml.safe_load(args.base_hparams.read_text(encoding="utf-8"))
    return dict(loaded)


def _with_layers(mapping: dict[str, Any], report: LGAReport, args: argparse.Namespace, method: str,
                 hparams_class: type) -> dict[str, Any]:
    """``mapping`` with this model, the chosen layers, and layer selection switched off.

    The choice is applied by the method's own ``with_layer_selection``, the code that applies a
    selection at edit time, and its ``layers``/``stages`` are copied back into the mapping, so
    the file says exactly what an edit with ``layer_selection: lga`` would have edited.
    """
    result = dict(mapping)
    result["alg_name"] = method
    result["model_name"] = args.model
    if args.base_hparams is None:
        result.update(device=args.device, fp16=args.fp16, model_parallel=args.model_parallel)
    if isinstance(report.layers, list):
        result.setdefault("layers", report.layers)  # the defaults have no layers, and the class needs some
    hparams = hparams_class.from_dict(result, source=str(args.base_hparams or f"the defaults of {method}"))
    if not hasattr(hparams, "with_layer_selection"):
        raise ValueError(f"{method} takes no layer selection: {hparams_class.__name__} has no with_layer_selection")
    selected = hparams.with_layer_selection(report.to_selection())
    fields = {f.name for f in dataclasses.fields(hparams_class)}
    for key in ("layers", "stages"):
        if key in fields:
            result[key] = getattr(selected, key)
    for key in SELECTION_FIELDS:
        if key in fields:
            result[key] = None
    return result


def _wrapped_scores(scores: list[float]) -> list[str]:
    cells = [f"{layer}: {value:.6g}" for layer, value in enumerate(scores)]
    return [", ".join(cells[i : i + SCORES_PER_LINE]) for i in range(0, len(cells), SCORES_PER_LINE)]


def _header(report: LGAReport, args: argparse.Namespace, fingerprint: str) -> str:
    config = report.config
    rule = config.group_selection if report.staged else config.selection
    among = "every layer (no Tukey fences)" if config.tukey_k is None else \
        f"the layers inside Tukey's fences (k = {config.tukey_k:g})"
    lines = [
        f"{args.method} hyperparameters with layers chosen by LGA (Layer Gradient Analysis, arXiv 2602.20207).",
        f"Written by `easyedit-plugins lga` on {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}.",
        f"model: {args.model} (fingerprint {fingerprint})",
        f"proxy data: {args.data}; {report.scores.count()} requests scored (seed {config.seed}); "
        f"original answer: {config.original_answer} ({sum(report.scores.predicted)} predicted by the model)",
        f"score: sum over the proxy requests of <g_old, g_new>, gradients of the answer-only NLL w.r.t. the "
        f"{'MLP output projection' if config.weights == 'mlp_out' else 'MLP weight matrices'} of each layer "
        f"({config.weights}); search took {report.scores.seconds:.1f} s",
        f"selection: {rule}, ranked by the {config.rank_by} score among {among}",
        f"base settings: {args.base_hparams or 'the defaults of ' + args.method}",
    ]
    for name, choice in report.choices.items():
        lines.append(
            f"{name}: layers {choice.layers}, best {choice.best}, {report.group_sizes[name]} requests; "
            f"fences [{choice.fences.low:.6g}, {choice.fences.high:.6g}] keep {choice.kept}"
        )
        lines += [f"  scores {text}" for text in _wrapped_scores(report.group_scores[name])]
    return "".join(f"# {line}\n" for line in lines) + "\n"


def run(args: argparse.Namespace) -> int:
    import torch

    from ..core.files import write_text_atomically
    from ..core.fingerprint import model_fingerprint
    from ..host import get_registry
    from ..runners.model_loading import load_pretrained
    from ..selectors.lga.proxy import load_proxy_requests
    from ..selectors.lga.record import save_selection
    from ..selectors.lga.search import EditTarget, run_lga

    args.device = device = resolve_device(args.device)  # the written file names the resolved device
    method = get_registry().method(args.method)
    settings = _settings(args)
    base = _base_mapping(args, method.hparams_class)
    target = EditTarget.of(base)
    proxy = load_proxy_requests(args.data, staged=bool(target.stages))
    model, tok = load_pretrained(args.model, dtype=torch.float16 if args.fp16 else torch.float32,
                                 device=device, model_parallel=args.model_parallel)
    report = run_lga(model, tok, proxy, settings, target, proxy_source=args.data, progress=not args.no_progress)
    mapping = _with_layers(base, report, args, method.name, method.hparams_class)
    method.hparams_class.from_dict(mapping, source=str(args.out))
    fingerprint = model_fingerprint(model)
    plain = json.loads(json.dumps(mapping))  # tuples become lists, which YAML writes plainly
    body = yaml.safe_dump(plain, sort_keys=False, default_flow_style=None, allow_unicode=True)
    write_text_atomically(args.out, _header(report, args, fingerprint) + body)
    print(f"LGA chose {report.layers} for {args.method} on {args.model}; wrote {args.out}")
    if settings.output_dir:
        print(f"selection and scores saved to {save_selection(report.to_selection(), settings.output_dir, model)}")
    if args.plot:
        from ..selectors.lga.plot import plot_scores

        title = f"LGA on {Path(args.model).name}: {report.scores.count()} proxy requests"
        print(f"plot: {plot_scores(report, args.plot, title=title)}")
    return 0
