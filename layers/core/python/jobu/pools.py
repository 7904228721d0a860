"""Worker pools: which worker function runs a handler, and the queues that reach it.

A pool is a worker function with its own SQS queue and dead-letter queue, memory, timeout,
concurrency and layers (template.yaml: `WorkerFunction` is the `default` pool,
`PipelineWorkerFunction` the `pipeline` pool). A handler names its pool in code
(`BaseHandler.pool`, default `default`); `make manifest` records it, so every function that
queues a run knows the pool without importing the handler. The queue a run goes to is a
function of its handler and nothing else: jobu.work_queue sends each run to its pool's queue.

A deployment names its pools in the environment, one variable per pool and setting: the default
pool's as they always were (JOBU_WORK_QUEUE_URL, JOBU_DEAD_LETTER_QUEUE_URL,
JOBU_WORKER_TIMEOUT_SECONDS), another pool's with its name in capitals after an underscore
(JOBU_WORK_QUEUE_URL_PIPELINE, ...). Every function reads every pool's work queue (any of them
may queue a run of any handler); a worker reads its own pool's name (JOBU_WORKER_POOL) and
dead-letter queue; the admin function every pool's dead-letter queue and worker timeout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from jobu import constants
from jobu.errors import ConfigurationError, NotFoundError

DEFAULT_POOL = "default"
# lower case, as handlers write it; its variables carry it in capitals (environment variable names
# on Lambda are letters, digits and underscores)
POOL_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
# The settings that exist once per pool, by the default pool's variable.
POOL_SETTINGS = frozenset(
    {constants.WORK_QUEUE_URL, constants.DEAD_LETTER_QUEUE_URL, constants.WORKER_TIMEOUT_SECONDS}
)


def check_pool_name(name: str) -> str:
    if not isinstance(name, str) or not POOL_NAME.fullmatch(name):
        raise ValueError(
            f"pool name {name!r} must be 1 to 32 lower-case letters, digits or underscores, "
            "starting with a letter"
        )
    return name


def pool_variable(setting: str, pool: str) -> str:
    """The variable that holds `setting` (a default pool's name) for `pool`."""
    return setting if pool == DEFAULT_POOL else f"{setting}_{check_pool_name(pool).upper()}"


def pools_of(setting: str, environ: Mapping[str, str]) -> dict[str, str]:
    """`setting` for every pool the environment gives it to (empty values are not set)."""
    found: dict[str, str] = {}
    for name, value in environ.items():
        pool = _pool_of_variable(setting, name)
        if pool is not None and value.strip():
            found[pool] = value.strip()
    return found


def _pool_of_variable(setting: str, name: str) -> str | None:
    if name == setting:
        return DEFAULT_POOL
    suffix = name.removeprefix(setting + "_")
    if suffix == name or suffix != suffix.upper() or not POOL_NAME.fullmatch(suffix.lower()):
        return None
    return None if suffix.lower() == DEFAULT_POOL else suffix.lower()


def pool_setting(name: str) -> tuple[str, str] | None:
    """(setting, pool) when `name` holds a per-pool setting, e.g. ("JOBU_WORK_QUEUE_URL",
    "pipeline") for JOBU_WORK_QUEUE_URL_PIPELINE; None for any other variable."""
    for setting in POOL_SETTINGS:
        pool = _pool_of_variable(setting, name)
        if pool is not None:
            return setting, pool
    return None


@dataclass(frozen=True)
class Pool:
    """One pool as a function that queues runs or reads queues sees it."""

    name: str
    queue_url: str
    dead_letter_queue_url: str | None = None
    worker_timeout_seconds: int | None = None


class Pools(Mapping[str, Pool]):
    """The deployment's pools, by name (the default pool first)."""

    def __init__(self, pools: Mapping[str, Pool]) -> None:
        if DEFAULT_POOL not in pools:
            raise ConfigurationError(
                f"environment variable {constants.WORK_QUEUE_URL} (the default pool's queue) is not set"
            )
        self._pools = {DEFAULT_POOL: pools[DEFAULT_POOL]} | dict(sorted(pools.items()))

    @classmethod
    def of(cls, queue_urls: Mapping[str, str]) -> Pools:
        """Pools known by their work queues alone (a tool, a test, a function that only sends)."""
        return cls({name: Pool(name, url) for name, url in queue_urls.items()})

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, dead_letters: bool = False, timeouts: bool = False
    ) -> Pools:
        """Every pool that has a work queue; with `dead_letters` / `timeouts`, each pool's must be
        set too (the admin function reads them all)."""
        queues = pools_of(constants.WORK_QUEUE_URL, environ)
        pools: dict[str, Pool] = {}
        for name, url in queues.items():
            dead_letter = timeout = None
            if dead_letters:
                dead_letter = _required(environ, pool_variable(constants.DEAD_LETTER_QUEUE_URL, name), name)
            if timeouts:
                raw = _required(environ, pool_variable(constants.WORKER_TIMEOUT_SECONDS, name), name)
                timeout = _seconds(pool_variable(constants.WORKER_TIMEOUT_SECONDS, name), raw)
            pools[name] = Pool(name, url, dead_letter, timeout)
        return cls(pools)

    def check_covers(self, named: Iterable[str]) -> None:
        """Every pool a deployed handler names (the manifest's) has a queue here: a run of any
        handler can be sent."""
        missing = sorted(set(named) - set(self._pools))
        if missing:
            variables = ", ".join(pool_variable(constants.WORK_QUEUE_URL, name) for name in missing)
            raise ConfigurationError(
                f"handlers run in pool(s) {', '.join(missing)}, whose queue is not configured: "
                f"set {variables}"
            )

    def __getitem__(self, name: str) -> Pool:
        try:
            return self._pools[name]
        except KeyError:
            raise NotFoundError(f"no pool named {name!r}; pools: {', '.join(self._pools)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._pools)

    def __len__(self) -> int:
        return len(self._pools)

    def __repr__(self) -> str:
        return f"Pools({list(self._pools.values())!r})"

    @property
    def queue_urls(self) -> dict[str, str]:
        return {name: pool.queue_url for name, pool in self._pools.items()}

    def worker_timeouts(self) -> dict[str, int]:
        """Each pool's worker Timeout (known to the admin function)."""
        return {
            name: pool.worker_timeout_seconds
            for name, pool in self._pools.items()
            if pool.worker_timeout_seconds is not None
        }


def _required(environ: Mapping[str, str], name: str, pool: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} (pool {pool!r}) is not set")
    return value


def _seconds(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name} must be a whole number of seconds, not {raw!r}"
        ) from None
    if value <= 0:
        raise ConfigurationError(f"environment variable {name} must be positive, not {value}")
    return value
