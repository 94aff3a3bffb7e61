"""``easyedit-plugins <command>``: the command-line entry point.

Each command lives in its own module under :mod:`easyedit_plugins.commands` with two
functions, ``add_arguments(parser)`` and ``run(args) -> int``; this module only wires them up.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from ._version import __version__

#: command name -> (module under easyedit_plugins.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "edit the trained miniature world with every method and show the result (offline)"),
    "plugins": ("plugins", "list every registered method, dataset, evaluator and layer selector"),
    "world": ("world", "build (train) or inspect the miniature world model"),
    "stats": ("stats", "compute covariance statistics of MLP keys from a local corpus"),
    "ruleedit": ("ruleedit", "run RuleEdit-200 end to end for any registered method"),
    "lga": ("lga", "search the golden layers with LGA and write a ready hparams file"),
    "hparams": ("hparams", "list, show or copy the hyperparameter files shipped with the package"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="easyedit-plugins",
        description="BLUE, DMLE, LGA and PAC knowledge editing for EasyEdit.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f".commands.{module_name}", __package__)
        sub = subparsers.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
