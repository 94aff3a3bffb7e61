"""How a command reports a failure it expected: one ``error: ...`` line on stderr, exit code 2.

A missing corpus, model folder or data file, a bad ``--method-kwargs`` value, a device that is
not there or a bad hyperparameter file is the user's to fix, and a traceback only hides the one
line that says what to fix; ``-v`` shows the traceback too. Anything else is a bug and keeps
Python's own traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback

#: Exit code of a command that stopped on an expected failure (argparse's own for usage errors).
EXIT_FAILURE = 2


class CommandError(Exception):
    """A failure the user can fix, raised by a command with the message to show."""


def expected_failures() -> tuple[type[BaseException], ...]:
    """The exception types a command reports as one line.

    The package's own errors for bad input derive from these (``HyperParamsError``,
    ``CorpusError``, ``ManifestMismatch``, ``RuleSelectionError`` from ``ValueError``;
    ``ModelLoadError`` from ``OSError``; ``UnknownMethodError`` from ``LookupError``).
    """
    import yaml

    return (CommandError, argparse.ArgumentTypeError, yaml.YAMLError, OSError, LookupError, ValueError, ImportError)


def message(error: BaseException) -> str:
    """The text after ``error:``; a KeyError's own text, not its repr."""
    if isinstance(error, KeyError) and error.args:  # str() of a KeyError is its repr
        return str(error.args[0])
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0] if isinstance(error, OSError) else " ".join(text.split("\n"))


def report(error: BaseException, verbose: int) -> int:
    """Print ``error: <message>`` (and the traceback with ``-v``) on stderr; return the exit code."""
    if verbose:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    print(f"error: {message(error)}", file=sys.stderr)
    return EXIT_FAILURE
