"""Run RuleEdit-200 end to end with any registered editing method: every rule edited on the
unedited model, evaluated before and after, one DMLE-layout metrics_rule_<id>.json per rule,
and a summary table (summary.md, summary.json). An interrupted run resumes where it stopped
when started again with the same --out; other settings are refused unless --restart is given.
One run at a time holds --out: a second one refuses, naming the first one's process id. The model loads from
hparams.model_name, from local files only."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

#: The built-in judges' default time limit, written out so that ``--help`` stays torch-free
#: (tests/cli/test_cli_constants.py checks it against the judges' own).
DEFAULT_JUDGE_TIME_LIMIT = 2.0


def _yaml_value(text: str, item: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise argparse.ArgumentTypeError(f"--method-kwargs {item!r} is not valid YAML: {problem}") from error


def parse_method_kwargs(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` items (each VALUE read as YAML: ``5``, ``1e-3``, ``[4, 5]``), or one
    mapping (``'{"v_lr": 0.1}'``)."""
    kwargs: dict[str, Any] = {}
    for item in items:
        if item.lstrip().startswith("{"):
            value = _yaml_value(item, item)
            if not isinstance(value, dict):
                raise argparse.ArgumentTypeError(f"--method-kwargs {item!r} is not a mapping")
            kwargs.update(value)
            continue
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"--method-kwargs expects KEY=VALUE or a mapping, got {item!r}")
        kwargs[key.strip()] = _yaml_value(text, item)
    return kwargs


def _rule_ids(items: list[str] | None) -> list[str] | None:
    if items is None:
        return None
    return [part for item in items for part in item.replace(",", " ").split()]


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive, finite number of seconds, got {text!r}")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hparams", required=True, help="hyperparameter file; its alg_name picks the method")
    parser.add_argument("--data", required=True, help="RuleEdit-200 zip, or the folder of numbered rule folders")
    parser.add_argument("--out", required=True, help="output folder (resumed if it holds an earlier run)")
    parser.add_argument("--method-kwargs", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override hyperparameters: KEY=VALUE items (values read as YAML) or one JSON mapping")
    parser.add_argument("--limit", type=int, help="only the first N selected rules")
    parser.add_argument("--rules", nargs="+", metavar="ID", help="only these rule ids (space or comma separated)")
    parser.add_argument("--judge", default="auto",
                        help="judge of every answer: auto (default), exact, numeric, symbolic, squad_exact, or any judge a plugin registers (see `easyedit-plugins plugins`)")
    parser.add_argument("--judge-time-limit", type=_positive_seconds, metavar="SECONDS",
                        help="seconds one judgement of a built-in judge may take before it answers False "
                             f"(default {DEFAULT_JUDGE_TIME_LIMIT:g}; the rule files record every answer given up)")
    parser.add_argument("--no-pre", action="store_true", help="skip the evaluation of the unedited model")
    parser.add_argument("--eval-batch-size", type=int, default=8, help="prompts per generation batch (default 8)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--restart", action="store_true",
                        help="delete the results of an earlier run in --out (rule files, manifest, summary) and start "
                             "over; without it, results of other settings are refused")


def run(args: argparse.Namespace) -> int:
    from ..runners import EvaluationSettings, run_ruleedit
    from ..runners.summary import summary_markdown

    report = run_ruleedit(
        args.hparams, args.data, args.out,
        method_kwargs=parse_method_kwargs(args.method_kwargs),
        rule_ids=_rule_ids(args.rules),
        limit=args.limit,
        settings=EvaluationSettings(judge=args.judge, pre=not args.no_pre, batch_size=args.eval_batch_size,
                                     judge_time_limit=args.judge_time_limit),
        show_progress=not args.no_progress,
        restart=args.restart,
    )
    print(summary_markdown(report.summary))
    print(f"results: {report.out_dir}")
    for rule_id, message in report.failed.items():
        print(f"rule {rule_id} failed: {message}", file=sys.stderr)
    if report.summary.get("mean_seconds_per_rule"):
        print("mean seconds per rule: " + json.dumps(report.summary["mean_seconds_per_rule"]))
    return 1 if report.failed else 0
