"""Where trained world models live on disk, and how they get there without half-written copies.

A world model is built once per set of parameters and reused by every later test run, example
and command. Three rules keep the cache honest:

* the directory name carries a hash of every parameter that changes the result, so a changed
  preset, seed or data generator never reuses an old model;
* a model is built in a temporary sibling directory and renamed into place only when complete,
  with a manifest written last, so an interrupted build never looks finished;
* builders of the same directory take a file lock and re-check after acquiring it, so two
  processes starting at once train once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

from filelock import FileLock, Timeout

logger = logging.getLogger(__name__)

#: Environment variable that overrides the cache root.
CACHE_ENVIRONMENT_VARIABLE = "EASYEDIT_PLUGINS_CACHE"

#: Written last into a finished directory; its presence (with the right key) means complete.
MANIFEST_NAME = "manifest.json"

_PARTIAL_MARKER = ".partial-"


def cache_root() -> Path:
    """``$EASYEDIT_PLUGINS_CACHE``, else ``$XDG_CACHE_HOME/easyedit_plugins``, else ``~/.cache/easyedit_plugins``."""
    explicit = os.environ.get(CACHE_ENVIRONMENT_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "easyedit_plugins"


def parameters_key(parameters: Mapping[str, Any]) -> str:
    """A short stable hash of JSON-serialisable ``parameters`` (key order does not matter)."""
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def is_complete(directory: Path, key: str) -> bool:
    """Whether ``directory`` holds a finished build of ``key`` (its manifest says so)."""
    try:
        manifest = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("key") == key


def _discard_leftovers(directory: Path) -> None:
    """Remove partial builds of ``directory`` left by interrupted processes (call under the lock)."""
    for leftover in directory.parent.glob(f".{directory.name}{_PARTIAL_MARKER}*"):
        logger.warning("removing the partial build %s left by an interrupted run", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    if directory.exists():
        logger.warning("removing %s: it has no valid %s, so its build never finished", directory, MANIFEST_NAME)
        shutil.rmtree(directory)


def build_once(directory: Path, key: str, parameters: Mapping[str, Any], build: Callable[[Path], None]) -> Path:
    """Return ``directory``, first running ``build(temporary_directory)`` unless it is complete.

    ``build`` writes everything into the directory it is given; the manifest (``key`` and
    ``parameters``) is added after it returns, and the directory is renamed into place.
    """
    if is_complete(directory, key):
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory.parent / f"{directory.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("another process is building %s; waiting for it to finish", directory)
        lock.acquire()
    try:
        if is_complete(directory, key):
            return directory
        _discard_leftovers(directory)
        temporary = Path(tempfile.mkdtemp(prefix=f".{directory.name}{_PARTIAL_MARKER}", dir=directory.parent))
        try:
            build(temporary)
            manifest = json.dumps({"key": key, "parameters": parameters}, indent=2, sort_keys=True)
            (temporary / MANIFEST_NAME).write_text(manifest, encoding="utf-8")
            os.replace(temporary, directory)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    finally:
        lock.release()
    return directory
