"""The asyncmy LOAD DATA LOCAL fix: names decoded, and only the file being loaded is ever sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncmy.connection

from jobu_handlers.pipeline.asyncmy_infile import allow_local_infile, install


class _Conn:
    loop: Any = None


def sender(filename: bytes) -> Any:
    return asyncmy.connection.LoadLocalFile(filename, _Conn())


def test_requested_file_is_decoded_when_allowed(tmp_path: Path) -> None:
    install()
    wanted = tmp_path / "load.csv"

    with allow_local_infile(wanted) as name:
        assert sender(name.encode()).filename == str(wanted)


def test_other_files_are_never_sent(tmp_path: Path) -> None:
    install()

    with allow_local_infile(tmp_path / "load.csv"):
        assert sender(b"/etc/passwd").filename == ""
    assert sender(str(tmp_path / "load.csv").encode()).filename == ""  # outside the block


def test_install_is_idempotent() -> None:
    install()
    patched = asyncmy.connection.LoadLocalFile
    install()

    assert asyncmy.connection.LoadLocalFile is patched
