"""Edit a small trained model with every method and show what changed, offline.

With no arguments: builds (first run, about a minute on 2 cores) or loads the miniature world
model, edits three facts with BLUE on MEMIT, BLUE on AlphaEdit, BLUE with LGA-chosen layers and
PAC, and a rule with DMLE (through EasyEdit's BaseEditor when EasyEdit is importable), prints a
before/after table and writes a Markdown report with plots."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("easyedit-plugins-demo"), help="report folder (default: %(default)s)")
    parser.add_argument("--preset", default="test", choices=("test", "full"),
                        help="world model: test (trains in about a minute) or full (about 10 minutes)")
    parser.add_argument("--arch", default="gpt2", choices=("gpt2", "llama"))
    parser.add_argument("--facts", type=int, default=3, help="facts each method edits (default: %(default)s)")
    parser.add_argument("--no-easyedit", action="store_true", help="use the package's own path even if EasyEdit is installed")


def run(args: argparse.Namespace) -> int:
    from ..demo import format_table, run_demo

    result = run_demo(args.out, args.preset, args.arch, args.facts, use_easyedit=not args.no_easyedit)
    print(f"Edited through {result.editor}.\n")
    print(format_table(result.rows))
    print(f"\nReport: {result.report}")
    return 0
