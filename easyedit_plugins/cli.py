"""``easyedit-plugins <command>``: the command-line entry point.

Each command lives in its own module under :mod:`easyedit_plugins.commands` with two
functions, ``add_arguments(parser)`` and ``run(args) -> int``; this module only wires them up,
and does for every command what every command needs:

* ``-v``/``--verbose``, ``-q``/``--quiet`` and ``--threads`` (before or after the command name);
* a PyTorch thread count chosen for this machine (:mod:`easyedit_plugins.threads`), named in
  the first log line;
* expected failures as one ``error: ...`` line and exit code 2 (:mod:`.commands.failures`).

The command modules import torch and transformers only inside ``run``, so ``--help`` stays
fast (no torch import at all).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from contextlib import nullcontext
from typing import ContextManager, Sequence

from ._version import __version__
from .commands.failures import expected_failures, report
from .progress import set_progress
from .threads import ThreadChoice, choose_threads, torch_threads

logger = logging.getLogger("easyedit_plugins.cli")  # the same name when run with -m

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

#: Commands that never touch torch: no thread count to choose.
NO_TORCH = frozenset({"plugins", "hparams"})

EPILOG = (
    "Progress bars go to stderr; -q or EASYEDIT_PLUGINS_PROGRESS=0 hides them. Expected failures "
    "print one 'error: ...' line and exit with code 2; -v adds the traceback and the log of "
    "each step (-vv: debug)."
)


def _common_options(dest_suffix: str = "") -> argparse.ArgumentParser:
    """-v, -q and --threads, accepted before the command name and after it."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", dest=f"verbose{dest_suffix}", action="count", default=0,
                        help="log each step on stderr and show tracebacks of errors (-vv for debug)")
    common.add_argument("-q", "--quiet", dest=f"quiet{dest_suffix}", action="store_true",
                        help="no progress bars and no log lines but errors")
    common.add_argument("--threads", dest=f"threads{dest_suffix}", type=int, default=None, metavar="N",
                        help="PyTorch CPU threads (default: the cores this process may use)")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="easyedit-plugins",
        description="BLUE, DMLE, LGA and PAC knowledge editing for EasyEdit.",
        parents=[_common_options()],
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    sub_common = _common_options("_sub")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f".commands.{module_name}", __package__)
        sub = subparsers.add_parser(name, help=help_text, description=module.__doc__, epilog=EPILOG,
                                    parents=[sub_common], formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    """Warnings by default (and this module's one line on the thread count); -v: info; -vv: debug."""
    level = logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not quiet:
        logger.setLevel(min(level, logging.INFO))


def _torch_setup(command: str, requested: int | None) -> tuple[ThreadChoice, ContextManager[None]]:
    """The thread count for ``command`` and the block to run it in; logged as the first line.

    ``OMP_WAIT_POLICY=PASSIVE`` (unless the environment sets it): PyTorch's OpenMP threads
    otherwise spin at the end of every operation waiting for each other, and on a busy machine
    the spinning thread takes the core from the one it waits for. Measured on 2 shared cores
    (benchmarks/results/demo-2026-11-26.md) the demo took 164 s with 2 spinning threads and 30 s
    with 2 passive ones. The variable is read once, when torch loads its OpenMP runtime, hence
    before the import.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    choice = choose_threads(requested)
    logger.info("easyedit-plugins %s: %s", command, choice.describe())
    return choice, torch_threads(choice.threads)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = args.verbose + getattr(args, "verbose_sub", 0)
    quiet = args.quiet or getattr(args, "quiet_sub", False)
    threads = args.threads if getattr(args, "threads_sub", None) is None else args.threads_sub
    _configure_logging(verbose, quiet)
    if quiet:
        set_progress(False)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        block: ContextManager[None] = nullcontext()
        if args.command not in NO_TORCH:
            choice, block = _torch_setup(args.command, threads)
            args.threads = choice.threads
        with block:
            return int(args._run(args) or 0)
    except expected_failures() as error:
        return report(error, verbose)


if __name__ == "__main__":
    sys.exit(main())
