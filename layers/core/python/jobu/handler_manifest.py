"""The worker's handlers as the dispatchers know them, without importing the handlers.

The worker ships the handlers (functions/worker/jobu_handlers); the dispatchers must refuse a
message naming a handler that does not exist, or params its handler would refuse, but
importing the handlers would pull their dependencies (pandas, pyarrow) into functions that
never run them. `make manifest` writes the registry's names, and the JSON Schema of each
handler's own params model, to handler_manifest.json in this layer; a test fails when it is
stale.
"""

from __future__ import annotations

import argparse
import importlib
import json
from functools import cache
from pathlib import Path
from typing import Any

MANIFEST_PATH = Path(__file__).with_name("handler_manifest.json")
HANDLER_PACKAGE = "jobu_handlers"


@cache
def _manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(MANIFEST_PATH.read_text())
    return manifest


def known_handler_names() -> frozenset[str]:
    return frozenset(_manifest()["handlers"])


def params_schema(handler_name: str) -> dict[str, Any] | None:
    """The JSON Schema of the handler's params model; None when it declares none."""
    schema: dict[str, Any] | None = _manifest().get("params_schemas", {}).get(handler_name)
    return schema


def manifest_from_registry() -> dict[str, Any]:
    from jobu.handlers import get_handler, params_json_schema, registered_handler_names

    importlib.import_module(HANDLER_PACKAGE)
    names = sorted(registered_handler_names())
    schemas = {name: params_json_schema(get_handler(name)) for name in names}
    return {
        "handlers": names,
        "params_schemas": {name: schema for name, schema in schemas.items() if schema is not None},
    }


def render(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the manifest from the registry")
    parser.add_argument("--json", action="store_true", help="print the whole manifest, not only the names")
    args = parser.parse_args()
    manifest = manifest_from_registry()
    if args.write:
        MANIFEST_PATH.write_text(render(manifest))
    print(render(manifest) if args.json else "\n".join(manifest["handlers"]))


if __name__ == "__main__":
    main()
