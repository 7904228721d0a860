"""The tools around template.yaml: the CloudFormation YAML loader, `make sizes` and the layer trimmer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobu_local.template.cfn_yaml import FUNCTION_TAGS, loads_template
from scripts import build_layer, sizes

# --- jobu_local.template.cfn_yaml -----------------------------------------------------------------


def test_short_form_tags_become_the_json_form() -> None:
    document = loads_template(
        """
        A: !Ref Thing
        B: !GetAtt Queue.Arn
        C: !GetAtt Db.Endpoint.Address
        D: !Sub "${AWS::StackName}-x"
        E: !If [Cond, !Ref Yes, !Ref AWS::NoValue]
        F: !Condition IsProd
        G: !GetAZs ""
        H: !Select [0, !Split [",", !Join [",", [a, b]]]]
        I: !FindInMap [Map, !Ref Key, Value]
        J: !Sub ["${X}", {X: !ImportValue Shared}]
        """
    )
    assert document == {
        "A": {"Ref": "Thing"},
        "B": {"Fn::GetAtt": ["Queue", "Arn"]},
        "C": {"Fn::GetAtt": ["Db", "Endpoint.Address"]},
        "D": {"Fn::Sub": "${AWS::StackName}-x"},
        "E": {"Fn::If": ["Cond", {"Ref": "Yes"}, {"Ref": "AWS::NoValue"}]},
        "F": {"Condition": "IsProd"},
        "G": {"Fn::GetAZs": ""},
        "H": {"Fn::Select": [0, {"Fn::Split": [",", {"Fn::Join": [",", ["a", "b"]]}]}]},
        "I": {"Fn::FindInMap": ["Map", {"Ref": "Key"}, "Value"]},
        "J": {"Fn::Sub": ["${X}", {"X": {"Fn::ImportValue": "Shared"}}]},
    }


@pytest.mark.parametrize("tag", FUNCTION_TAGS)
def test_every_function_tag_is_known(tag: str) -> None:
    assert loads_template(f"K: !{tag} [a, b]") == {"K": {f"Fn::{tag}": ["a", "b"]}}


def test_dates_stay_strings_and_yaml_stays_safe() -> None:
    assert loads_template("Version: 2012-10-17\nWhen: 2026-11-22T10:00:00Z") == {
        "Version": "2012-10-17",
        "When": "2026-11-22T10:00:00Z",
    }
    with pytest.raises(Exception, match="python/object"):
        loads_template("A: !!python/object/apply:os.getcwd []")


def test_a_template_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="mapping"):
        loads_template("- just a list")


# --- scripts/sizes.py (make sizes) --------------------------------------------------------------------

BUILT_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Layers: [!Ref CoreLayer]
Resources:
  CoreLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: CoreLayer}
  BigLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: BigLayer}
  SmallFunction:
    Type: AWS::Serverless::Function
    Metadata: {UnzippedSizeLimitMB: 30}
    Properties: {CodeUri: SmallFunction, Handler: app.handler}
  BigFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: BigFunction, Handler: app.handler, Layers: [!Ref BigLayer]}
"""


def write_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)  # sparse: the size Lambda counts, without the disk


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(BUILT_TEMPLATE)
    write_file(tmp_path / "CoreLayer/python/core/__init__.py", 10 * 2**20)
    write_file(tmp_path / "SmallFunction/app.py", 2**20)
    write_file(tmp_path / "BigFunction/app.py", 2**20)
    return tmp_path


def test_sizes_counts_code_plus_global_and_own_layers(
    build_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_file(build_dir / "BigLayer/python/big.so", 100 * 2**20)
    assert sizes.main(["--build-dir", str(build_dir)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "SmallFunction 11.0 MB (limit 30 MB)",
        "BigFunction 111.0 MB (limit 250 MB)",
    ]


def test_sizes_fails_above_lambdas_limit(build_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_file(build_dir / "BigLayer/python/big.so", 240 * 2**20)  # 240 + 10 + 1 > 250
    assert sizes.main(["--build-dir", str(build_dir)]) == 1
    captured = capsys.readouterr()
    assert "BigFunction 251.0 MB (limit 250 MB)" in captured.out
    assert "over the unzipped size limit: BigFunction (251.0 MB > 250 MB)" in captured.err


def test_sizes_fails_above_a_functions_own_limit(build_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_file(build_dir / "BigLayer/python/big.so", 2**20)
    write_file(build_dir / "SmallFunction/vendored.so", 20 * 2**20)  # 10 + 1 + 20 > 30
    assert sizes.main(["--build-dir", str(build_dir)]) == 1
    assert "over the unzipped size limit: SmallFunction (31.0 MB > 30 MB)" in capsys.readouterr().err


def test_sizes_refuses_what_it_cannot_measure(build_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = build_dir / "template.yaml"
    template.write_text(
        template.read_text().replace("[!Ref BigLayer]", "[arn:aws:lambda:us-east-1:1:layer:x:1]")
    )
    assert sizes.main(["--build-dir", str(build_dir)]) == 1
    assert "cannot be measured" in capsys.readouterr().err


def test_sizes_without_a_build_says_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sizes.main(["--build-dir", str(tmp_path)]) == 1
    assert "make build" in capsys.readouterr().err


# --- scripts/build_layer.py ----------------------------------------------------------------------------


def test_runtime_provided_sdk_is_removed_by_its_record(tmp_path: Path) -> None:
    for name, files in {
        "botocore": ["botocore/__init__.py", "botocore/data/x.json"],
        "croniter": ["croniter/a.py"],
    }.items():
        dist_info = tmp_path / f"{name}-1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\n")
        (dist_info / "RECORD").write_text("".join(f"{f},sha256=x,1\n" for f in files))
        for relative in files:
            write_file(tmp_path / relative, 10)
    build_layer.drop_runtime_provided(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["croniter", "croniter-1.0.dist-info"]


def test_trim_keeps_the_loader_names_of_pyarrows_libraries_and_drops_tests(tmp_path: Path) -> None:
    for relative in [
        "pyarrow/libarrow.so.2600",
        "pyarrow/libarrow_python.so",
        "pyarrow/libarrow_python.so.2600",
        "pyarrow/libarrow_python.so.2600.1.0",
        "pyarrow/libarrow_flight.so.2600",
        "pyarrow/_flight.cpython-312-aarch64-linux-gnu.so",
        "pyarrow/lib.pyx",
        "pyarrow/include/arrow/api.h",
        "pyarrow/parquet/__init__.py",
        "pandas/tests/test_x.py",
        "pandas/core/frame.py",
        "numpy/_core/tests/test_y.py",
    ]:
        write_file(tmp_path / relative, 10)
    build_layer.trim(tmp_path)
    kept = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert kept == [
        "pandas/core/frame.py",
        "pyarrow/libarrow.so.2600",
        "pyarrow/libarrow_python.so.2600",
        "pyarrow/parquet/__init__.py",
    ]


def test_layer_platforms_cover_the_template_architectures() -> None:
    assert set(build_layer.PLATFORMS) == {"arm64", "x86_64"}
    assert all(tag.endswith("aarch64") for tag in build_layer.PLATFORMS["arm64"])
    assert {"boto3", "botocore", "s3transfer"} == build_layer.RUNTIME_PROVIDED


def test_layer_modules_are_compiled_for_a_read_only_opt(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 42\n")
    build_layer.compile_bytecode(tmp_path)
    (compiled,) = (package / "__pycache__").glob("__init__.cpython-312.pyc")
    # flags = 0b01: hash-based, not checked against the source (a layer never changes)
    assert int.from_bytes(compiled.read_bytes()[4:8], "little") == 0b01
    # and Python uses it even when the source's time no longer matches
    (package / "__init__.py").touch()
    probe = "import pkg; print(pkg.__cached__, pkg.VALUE)"
    out = subprocess.run(
        [sys.executable, "-B", "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(compiled), "42"]
