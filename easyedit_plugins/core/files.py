"""Writing files so that an interrupted run never leaves half a file under the final name.

Everything long-running writes results, caches and reports through :func:`write_atomically`:
the content goes to a temporary file in the same folder, is flushed to disk, and is then moved
into place with ``os.replace`` (atomic on POSIX and Windows). A reader sees the old file or the
new one, never a torn one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable


def _default_file_mode() -> int:
    """The mode ``open()`` would give a new file (``mkstemp`` makes it private, 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | Path, write: Callable[[IO[Any]], Any], binary: bool = False) -> Path:
    """Call ``write(stream)`` on a temporary file, then move it to ``path``; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _default_file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomically(path, lambda stream: stream.write(text))
