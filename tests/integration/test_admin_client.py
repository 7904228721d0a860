"""The `jobu` CLI's admin client, the same calls over both transports: HTTP to the admin function's
real entry point (behind a loopback WSGI server that makes API Gateway's events), and in this
process on the database (the same resolver and routes). Each answer, refusal and failure reads the
same on both, on PostgreSQL, MariaDB and SQLite."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from jobu.api.routes import cron_jobs, dead_letters, health, runs
from jobu.operations.cron_jobs import CronJobUpdate, RunNowRequest
from jobu.operations.runs import BulkRetryRequest
from jobu.pools import DEFAULT_POOL, Pool, Pools
from jobu.specs import CronJobSpec
from jobu_local.admin.client import AdminClient
from jobu_local.admin.errors import AdminError
from jobu_local.admin.services import DatabaseServices
from jobu_local.admin.transports import HttpTransport, InProcessTransport
from tests.support.admin_client import AdminClient as AdminFunction
from tests.support.admin_client import wsgi_app
from tests.support.harness import Harness

NIGHTLY = CronJobSpec(name="nightly", cron_expression="0 2 * * *", handler_name="sample")


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def admin_api(admin: AdminFunction) -> Iterator[str]:
    """The admin function's real entry point over HTTP, on the harness's database and queues."""
    server: WSGIServer = make_server("127.0.0.1", 0, wsgi_app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["http", "in-process"])
async def client(
    request: pytest.FixtureRequest, harness: Harness, admin: AdminFunction
) -> AsyncIterator[AdminClient]:
    if request.param == "http":
        yield AdminClient(HttpTransport(request.getfixturevalue("admin_api"), signer=None))
        return
    pools = Pools(
        {
            name: Pool(name, work, dead, 900)
            for name, (work, dead) in {
                DEFAULT_POOL: (harness.queue_url, harness.dead_letter_url),
                **harness.pool_queues,
            }.items()
        }
    )
    services = DatabaseServices(
        harness.database_url,
        find_pools=lambda: pools,
        find_sqs=lambda: harness.sqs,
        find_worker_timeouts=pools.worker_timeouts,
    )
    yield AdminClient(InProcessTransport(services))
    await services.close()


async def refusal(call: object) -> tuple[int | None, str]:
    with pytest.raises(AdminError) as raised:
        await call  # type: ignore[misc]
    return raised.value.status, str(raised.value)


async def test_answers_refusals_and_404s_read_the_same_on_both_transports(
    client: AdminClient, harness: Harness
) -> None:
    assert (await client.call(health.readiness)).status == "ready"
    job = await client.call(cron_jobs.create_cron_job, spec=NIGHTLY)
    assert (job.name, job.next_run_at is not None) == ("nightly", True)

    assert await refusal(client.call(cron_jobs.create_cron_job, spec=NIGHTLY)) == (
        409,
        "duplicate: a cron job named 'nightly' exists already",
    )
    bad = NIGHTLY.model_copy(update={"name": "fast", "cron_expression": "61 * * * *"})
    status, message = await refusal(client.call(cron_jobs.create_cron_job, spec=bad))
    assert (status, message) == (
        400,
        "invalid_cron_job: cron expression '61 * * * *': the minute field '61' is not valid: "
        "61 is outside 0-59",
    )
    assert await refusal(client.call(cron_jobs.get_cron_job, job_id=999)) == (
        404,
        "not_found: no cron job with id 999",
    )
    assert await refusal(client.call(runs.retry_run, run_id=999)) == (404, "not_found: no run with id 999")
    # the API's own validation, on a query parameter and on a body
    assert await refusal(client.call(runs.list_runs, size=101)) == (
        400,
        "validation_error: size: Input should be less than or equal to 100",
    )
    assert await refusal(
        client.call(cron_jobs.update_cron_job, job_id=job.id, changes=CronJobUpdate.model_construct(name=""))
    ) == (400, "validation_error: name: Value should have at least 1 item after validation, not 0")

    ran = await client.call(cron_jobs.run_cron_job, job_id=job.id, request=RunNowRequest(params={"n": 1}))
    assert (ran.queued, ran.run.params, ran.run.param_source) == (True, {"n": 1}, "manual")
    (message,) = harness.sqs.receive_message(QueueUrl=harness.queue_url)["Messages"]
    assert json.loads(message["Body"]) == {"execution_id": ran.run.id, "attempt": 0}
    assert [run.id for run in (await client.call(runs.list_runs, cron_id=job.id)).items] == [ran.run.id]
    assert await refusal(client.call(runs.retry_run, run_id=ran.run.id)) == (
        400,
        f"invalid_state: run {ran.run.id} is PENDING: only FAILED or TIMEOUT runs are retried",
    )
    dry = await client.call(runs.bulk_retry_runs, request=BulkRetryRequest())
    assert (dry.dry_run, dry.matched) == (True, 0)
    assert await client.call(dead_letters.peek_dead_letters) == []
    assert await client.call(cron_jobs.delete_cron_job, job_id=job.id) is None
    assert await refusal(client.call(cron_jobs.delete_cron_job, job_id=job.id)) == (
        404,
        f"not_found: no cron job with id {job.id}",
    )
