"""`make sizes`: each function's unzipped size as Lambda counts it, from `sam build`'s output.

Lambda's limit is 250 MB (262,144,000 bytes: MiB) for a function's code plus all its layers,
unzipped. A function may set a lower limit of its own in its Metadata (`UnzippedSizeLimitMB`: the
default pool's worker keeps to 30 MB, so it stays light). For every function in the built template
this prints `<logical id> <size> MB (limit <limit> MB)` (its code folder plus every layer it uses,
Globals included) and exits 1 if one is over its limit, or if a layer cannot be measured (a layer
ARN from outside the template).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jobu_local.template.cfn_yaml import load_template

LAMBDA_LIMIT_MB = 250
LIMIT_METADATA = "UnzippedSizeLimitMB"
FUNCTION = "AWS::Serverless::Function"
LAYERS = {"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"}


class MeasureError(Exception):
    """Something in the built template cannot be measured; the message says what."""


def folder_bytes(folder: Path) -> int:
    if not folder.is_dir():
        raise MeasureError(f"{folder} does not exist: run `sam build` first")
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def function_layers(template: dict[str, Any], properties: dict[str, Any]) -> list[Any]:
    globals_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    return [*globals_layers, *properties.get("Layers", [])]  # SAM appends a function's layers to Globals'


def layer_folder(build_dir: Path, template: dict[str, Any], layer: Any, function_id: str) -> Path:
    resources = template.get("Resources", {})
    if (
        isinstance(layer, dict)
        and set(layer) == {"Ref"}
        and resources.get(layer["Ref"], {}).get("Type") in LAYERS
    ):
        properties = resources[layer["Ref"]].get("Properties", {})
        return build_dir / str(properties.get("ContentUri") or properties.get("Content"))
    raise MeasureError(
        f"{function_id}: layer {layer!r} is not built by this template, so it cannot be measured"
    )


def size_limit_mb(resource: dict[str, Any], logical_id: str) -> int:
    """The function's own limit (its Metadata), never above Lambda's."""
    limit = resource.get("Metadata", {}).get(LIMIT_METADATA, LAMBDA_LIMIT_MB)
    if not isinstance(limit, int) or not 0 < limit <= LAMBDA_LIMIT_MB:
        raise MeasureError(
            f"{logical_id}: {LIMIT_METADATA} must be a whole number of MB up to {LAMBDA_LIMIT_MB}"
        )
    return limit


def measure(build_dir: Path) -> Iterable[tuple[str, int, int]]:
    """(logical id, unzipped bytes, limit in MB) of every function."""
    template = load_template(build_dir / "template.yaml")
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != FUNCTION:
            continue
        properties = resource.get("Properties", {})
        folders = [build_dir / str(properties["CodeUri"])]
        folders += [
            layer_folder(build_dir, template, layer, logical_id)
            for layer in function_layers(template, properties)
        ]
        yield logical_id, sum(folder_bytes(folder) for folder in folders), size_limit_mb(resource, logical_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--build-dir", type=Path, default=Path(".aws-sam/build"))
    args = parser.parse_args(argv)
    if not (args.build_dir / "template.yaml").is_file():
        print(
            f"sizes: no {args.build_dir}/template.yaml: run `sam build` (make build) first", file=sys.stderr
        )
        return 1
    over = []
    try:
        for logical_id, size, limit in measure(args.build_dir):
            print(f"{logical_id} {size / 2**20:.1f} MB (limit {limit} MB)")
            if size > limit * 2**20:
                over.append(f"{logical_id} ({size / 2**20:.1f} MB > {limit} MB)")
    except MeasureError as error:
        print(f"sizes: {error}", file=sys.stderr)
        return 1
    if over:
        print(f"sizes: over the unzipped size limit: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
