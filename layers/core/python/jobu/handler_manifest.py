"""The workers' handlers as every function knows them, without importing the handlers.

The workers ship the handlers (functions/worker/jobu_handlers); the dispatchers must refuse a
message naming a handler that does not exist, or params its handler would refuse, and every
function that queues a run must send it to its handler's pool (jobu.pools), but importing the
handlers would pull their dependencies (pandas, pyarrow) into functions that never run them.
`make manifest` writes, for each handler of the registry, its pool, the module that registers it
(a worker imports only its own pool's modules), the JSON Schema of its own params model and its
default limits (jobu.limits), to
handler_manifest.json in this layer; a test fails when it is stale.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from jobu.pools import DEFAULT_POOL

MANIFEST_PATH = Path(__file__).with_name("handler_manifest.json")
HANDLER_PACKAGE = "jobu_handlers"


@cache
def _manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(MANIFEST_PATH.read_text())
    return manifest


def known_handler_names() -> frozenset[str]:
    return frozenset(_manifest()["handlers"])


def handler_pool(handler_name: str) -> str:
    """The pool that runs the handler; the default pool for a name the manifest does not know (a
    handler registered by a test, or removed since its run was queued: that pool's worker says so)."""
    pool: str = _manifest().get("pools", {}).get(handler_name, DEFAULT_POOL)
    return pool


def manifest_pools() -> frozenset[str]:
    """Every pool a deployed handler names, and the default pool."""
    return frozenset(_manifest().get("pools", {}).values()) | {DEFAULT_POOL}


def pool_handler_names(pool: str) -> frozenset[str]:
    return frozenset(name for name in known_handler_names() if handler_pool(name) == pool)


@cache
def import_pool_handlers(pool: str) -> None:
    """Register the handlers of `pool`, importing only the modules that hold them (a worker of
    the default pool never imports the pipeline's modules)."""
    modules = _manifest().get("modules", {})
    for module in sorted({modules[name] for name in pool_handler_names(pool) if name in modules}):
        importlib.import_module(module)


def params_schema(handler_name: str) -> dict[str, Any] | None:
    """The JSON Schema of the handler's params model; None when it declares none."""
    schema: dict[str, Any] | None = _manifest().get("params_schemas", {}).get(handler_name)
    return schema


def manifest_from_registry() -> dict[str, Any]:
    from jobu.handlers import get_handler, params_json_schema, registered_handler_names

    importlib.import_module(HANDLER_PACKAGE).register_all()
    names = sorted(registered_handler_names())
    schemas = {name: params_json_schema(get_handler(name)) for name in names}
    return {
        "handlers": names,
        "modules": {name: get_handler(name).__module__ for name in names},
        "params_schemas": {name: schema for name, schema in schemas.items() if schema is not None},
        "pools": {name: get_handler(name).pool for name in names},
        "limits": {
            name: limits.to_json()
            for name in names
            if (limits := get_handler(name).limits) is not None and limits.any
        },
    }


def render(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def main() -> None:
    import argparse  # `make manifest` only: never on a function's cold start

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
