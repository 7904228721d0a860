"""jobu.client against `jobu local up`'s HTTP API, which asks for the runtime's token where API Gateway
asks for a SigV4 signature: the client sends the token, with no AWS credentials at all, and its runs
are made, run by the runtime's workers and waited for; a batch's callback comes once its runs ended.
On PostgreSQL, MariaDB and SQLite."""

from __future__ import annotations

import asyncio

import pytest

from jobu.client import AsyncJobuClient, JobuApiError, JobuClient
from tests.e2e.conftest import StartRuntime


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database on the real PostgreSQL, then MariaDB, then SQLite."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.mark.usefixtures("no_aws_credentials")
async def test_the_client_with_the_local_runtimes_token(
    start_runtime: StartRuntime, database_url: str
) -> None:
    runtime = await start_runtime(database_url, dashboard_port=None)
    assert runtime.http_api is not None
    url = runtime.http_api.url

    # without the token the runtime refuses, as API Gateway refuses an unsigned request
    with pytest.raises(JobuApiError) as refused:
        await asyncio.to_thread(JobuClient(url, sign=False).get_run, 1)
    assert refused.value.status == 401

    client = JobuClient(url, token=runtime.token)
    run = await asyncio.to_thread(client.enqueue, "sleep", {"seconds": 0}, delay_seconds=1, tags=["t"])
    assert (run["param_source"], run["tags"]) == ("api", ["t"])
    done = await asyncio.to_thread(client.wait, run["id"], timeout=60, poll_seconds=0.2)
    assert done["status"] == "SUCCESS"
    assert done["started_at"] >= done["available_at"]  # not before its delay

    async_client = AsyncJobuClient(url, token=runtime.token)
    made = await async_client.batch(
        [{"handler_name": "sleep", "params": {"seconds": 0}} for _ in range(3)],
        on_complete={"handler_name": "sample", "params": {}},
    )
    ended = await async_client.wait_batch(made["batch"]["id"], timeout=60, poll_seconds=0.2)
    assert (ended["status"], ended["succeeded"]) == ("SUCCESS", 3)
    callback = await async_client.get_run(ended["callback_run_id"])
    assert callback["params"]["batch"]["total"] == 3


def test_a_token_stays_off_plain_http_to_other_machines() -> None:
    # a bearer token read on the way is as good as the runtime's own
    with pytest.raises(ValueError, match="https"):
        JobuClient("http://203.0.113.5/", token="secret")
    assert JobuClient("https://203.0.113.5/", token="secret").api_url == "https://203.0.113.5"
