"""Issue 19, finding 9: a symlink swapped in between jobu.access's check and the open.

jobu.access checked a path (resolved inside the data root) and the handler opened it again by
name, so whoever could write in the data root could swap a checked file or folder for a link to
anything the worker can read, or a folder for a link to anywhere it can write, after the check.
Now a local file is opened from a descriptor of the data root, folder by folder, never following
a link, and outputs are created and renamed in the folder held open: the swap is refused. The
moment between check and open is made deterministic by swapping inside the check itself
(`DataAccess.local_path`, which the pipeline calls for every local path before opening any).

And a data root that other users can write to, or that is not the worker's own, is refused: a
swap needs write access to the root, and the worker is the only one who should have it.

The job store plays no part here: SQLite only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jobu.access import DataAccess
from tests.security.conftest import Sentinel, only_run, produce
from tests.support.harness import Harness


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def root(root: Path) -> Path:
    """The data root with raw/sales.csv (tests.security.conftest), and a clean/ folder."""
    (root / "clean").mkdir()
    return root


def swap_after_check(monkeypatch: pytest.MonkeyPatch, path: str, swap: Callable[[], None]) -> None:
    """Run `swap` right after jobu.access has checked `path`, before anything opens it."""
    check = DataAccess.local_path

    def checked_then_swapped(access: DataAccess, requested: str) -> Path:
        allowed = check(access, requested)
        if requested == path:
            swap()
        return allowed

    monkeypatch.setattr(DataAccess, "local_path", checked_then_swapped)


def replace_with_link(path: Path, target: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    path.symlink_to(target, target_is_directory=target.is_dir())


def refused(harness: Harness, what: str) -> str:
    run = only_run(harness)
    assert (run.status, run.retry_count) == ("FAILED", 0), run.error_message
    message = run.error_message or ""
    assert "AccessDeniedError" in message
    assert what in message
    assert Sentinel.CONTENT.splitlines()[0] not in message
    return message


def test_an_input_swapped_for_a_link_after_the_check_is_not_read(
    harness: Harness, root: Path, sentinel: Sentinel, monkeypatch: pytest.MonkeyPatch
) -> None:
    swap_after_check(
        monkeypatch, "raw/sales.csv", lambda: replace_with_link(root / "raw/sales.csv", sentinel.path)
    )

    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": "clean/out.parquet"})

    assert "'raw/sales.csv' is a symbolic link" in refused(harness, "symbolic link").replace(
        str(root) + "/", ""
    )
    assert not sentinel.was_read()
    assert not (root / "clean/out.parquet").exists()


def test_an_input_folder_swapped_for_a_link_after_the_check_is_not_entered(
    harness: Harness, root: Path, sentinel: Sentinel, monkeypatch: pytest.MonkeyPatch
) -> None:
    (sentinel.path.parent / "sales.csv").symlink_to(sentinel.path)  # outside/sales.csv -> the secret
    swap_after_check(
        monkeypatch, "raw/sales.csv", lambda: replace_with_link(root / "raw", sentinel.path.parent)
    )

    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": "clean/out.parquet"})

    refused(harness, f"{str(root / 'raw')!r} is a symbolic link")
    assert not sentinel.was_read()
    assert not (root / "clean/out.parquet").exists()


def test_an_output_folder_swapped_for_a_link_after_the_check_gets_nothing(
    harness: Harness, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    swap_after_check(monkeypatch, "clean/out.parquet", lambda: replace_with_link(root / "clean", elsewhere))

    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": "clean/out.parquet"})

    refused(harness, f"{str(root / 'clean')!r} is a symbolic link")
    assert list(elsewhere.iterdir()) == []


def test_an_output_name_made_a_link_is_replaced_not_written_through(
    harness: Harness, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim.parquet"
    victim.write_bytes(b"precious")
    swap_after_check(
        monkeypatch, "clean/out.parquet", lambda: (root / "clean/out.parquet").symlink_to(victim)
    )

    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": "clean/out.parquet"})

    assert only_run(harness).status == "SUCCESS"
    assert victim.read_bytes() == b"precious"
    assert not (root / "clean/out.parquet").is_symlink()
    assert pq.read_table(root / "clean/out.parquet").num_rows == 1


def test_unswapped_paths_and_links_inside_the_root_still_work(harness: Harness, root: Path) -> None:
    """The control: a link that stays inside the root is resolved by the check, and the file it
    resolves to is what is opened."""
    (root / "raw/latest.csv").symlink_to(root / "raw/sales.csv")

    produce(
        harness, "pandas_preprocess", {"input_path": "raw/latest.csv", "output_path": "clean/new/out.parquet"}
    )

    assert only_run(harness).status == "SUCCESS"
    assert pq.read_table(root / "clean/new/out.parquet").num_rows == 1


@pytest.mark.parametrize("mode", [0o770, 0o757, 0o777, 0o1777])
def test_a_data_root_other_users_can_write_to_is_refused(harness: Harness, root: Path, mode: int) -> None:
    root.chmod(mode)

    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": "clean/out.parquet"})

    run = only_run(harness)
    assert (run.status, run.retry_count) == ("FAILED", 0)
    assert f"is writable by other users (mode {mode:o}): chmod go-w it" in (run.error_message or "")
    assert "ConfigurationError: JOBU_DATA_ROOT" in (run.error_message or "")
    assert not (root / "clean/out.parquet").exists()


def test_a_data_root_of_another_user_is_refused(harness: Harness, root: Path) -> None:
    os.chown(root, os.geteuid() + 1, -1)  # the tests run as root, who may give it away

    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": "clean/out.parquet"})

    run = only_run(harness)
    assert (run.status, run.retry_count) == ("FAILED", 0)
    assert f"belongs to uid {os.geteuid() + 1}, not to the worker's user" in (run.error_message or "")


def test_a_folder_inside_the_root_other_users_can_write_to_is_refused(harness: Harness, root: Path) -> None:
    (root / "raw").chmod(0o777)

    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": "clean/out.parquet"})

    refused(harness, f"folder {str(root / 'raw')!r} is writable by other users")
