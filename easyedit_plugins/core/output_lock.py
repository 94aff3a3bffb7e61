"""One run per output folder: a lock file that names the process holding it.

Two ``ruleedit`` runs on the same ``--out`` used to interleave: both found no manifest, both
wrote one (the last won), and the folder ended up with rules from two settings under one
manifest, which a later resume accepted. A command that writes an output folder now holds
:class:`OutputLock` on it for its whole run; a second one refuses at once with
:class:`OutputLocked`, naming the holder's process id, host and start time.

The lock is an advisory ``flock`` on ``<folder>/.easyedit-plugins.lock``, which also holds the
holder's pid for the message. The kernel drops a ``flock`` when its process dies, however it
dies, so a lock left by a killed run is stale by construction and the next run takes it over
(logging whose it was); nothing has to guess from pids whether the holder still runs. Where
``fcntl`` does not exist (Windows) the file is created exclusively instead, and a lock file
left by a killed run must be deleted by hand (the message says which).
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

LOCK_NAME = ".easyedit-plugins.lock"

F = TypeVar("F", bound=Callable[..., Any])


class OutputLocked(OSError):
    """Another run holds the output folder; the message names its process."""


def _describe(holder: dict[str, Any]) -> str:
    if not holder.get("pid"):
        return "another process (it has not written its id yet)"
    text = f"process {holder['pid']}"
    if holder.get("host"):
        text += f" on {holder['host']}"
    if holder.get("started"):
        text += f", running since {holder['started']}"
    if holder.get("command"):
        text += f" ({holder['command']})"
    return text


def _read_holder(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 65536)
    try:
        holder = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return holder if isinstance(holder, dict) else {}


class OutputLock:
    """``with OutputLock(folder):`` -- hold ``folder`` for this process or raise :class:`OutputLocked`."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self._fd: int | None = None

    def _record(self) -> bytes:
        return json.dumps({
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:200],
        }).encode("utf-8")

    def _refuse(self, holder: dict[str, Any]) -> OutputLocked:
        return OutputLocked(
            f"{self.directory} is in use by {_describe(holder)}, which holds {self.path}; wait for it to finish "
            "or use another output folder"
        )

    def acquire(self) -> "OutputLock":
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this lock object")
        self.directory.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            return self._acquire_exclusive()
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read_holder(fd)
                os.close(fd)
                raise self._refuse(holder) from None
            # the holder before us may have removed the file between our open() and flock()
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        previous = _read_holder(fd)
        if previous.get("pid"):
            logger.warning("taking over the lock of %s on %s: that run ended without releasing it",
                           _describe(previous), self.directory)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, self._record())
        os.fsync(fd)
        self._fd = fd
        return self

    def _acquire_exclusive(self) -> "OutputLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            fd = os.open(self.path, os.O_RDONLY)
            holder = _read_holder(fd)
            os.close(fd)
            error = self._refuse(holder)
            raise OutputLocked(f"{error} (if that process is gone, delete {self.path})") from None
        os.write(fd, self._record())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            self.path.unlink(missing_ok=True)  # while still locked: no one can hold the old inode
        finally:
            os.close(fd)  # drops the flock

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def holds_output_lock(parameter: str) -> Callable[[F], F]:
    """Decorate a function so that it runs holding :class:`OutputLock` on its argument ``parameter``."""

    def decorate(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            folder = signature.bind(*args, **kwargs).arguments[parameter]
            with OutputLock(folder):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
