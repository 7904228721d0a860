"""aiosql, imported without the distribution look-up its package runs at import.

aiosql 15's `__init__` sets `__version__ = importlib.metadata.version("aiosql")`: importing
importlib.metadata (with csv, email and zipfile) and scanning every distribution on sys.path, about
57 M instructions, 7 % of the default pool worker's cold start (docs/performance.md), for a string
jobu never reads. Here the package module is made from its spec without running `__init__`, and
given the names `__init__` exports (the same objects, from the same submodules); `__version__` is
still there, looked up when first read. tests/unit/test_cold_start_imports.py checks that the names
match the installed aiosql's `__all__`.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

EXPORTS = ("from_path", "from_str", "register_adapter", "SQLParseException", "SQLLoadException")


def _version(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("aiosql")
    raise AttributeError(f"module 'aiosql' has no attribute {name!r}")


def _import_without_version() -> None:
    if "aiosql" in sys.modules:
        return
    spec = importlib.util.find_spec("aiosql")
    if spec is None:
        return  # the import below says aiosql is missing
    package = importlib.util.module_from_spec(spec)
    sys.modules["aiosql"] = package
    try:
        from aiosql.aiosql import from_path, from_str, register_adapter
        from aiosql.utils import SQLLoadException, SQLParseException
    except BaseException:
        del sys.modules["aiosql"]
        raise
    exported = (from_path, from_str, register_adapter, SQLParseException, SQLLoadException)
    package.__dict__.update(zip(EXPORTS, exported, strict=True), __all__=list(EXPORTS), __getattr__=_version)


_import_without_version()

import aiosql  # noqa: E402  (the package made above)
from aiosql import query_loader  # noqa: E402

__all__ = ["aiosql", "query_loader"]
