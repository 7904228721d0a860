"""The handlers the workers run, module by module.

Importing this package registers nothing: each pool's worker imports the modules of its own
pool's handlers (the handler manifest lists them, jobu.handler_manifest.import_pool_handlers), so
the default pool's worker never loads the pipeline's code. `make manifest` imports every module
named here: a new handler module is added to HANDLER_MODULES.

Keep module imports light: a worker imports its modules at cold start, so heavy libraries
(pandas, pyarrow) are imported inside the handlers that use them.
"""

HANDLER_MODULES = (
    "jobu_handlers.samples",  # the default pool
    "jobu_handlers.pipeline",  # the pipeline pool: the data pipeline handlers (issue 5)
)


def register_all() -> None:
    """Import every handler module (tests and tools that need the whole registry)."""
    import importlib

    for module in HANDLER_MODULES:
        importlib.import_module(module)
