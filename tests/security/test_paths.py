"""Attack 2: read any local file and write it anywhere; and path traversal in S3 keys.

Before issue 9, pandas_preprocess read /etc/os-release and wrote it to a path of the record's
choosing, and error messages quoted file content. Now every path is checked against the data
root and the S3 locations before anything is opened: the run fails at once naming the path,
the file is not read (its access time stays), nothing is written, no content is quoted.

The job store plays no part in these checks, so they run on SQLite only.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.security.conftest import Sentinel, only_run, produce, tree
from tests.support.harness import Harness

MARKER = "JOBU-ENV-MARKER-7c2e"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def refused(run: Any, path: str) -> str:
    assert (run.status, run.retry_count) == ("FAILED", 0)
    message: str = run.error_message or ""
    assert "AccessDeniedError" in message
    assert repr(path) in message
    assert Sentinel.CONTENT.splitlines()[0] not in message
    assert run.result is None
    return message


INPUTS = [
    "{secret}",  # absolute, outside the root
    "../outside/secret.csv",  # relative, climbing out
    "{root}/raw/../../outside/secret.csv",
    "raw/link.csv",  # a symlink inside the root, to the secret
    "raw/up/outside/secret.csv",  # a symlinked folder
]


@pytest.mark.parametrize("template", INPUTS)
def test_an_input_outside_the_data_root_is_not_read(
    harness: Harness, root: Path, sentinel: Sentinel, template: str
) -> None:
    (root / "raw/link.csv").symlink_to(sentinel.path)
    (root / "raw/up").symlink_to(sentinel.path.parent.parent, target_is_directory=True)
    before = tree(root)
    path = template.format(secret=sentinel.path, root=root)

    produce(harness, "pandas_preprocess", {"input_path": path, "output_path": "clean/out.parquet"})

    assert "outside the data root" in refused(only_run(harness), path)
    assert not sentinel.was_read()
    assert tree(root) == before


@pytest.mark.parametrize(
    "path", ["/proc/self/environ", "/etc/os-release", "/var/task/app.py", "/opt/python/x"]
)
def test_system_files_are_never_inputs(
    harness: Harness, root: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setenv("JOBU_TEST_SECRET", MARKER)  # what /proc/self/environ would leak
    before = tree(root)

    produce(harness, "pandas_preprocess", {"input_path": path, "output_path": "clean/out.parquet"})

    run = only_run(harness)
    refused(run, path)
    assert MARKER not in json.dumps(dataclasses.asdict(run), default=str)
    assert tree(root) == before


@pytest.mark.parametrize(
    "template", ["../outside/evil.parquet", "{outside}/evil.parquet", "/tmp/evil.parquet"]
)
def test_an_output_outside_the_data_root_is_not_written(
    harness: Harness, root: Path, tmp_path: Path, template: str
) -> None:
    outside = tmp_path / "outside"
    path = template.format(outside=outside)
    target = (root / path).resolve()
    before = tree(root)

    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": path})

    refused(only_run(harness), path)
    assert not target.exists()
    assert tree(root) == before


def test_a_validator_output_outside_the_root_refuses_the_whole_step(harness: Harness, root: Path) -> None:
    before = tree(root)
    params = {
        "input_path": "raw/sales.csv",
        "model": "sale",
        "valid_output_path": "valid/sales.parquet",
        "rejected_output_path": "../../rejected.csv",
    }

    produce(harness, "pydantic_validator", params)

    refused(only_run(harness), "../../rejected.csv")
    assert tree(root) == before


def test_local_paths_inside_the_root_still_work(harness: Harness, root: Path) -> None:
    """The control: the same step on allowed paths succeeds."""
    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": "clean/out.parquet"})

    assert only_run(harness).status == "SUCCESS"
    assert (root / "clean/out.parquet").is_file()


@pytest.fixture
def bucket(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Bucket "pipeline", of which only raw/ and clean/ are the pipeline's; secret.csv is not."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="pipeline")
    s3.create_bucket(Bucket="other")
    s3.put_object(Bucket="pipeline", Key="raw/sales.csv", Body=b"order_id,customer\n1,alice\n")
    s3.put_object(Bucket="pipeline", Key="secret.csv", Body=Sentinel.CONTENT.encode())
    s3.put_object(Bucket="other", Key="raw/sales.csv", Body=Sentinel.CONTENT.encode())
    monkeypatch.setenv("JOBU_DATA_S3_LOCATIONS", "s3://pipeline/raw/,s3://pipeline/clean/")
    return s3


def objects(s3: Any) -> dict[str, list[str]]:
    return {
        name: sorted(item["Key"] for item in s3.list_objects_v2(Bucket=name).get("Contents", []))
        for name in ("pipeline", "other")
    }


@pytest.mark.parametrize(
    "path",
    [
        "s3://pipeline/secret.csv",
        "s3://pipeline/raw/../secret.csv",
        "s3://pipeline/raw/./../secret.csv",
        "s3://pipeline/raw//secret.csv",
        "s3://pipeline/rawsecret.csv",
        "s3://other/raw/sales.csv",
    ],
)
def test_s3_inputs_outside_the_locations_are_refused(harness: Harness, bucket: Any, path: str) -> None:
    before = objects(bucket)

    produce(
        harness, "pandas_preprocess", {"input_path": path, "output_path": "s3://pipeline/clean/out.parquet"}
    )

    assert "refused" in refused(only_run(harness), f"{path}")
    assert objects(bucket) == before


@pytest.mark.parametrize(
    "path",
    ["s3://pipeline/evil.parquet", "s3://pipeline/clean/../evil.parquet", "s3://other/clean/x.parquet"],
)
def test_s3_outputs_outside_the_locations_are_not_written(harness: Harness, bucket: Any, path: str) -> None:
    before = objects(bucket)

    produce(harness, "pandas_preprocess", {"input_path": "s3://pipeline/raw/sales.csv", "output_path": path})

    refused(only_run(harness), path)
    assert objects(bucket) == before


def test_s3_paths_inside_the_locations_still_work(harness: Harness, bucket: Any) -> None:
    params = {"input_path": "s3://pipeline/raw/sales.csv", "output_path": "s3://pipeline/clean/out.parquet"}
    produce(harness, "pandas_preprocess", params)

    assert only_run(harness).status == "SUCCESS"
    assert "clean/out.parquet" in objects(bucket)["pipeline"]


def test_the_worker_refuses_every_path_when_no_root_is_configured(
    harness: Harness, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBU_DATA_ROOT", "")
    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": "clean/out.parquet"})
    assert "allows no local files" in refused(only_run(harness), "clean/out.parquet")
    assert not (root / "clean").exists()


def test_a_missing_setting_fails_the_run_naming_it(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBU_DATA_S3_LOCATIONS")
    produce(harness, "pandas_preprocess", {"input_path": "raw/sales.csv", "output_path": "clean/out.parquet"})
    run = only_run(harness)
    assert (run.status, run.retry_count) == ("FAILED", 0)
    message = run.error_message or ""
    assert "ConfigurationError: environment variable JOBU_DATA_S3_LOCATIONS is not set" in message
