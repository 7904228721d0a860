"""LOAD DATA LOCAL INFILE through asyncmy: a fix for its file sender, and a guard around it.

asyncmy 0.2.18 cannot send a local file at all: the server names the file it wants in bytes,
and asyncmy's `LoadLocalFile` (compiled with a `str` annotation) rejects them with
"TypeError: Argument 'filename' has incorrect type (expected str, got bytes)". `install()`
replaces that class, in asyncmy's connection module, with a subclass that decodes the name.

The subclass also closes a hole the protocol opens: with local_infile on, the *server* says
which client file to send. Only files named in an `allow_local_infile(...)` block of the
current task are sent; any other request gets "Can't find file" and no bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

_ALLOWED: ContextVar[frozenset[str]] = ContextVar("jobu_local_infile_allowed", default=frozenset())


def install() -> None:
    """Patch asyncmy's LoadLocalFile once per process (idempotent)."""
    from asyncmy import connection

    original: Any = connection.LoadLocalFile
    if getattr(original, "jobu_guarded", False):
        return

    class GuardedLoadLocalFile(original):  # type: ignore[misc]
        jobu_guarded = True

        def __init__(self, filename: bytes | str, conn: Any) -> None:
            name = filename.decode() if isinstance(filename, bytes) else filename
            # an empty name makes the original sender fail with "Can't find file", sending nothing
            super().__init__(name if name in _ALLOWED.get() else "", conn)

    connection.LoadLocalFile = GuardedLoadLocalFile  # type: ignore[assignment, misc]


@contextmanager
def allow_local_infile(path: Path) -> Iterator[str]:
    """Let the server ask for `path` (only) while the block runs; yields the name to put in SQL."""
    name = str(path)
    token = _ALLOWED.set(frozenset({name}))
    try:
        yield name
    finally:
        _ALLOWED.reset(token)
