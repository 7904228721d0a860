"""The handlers the fault-injection soak (bench/soak.py) runs, registered in its worker processes.

- soak_effect: transactional; writes one soak_effects row per attempt, then may fail (seeded,
  `fail_rate`) or dawdle (`linger_ms`, a window for the soak to kill its worker mid-run). Its row
  must exist exactly once for each SUCCESS and never for a run that did not succeed.
- sample (shipped) serves as the plain, non-transactional handler.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, handler

SQL_DIR = Path(__file__).with_name("sql")


def draw(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts`: the same run and attempt always draw the same."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class SoakParams(HandlerParams):
    seed: int = 0
    fail_rate: float = 0.0
    linger_ms: int = 0


@handler("soak_effect")
class SoakEffect(BaseHandler):
    transactional = True
    params_model = SoakParams

    async def execute(self, params: HandlerParams) -> HandlerResult:
        assert isinstance(params, SoakParams)
        run, attempt = self.context.execution_id, self.context.retry_count
        database = self.context.database
        async with database.connection() as conn:
            await database.queries(SQL_DIR).insert_soak_effect(conn, execution_id=run, attempt=attempt)
        if params.linger_ms:
            await asyncio.sleep(params.linger_ms * draw(params.seed, "linger", run, attempt) / 1000)
        if draw(params.seed, "fail", run, attempt) < params.fail_rate:
            raise RuntimeError(f"flaky: attempt {attempt} of run {run} fails after writing")
        return HandlerResult(action="effect", id=run, count=1)
