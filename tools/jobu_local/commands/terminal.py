"""What `jobu` writes for a person reaches the terminal with its control characters made visible.

Stored text is hostile: a Kafka record's raw value, a dead letter's body, a job's name or
description, a run's error or a function's log line may carry terminal control sequences (an OSC 52
write to the clipboard, an erase-line that hides what came before, a bidi override that shows text
in another order than it reads). `jobu`'s main runs every command inside `escaped_output`, so
whatever it prints, from any module, goes through one place: each C0 control but tab and newline,
DEL and each C1 control becomes `\\x1b`-style text, and the Unicode bidi controls and line and
paragraph separators `\\u202e`-style text. Output for programs (--json) is written as it is: JSON
escapes control characters itself, so it stays exact and parses back to the stored text.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

_CONTROLS = [code for code in [*range(0x20), *range(0x7F, 0xA0)] if chr(code) not in "\t\n"]
# the bidi embeddings, overrides, isolates and marks, and the separators that break a line unseen
_UNICODE = [0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
ESCAPES = {code: f"\\x{code:02x}" for code in _CONTROLS} | {code: f"\\u{code:04x}" for code in _UNICODE}


def escaped(text: str) -> str:
    return text.translate(ESCAPES)


class _Escaping:
    """A text stream that writes `escaped` text to the stream it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream

    def write(self, text: str) -> int:
        self.wrapped.write(escaped(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding...
        return getattr(self.wrapped, name)


@contextmanager
def escaped_output(*, stdout: bool = True) -> Iterator[None]:
    """sys.stderr, and sys.stdout unless `stdout` is false (it carries JSON), escape while inside."""
    saved = sys.stdout, sys.stderr
    sys.stderr = cast(TextIO, _Escaping(sys.stderr))
    if stdout:
        sys.stdout = cast(TextIO, _Escaping(sys.stdout))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
