"""What operators configured for a run: the files, buckets, databases and tables its handler may
touch (jobu.access), and the URL of a database they named."""

from __future__ import annotations

import asyncio

from jobu.access import DataAccess
from jobu.handlers import BaseHandler


def data_access(step: BaseHandler) -> DataAccess:
    """What the operators allow this run to touch: the context's (tests), else the environment's."""
    return step.context.access or DataAccess.from_environ()


async def resolve_database(reference: str) -> str:
    """The URL of a configured database (a URL, or a Secrets Manager secret ARN)."""
    from jobu.config import DatabaseSetting

    setting = DatabaseSetting.for_reference(reference)
    return await asyncio.to_thread(setting.resolve)


async def database_url(step: BaseHandler, name: str) -> str:
    """The URL of the database operators named `name` ("jobstore": the job store's own);
    AccessDeniedError for a name they did not configure."""
    reference = data_access(step).database(name)
    return step.context.database.url if reference is None else await resolve_database(reference)
