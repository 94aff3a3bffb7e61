"""List, show or copy the hyperparameter files shipped with the package.

``list`` prints their names (``BLUE/llama3-8b``); ``show NAME`` prints one; ``copy NAME DIR``
writes it into DIR to edit (``model_name``, ``stats_dir``, ...). A shipped name is also
accepted wherever a hyperparameter file is (``BLUEHyperParams.from_hparams("BLUE/llama3-8b")``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.files import write_text_atomically
from ..shipped import ShippedHParamsNotFound, hparams_path, shipped_hparams, shipped_hparams_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="<action>")
    listing = actions.add_parser("list", help="print the names of the shipped files")
    listing.add_argument("prefix", nargs="?", default="", help="only names starting with this (e.g. BLUE/)")
    show = actions.add_parser("show", help="print one shipped file")
    show.add_argument("name", help="a shipped name, e.g. BLUE/llama3-8b")
    copy = actions.add_parser("copy", help="copy one shipped file into a folder, to edit")
    copy.add_argument("name", help="a shipped name, e.g. BLUE/llama3-8b")
    copy.add_argument("directory", type=Path, help="folder to write it into (created if missing)")
    copy.add_argument("--force", action="store_true", help="overwrite a file of the same name")


def run(args: argparse.Namespace) -> int:
    action = args.action or "list"
    if action == "list":
        names = [name for name in shipped_hparams() if name.startswith(getattr(args, "prefix", ""))]
        if not names:
            print(f"error: no shipped hyperparameter files (looked in {shipped_hparams_dir()})", file=sys.stderr)
            return 2
        print("\n".join(names))
        return 0
    try:
        source = hparams_path(args.name)
    except ShippedHParamsNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = source.read_text(encoding="utf-8")
    if action == "show":
        sys.stdout.write(text)
        return 0
    target = args.directory / source.name
    if target.exists() and not args.force:
        print(f"error: {target} exists (pass --force to overwrite it)", file=sys.stderr)
        return 2
    args.directory.mkdir(parents=True, exist_ok=True)
    write_text_atomically(target, text)
    print(target)
    return 0
