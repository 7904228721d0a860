"""What the admin routes declare alike: the services they run on, paging, row ids in the path."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from jobu.api.services import Services, services
from jobu.operations.paging import MAX_PAGE_SIZE

MAX_ID = 2**63 - 1  # the BIGINT ids of every backend

Admin = Annotated[Services, Depends(services)]
PageNumber = Annotated[int, Query(ge=1, le=2**31, description="1 is the first page")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="the cron job's id")]
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="the run's id (job_executions.id)")]
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="the rejected record's id")]

__all__ = ["Admin", "JobId", "PageNumber", "PageSize", "RecordId", "RunId"]
