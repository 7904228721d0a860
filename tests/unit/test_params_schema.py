"""Params checked at the edge against the schemas in the handler manifest (jobu.params_schema)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from jobu.handler_manifest import MANIFEST_PATH, params_schema
from jobu.params_schema import MAX_CHAIN_LENGTH, params_problem

PREPROCESS = {"input_path": "raw/sales.csv", "output_path": "clean/sales.parquet"}
LOAD = {"input_path": "clean/sales.parquet", "table": "sales"}


def test_manifest_schemas_match_the_handlers_params_models() -> None:
    # fails when a params model changes without `make manifest`: the dispatchers would check
    # params against an old schema. A fresh interpreter, as `make manifest` uses.
    out = subprocess.run(
        [sys.executable, "-m", "jobu.handler_manifest", "--json"], capture_output=True, text=True, check=True
    )
    assert json.loads(MANIFEST_PATH.read_text()) == json.loads(out.stdout)


def test_pipeline_handlers_publish_schemas_and_the_samples_do_not() -> None:
    for name in ("pandas_preprocess", "pydantic_validator", "db_loader"):
        schema = params_schema(name)
        assert schema is not None
        assert schema["additionalProperties"] is False
    assert params_schema("sample") is None
    assert params_problem("sample", {"anything": ["goes"]}) is None


def test_valid_params_pass() -> None:
    assert params_problem("pandas_preprocess", {**PREPROCESS, "dtypes": {"a": "int64"}}) is None
    assert params_problem("db_loader", {**LOAD, "database": "warehouse", "mode": "replace"}) is None


@pytest.mark.parametrize(
    ("handler_name", "params", "reason"),
    [
        ("db_loader", {**LOAD, "database_url": "postgresql://evil/db"}, "must not contain {'database_url'}"),
        ("db_loader", {**LOAD, "mode": "truncate"}, "params.mode must be one of"),
        (
            "pandas_preprocess",
            {**PREPROCESS, "dtypes": {"a": "python_object"}},
            "params.dtypes.a must be one of",
        ),
        ("pandas_preprocess", {**PREPROCESS, "delimiter": 7}, "params.delimiter must be string"),
        ("pandas_preprocess", {"output_path": "x"}, "must contain ['input_path']"),
    ],
)
def test_bad_params_are_refused_with_the_reason(
    handler_name: str, params: dict[str, Any], reason: str
) -> None:
    problem = params_problem(handler_name, params)
    assert problem is not None
    assert problem.startswith(f"params for {handler_name!r} refused: ")
    assert reason in problem


def test_partial_params_may_leave_required_fields_to_the_cron_job() -> None:
    assert params_problem("pandas_preprocess", {"drop_nulls": ["id"]}, partial=True) is None
    problem = params_problem("pandas_preprocess", {"drop_nulls": "id"}, partial=True)
    assert problem is not None
    assert "params.drop_nulls must be array" in problem


def test_on_success_chains_are_checked_link_by_link() -> None:
    chain = {**PREPROCESS, "on_success": {"handler_name": "db_loader", "params": LOAD}}
    assert params_problem("pandas_preprocess", chain) is None
    evil = {**LOAD, "database_url": "mysql://evil/db"}
    nested = {**PREPROCESS, "on_success": {"handler_name": "db_loader", "params": evil}}
    assert "database_url" in (params_problem("pandas_preprocess", nested) or "")
    unknown = {"on_success": {"handler_name": "rm_rf", "params": {}}}
    assert params_problem("sample", unknown) == 'on_success names unknown handler "rm_rf"'
    assert params_problem("sample", {"on_success": "db_loader"}) is not None


def test_on_success_chains_are_bounded() -> None:
    params: dict[str, Any] = {}
    for _ in range(MAX_CHAIN_LENGTH + 1):
        params = {"on_success": {"handler_name": "sample", "params": params}}
    assert params_problem("sample", params) == f"on_success chains more than {MAX_CHAIN_LENGTH} runs"


def test_checking_never_changes_the_params() -> None:
    params = dict(LOAD)
    assert params_problem("db_loader", params) is None
    assert params == LOAD  # fastjsonschema would fill defaults in unless told not to


def test_the_check_does_not_import_the_handlers() -> None:
    code = (
        "import sys; from jobu.params_schema import params_problem; "
        "params_problem('db_loader', {'input_path': 'a', 'table': 't'}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jobu_handlers', 'pandas', 'pyarrow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
