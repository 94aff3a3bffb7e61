"""Writing files so that an interrupted run never leaves half a file under the final name.

Everything long-running writes results, caches and reports through :func:`write_atomically`:
the content goes to a temporary file in the same folder, is flushed to disk, and is then moved
into place with ``os.replace`` (atomic on POSIX and Windows). A reader sees the old file or the
new one, never a torn one.

A process killed inside a write (SIGKILL, the out-of-memory killer, a lost node) cannot remove
its temporary file, and a statistics file of a 7B model is about 0.5 GB. Temporary files are
therefore named ``.{name}.{host}.{pid}.{random}.tmp``, and every atomic write first removes
the temporary files in its folder whose writer, on this host, is no longer running
(:func:`remove_stale_temporaries`; other hosts' files on a shared disk are left alone, since
their processes cannot be seen from here). Long-running readers of a folder (the statistics
lookup) call it too, so a killed run's leftovers go at the latest on the next run. SIGTERM
during a write is turned into ``SystemExit`` (where the default action is in place), so a plain
``kill`` removes the temporary file before the process ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterator

logger = logging.getLogger(__name__)

TEMPORARY_SUFFIX = ".tmp"
#: ``.{name}.{host}.{pid}.{random}.tmp`` (``random`` from ``mkstemp``: no dots).
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[^.]+\.tmp$")
#: Temporary files of the earlier naming (``.{name}.{random}.tmp``, no writer recorded) are
#: removed once they are this old: no atomic write takes a day.
LEGACY_TEMPORARY_AGE_S = 24 * 3600


def _host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname())[:40] or "host"


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there; assume it runs
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _is_stale(path: Path, host: str) -> bool:
    match = _TEMPORARY.match(path.name)
    if match is None:
        try:
            return time.time() - path.stat().st_mtime > LEGACY_TEMPORARY_AGE_S
        except OSError:
            return False
    return match["host"] == host and not _process_alive(int(match["pid"]))


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete temporary files in ``folder`` left by writers that were killed; returns them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    host = _host_tag()
    removed = []
    for path in folder.glob(f".*{TEMPORARY_SUFFIX}"):
        if path.is_file() and _is_stale(path, host):
            try:
                path.unlink()
            except OSError as error:  # another process removed it first, or it is not ours to remove
                logger.debug("could not remove %s: %s", path, error)
                continue
            logger.info("removed %s, left by a killed process", path)
            removed.append(path)
    return removed


def _default_file_mode() -> int:
    """The mode ``open()`` would give a new file (``mkstemp`` makes it private, 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | Path, write: Callable[[IO[Any]], Any], binary: bool = False) -> Path:
    """Call ``write(stream)`` on a temporary file, then move it to ``path``; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    prefix = f".{path.name}.{_host_tag()}.{os.getpid()}."
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=TEMPORARY_SUFFIX)
    try:
        with _terminate_as_exit(), os.fdopen(handle, "wb" if binary else "w",
                                             **({} if binary else {"encoding": "utf-8"})) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _default_file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """While writing, turn SIGTERM (``kill PID``, a scheduler's cancel) into ``SystemExit`` so the
    temporary file is removed before the process ends.

    Only where Python's default SIGTERM action is in place and only in the main thread (where
    handlers can be set); a handler the application installed is left alone. SIGKILL cannot be
    caught: :func:`remove_stale_temporaries` covers it.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def exit_now(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_now)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomically(path, lambda stream: stream.write(text))
