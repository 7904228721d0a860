"""jobu.access: the operator's configuration of what handlers may touch, and its refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobu.access import JOB_STORE_DATABASE, DataAccess, S3Location
from jobu.errors import AccessDeniedError, ConfigurationError, NonRetryableError
from jobu.store.tables import TABLES_PATH, job_store_tables, tables_from_schema


def environ(root: Path | str = "", s3: str = "", databases: str = "", tables: str = "") -> dict[str, str]:
    return {
        "JOBU_DATA_ROOT": str(root),
        "JOBU_DATA_S3_LOCATIONS": s3,
        "JOBU_LOAD_DATABASES": databases,
        "JOBU_LOAD_TABLES": tables,
    }


@pytest.mark.parametrize(
    "missing", ["JOBU_DATA_ROOT", "JOBU_DATA_S3_LOCATIONS", "JOBU_LOAD_DATABASES", "JOBU_LOAD_TABLES"]
)
def test_each_setting_must_be_set_and_is_named(missing: str) -> None:
    settings = environ()
    del settings[missing]
    with pytest.raises(ConfigurationError, match=f"{missing} is not set"):
        DataAccess.from_environ(settings)


def test_empty_settings_allow_nothing(tmp_path: Path) -> None:
    access = DataAccess.from_environ(environ())
    with pytest.raises(AccessDeniedError, match="allows no local files"):
        access.local_path(str(tmp_path / "a.csv"))
    with pytest.raises(AccessDeniedError, match="none"):
        access.s3_object("bucket", "a.csv")
    with pytest.raises(AccessDeniedError, match="not in JOBU_LOAD_TABLES"):
        access.load_table(JOB_STORE_DATABASE, "sales")


@pytest.mark.parametrize("root", ["/", "/opt", "/opt/data", "/proc", "/var", "/var/task/x", "/etc", "/tmp"])
def test_a_data_root_over_system_folders_is_refused(root: str) -> None:
    with pytest.raises(ConfigurationError, match="JOBU_DATA_ROOT"):
        DataAccess.from_environ(environ(root=root))


def test_a_relative_data_root_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="absolute"):
        DataAccess.from_environ(environ(root="data"))


def test_paths_resolve_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "in").mkdir(parents=True)
    access = DataAccess.from_environ(environ(root=root))
    assert access.local_path("in/a.csv") == root / "in/a.csv"
    assert access.local_path(str(root / "in/../b.csv")) == root / "b.csv"


@pytest.mark.parametrize(
    "path", ["../x.csv", "in/../../x.csv", "/etc/passwd", "/proc/self/environ", "/var/task/app.py", "a\x00b"]
)
def test_paths_outside_the_root_are_refused_by_name(tmp_path: Path, path: str) -> None:
    access = DataAccess.from_environ(environ(root=tmp_path / "data"))
    with pytest.raises(AccessDeniedError, match="local path refused") as refused:
        access.local_path(path)
    assert repr(path) in str(refused.value)
    assert isinstance(refused.value, NonRetryableError)


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (tmp_path / "secret.csv").write_text("x")
    (root / "link.csv").symlink_to(tmp_path / "secret.csv")
    (root / "dir").symlink_to(tmp_path, target_is_directory=True)
    access = DataAccess.from_environ(environ(root=root))
    for path in ("link.csv", "dir/secret.csv"):
        with pytest.raises(AccessDeniedError, match="outside the data root"):
            access.local_path(path)


def test_files_are_opened_from_the_root_without_following_links(tmp_path: Path) -> None:
    root = tmp_path / "data"
    access = DataAccess.from_environ(environ(root=root))
    with access.open_folder(access.local_path("out/deep/x.parquet").parent, create=True) as folder:
        with folder.create("x.parquet") as stream:
            stream.write(b"rows")
        with pytest.raises(FileExistsError):
            folder.create("x.parquet")
    assert (root.stat().st_mode & 0o777, (root / "out").stat().st_mode & 0o777) == (0o700, 0o755)
    with access.open_file(access.local_path("out/deep/x.parquet")) as stream:
        assert stream.read() == b"rows"
    with pytest.raises(FileNotFoundError):
        access.open_file(access.local_path("out/missing.csv"))
    (root / "out/link.parquet").symlink_to(root / "out/deep/x.parquet")
    with pytest.raises(AccessDeniedError, match=r"link\.parquet' is a symbolic link"):
        access.open_file(root / "out/link.parquet")  # a path the check did not resolve
    with pytest.raises(AccessDeniedError, match="outside the data root"):
        access.open_folder(tmp_path)


def test_only_regular_files_are_opened(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir(mode=0o700)
    os.mkfifo(root / "fifo.csv")  # opening it to read would wait for a writer forever
    (root / "folder.csv").mkdir()
    access = DataAccess.from_environ(environ(root=root))
    for name in ("fifo.csv", "folder.csv"):
        with pytest.raises(AccessDeniedError, match="is not a regular file"):
            access.open_file(access.local_path(name))


@pytest.mark.parametrize(
    ("bucket", "key"),
    [
        ("pipeline", "secret.csv"),  # outside the prefix
        ("pipeline", "rawx/a.csv"),  # the prefix is a folder, not a string prefix
        ("other", "raw/a.csv"),
        ("pipeline", "raw/../secret.csv"),
        ("pipeline", "raw/./a.csv"),
        ("pipeline", "raw//a.csv"),
        ("pipeline", "/raw/a.csv"),
        ("pipeline", "raw/a\\..\\b.csv"),
        ("pipeline", "raw/a\n.csv"),
    ],
)
def test_s3_objects_outside_the_locations_are_refused(bucket: str, key: str) -> None:
    access = DataAccess.from_environ(environ(s3="s3://pipeline/raw/, s3://pipeline/clean"))
    with pytest.raises(AccessDeniedError, match=r"S3 (object|key) refused"):
        access.s3_object(bucket, key)
    access.s3_object("pipeline", "raw/a.csv")
    access.s3_object("pipeline", "clean/deep/b.parquet")


def test_s3_locations_parse() -> None:
    assert S3Location.parse("s3://b") == S3Location("b", "")
    assert S3Location.parse("s3://b/p/q/") == S3Location("b", "p/q/")
    for bad in ("b/p", "s3:///p", "s3://b/../p"):
        with pytest.raises(ConfigurationError, match="JOBU_DATA_S3_LOCATIONS"):
            S3Location.parse(bad)


def test_load_tables_are_an_allow_list_on_named_databases() -> None:
    access = DataAccess.from_environ(
        environ(
            databases="warehouse=arn:aws:secretsmanager:us-east-1:123456789012:secret:wh",
            tables="jobstore:sales, warehouse:staging.sales",
        )
    )
    assert access.load_table("jobstore", "sales").table_name == "sales"
    assert access.load_table("warehouse", "staging.sales").table_name == "sales"
    assert access.database("warehouse").endswith(":secret:wh")  # type: ignore[union-attr]
    assert access.database(JOB_STORE_DATABASE) is None
    with pytest.raises(AccessDeniedError, match="'elsewhere' is not configured"):
        access.database("elsewhere")
    for database, table, reason in [
        ("jobstore", "staging.sales", "not in JOBU_LOAD_TABLES"),
        ("warehouse", "sales", "not in JOBU_LOAD_TABLES"),
        ("elsewhere", "sales", "'elsewhere' is not configured"),
        ("jobstore", "cron_jobs", "job store's own tables"),
        ("warehouse", "public.CRON_JOBS", "job store's own tables"),
    ]:
        with pytest.raises(AccessDeniedError, match=reason):
            access.load_table(database, table)


@pytest.mark.parametrize(
    ("databases", "tables", "message"),
    [
        ("", "jobstore:cron_jobs", "job store table"),
        ("", "jobstore:Schema_Migrations", "job store table"),
        ("", "warehouse:sales", "does not define"),
        ("", "sales", "expected database:table"),
        ("jobstore=postgresql://x/y", "", "job store's database already"),
        ("warehouse", "", "expected name="),
        ("postgresql://x/y=arn:aws:secretsmanager:us-east-1:1:secret:x", "", "is not a name"),
        ("/tmp/x.db=sqlite:////tmp/x.db", "", "is not a name"),
    ],
)
def test_bad_load_configuration_is_named(databases: str, tables: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        DataAccess.from_environ(environ(databases=databases, tables=tables))


def test_job_store_tables_are_derived_from_the_schema() -> None:
    """A migration that adds a table must rewrite job_store_tables.json (make manifest)."""
    assert sorted(job_store_tables()) == tables_from_schema()
    assert json.loads(TABLES_PATH.read_text())["tables"] == tables_from_schema()
    assert {"cron_jobs", "job_executions", "rejected_events", "schema_migrations"} <= job_store_tables()


def test_a_new_migration_table_is_found(tmp_path: Path) -> None:
    from jobu.store.tables import tables_in_sql

    (tmp_path / "postgres").mkdir()
    (tmp_path / "postgres/009_x.sql").write_text('CREATE TABLE IF NOT EXISTS "Audit_Log" (id int);\n')
    assert tables_in_sql(tmp_path) == ["audit_log"]


def test_the_tables_command_prints_the_same_list() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jobu.store.tables"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == tables_from_schema()
