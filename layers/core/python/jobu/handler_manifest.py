"""The names of the worker's handlers, known to the dispatchers without importing the handlers.

The worker ships the handlers (functions/worker/jobu_handlers); the dispatchers must refuse a
message naming a handler that does not exist, but importing the handlers would pull their
dependencies (pandas, pyarrow) into functions that never run them. `make manifest` writes
the registry's names to handler_manifest.json in this layer; a test fails when it is stale.
"""

from __future__ import annotations

import argparse
import importlib
import json
from functools import cache
from pathlib import Path

MANIFEST_PATH = Path(__file__).with_name("handler_manifest.json")
HANDLER_PACKAGE = "jobu_handlers"


@cache
def known_handler_names() -> frozenset[str]:
    return frozenset(json.loads(MANIFEST_PATH.read_text())["handlers"])


def names_from_registry() -> list[str]:
    from jobu.handlers import registered_handler_names

    importlib.import_module(HANDLER_PACKAGE)
    return sorted(registered_handler_names())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the manifest from the registry")
    args = parser.parse_args()
    names = names_from_registry()
    if args.write:
        MANIFEST_PATH.write_text(json.dumps({"handlers": names}, indent=2) + "\n")
    print("\n".join(names))


if __name__ == "__main__":
    main()
