"""Progress bars on stderr for long work, all switched off in one place.

Every bar of the package (edits, target optimisation, statistics, world training, PAC epochs,
RuleEdit rules, LGA batches) comes from :func:`progress_bar`, so ``--quiet``, the environment
variable ``EASYEDIT_PLUGINS_PROGRESS=0`` or :func:`set_progress` hides all of them at once,
including the ones deep inside a method that has no ``progress`` argument of its own.
"""

from __future__ import annotations

import os
from typing import Any

#: Environment variable that switches every bar off when set to 0, false, no or off.
PROGRESS_ENV = "EASYEDIT_PLUGINS_PROGRESS"

_enabled: bool | None = None


def set_progress(enabled: bool | None) -> None:
    """Show (True) or hide (False) every bar; None goes back to the environment's choice."""
    global _enabled
    _enabled = enabled


def progress_enabled() -> bool:
    """Whether bars are shown: :func:`set_progress`'s choice, else ``EASYEDIT_PLUGINS_PROGRESS``."""
    if _enabled is not None:
        return _enabled
    return os.environ.get(PROGRESS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


#: Seconds a bar waits before it first shows: work that finishes sooner (a small edit inside a
#: benchmark's loop of hundreds) prints nothing.
DELAY_SECONDS = 1.0


def progress_bar(*args: Any, disable: bool = False, **kwargs: Any) -> Any:
    """A ``tqdm`` bar on stderr, hidden when the caller or the global switch says so, and shown
    only once the work has taken :data:`DELAY_SECONDS`."""
    from tqdm.auto import tqdm

    kwargs.setdefault("delay", DELAY_SECONDS)
    return tqdm(*args, disable=disable or not progress_enabled(), **kwargs)
