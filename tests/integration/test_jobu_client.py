"""jobu.client.JobuClient against the admin function's real entry point served over HTTP on this
machine (tests.support.admin_client.wsgi_app), on PostgreSQL, MariaDB and SQLite; each request signed
with SigV4 as the deployed HTTP API's IAM authorization requires."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from jobu.client import AsyncJobuClient, JobuApiError, JobuClient
from tests.support.admin_client import AdminClient, wsgi_app
from tests.support.harness import Harness


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(admin: AdminClient) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The admin function over HTTP on a free loopback port, and the headers of each request it got."""
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append({key: value for key, value in environ.items() if key.startswith("HTTP_")})
        return wsgi_app(environ, start_response)

    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    server.shutdown()
    server.server_close()


def test_enqueue_get_and_wait_signed(harness: Harness, served: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = served
    client = JobuClient(url, region="us-east-1")
    run = client.enqueue("sample1", {"name": "client"}, idempotency_key="c-1", tags=["sdk"])
    assert (run["param_source"], run["status"], run["tags"]) == ("api", "PENDING", ["sdk"])
    assert client.enqueue("sample1", idempotency_key="c-1")["id"] == run["id"]  # deduplicated
    assert len(seen) == 2
    assert all(h["HTTP_AUTHORIZATION"].startswith("AWS4-HMAC-SHA256 Credential=") for h in seen)
    assert all("SignedHeaders=accept;content-type;host;x-amz-date," in h["HTTP_AUTHORIZATION"] for h in seen)
    assert all("/us-east-1/execute-api/aws4_request" in h["HTTP_AUTHORIZATION"] for h in seen)
    with pytest.raises(TimeoutError, match=f"run {run['id']} is still PENDING"):
        client.wait(run["id"], timeout=0.2, poll_seconds=0.05)
    assert harness.drain_queue() == 1
    done = client.wait(run["id"], timeout=5)
    assert (done["status"], done["params"]) == ("SUCCESS", {"name": "client"})
    assert client.get_run(run["id"]) == done

    results = client.enqueue_many([{"handler_name": "sample1"}, {"handler_name": "nope"}])
    assert results[0]["run"]["status"] == "PENDING"
    assert (results[1]["error"], results[1]["field"]) == ("invalid_request", "handler_name")


def test_a_batch_and_its_callback_through_the_client(
    harness: Harness, served: tuple[str, list[dict[str, Any]]]
) -> None:
    client = JobuClient(served[0], region="us-east-1")
    made = client.batch(
        [{"handler_name": "sample1", "params": {"name": f"n{n}"}} for n in range(3)],
        on_complete={"handler_name": "sample", "params": {"note": "done"}},
    )
    batch_id = made["batch"]["id"]
    assert (made["batch"]["status"], len(made["run_ids"])) == ("RUNNING", 3)
    with pytest.raises(TimeoutError, match=f"batch {batch_id} is still RUNNING"):
        client.wait_batch(batch_id, timeout=0.2, poll_seconds=0.05)
    harness.drain_queue()
    ended = client.wait_batch(batch_id, timeout=5)
    assert (ended["status"], ended["succeeded"], ended["counts"]) == ("SUCCESS", 3, {"SUCCESS": 3})
    callback = client.get_run(ended["callback_run_id"])
    assert (callback["status"], callback["params"]["batch"]["succeeded"]) == ("SUCCESS", 3)
    with pytest.raises(JobuApiError) as refused:
        client.batch([{"handler_name": "sample1"}, {"handler_name": "sample1", "idempotency_key": "k"}])
    assert (refused.value.status, refused.value.field) == (400, "runs[1].idempotency_key")
    # a retry with the batch's key (its answer lost) makes nothing: the key's batch answers
    runs = [{"handler_name": "sample1", "params": {"name": "keyed"}}]
    keyed = client.batch(runs, idempotency_key="nightly-7", idempotency_ttl_seconds=600)
    again = client.batch(runs, idempotency_key="nightly-7")
    assert (keyed["deduplicated"], again["deduplicated"]) == (False, True)
    assert (again["batch"]["id"], again["run_ids"]) == (keyed["batch"]["id"], keyed["run_ids"])
    assert client.batch(runs)["batch"]["id"] == keyed["batch"]["id"] + 1


def test_a_refusal_is_an_error_naming_the_field(served: tuple[str, list[dict[str, Any]]]) -> None:
    client = JobuClient(served[0], region="us-east-1")
    with pytest.raises(JobuApiError) as refused:
        client.enqueue("sample1", {"bogus": 1})
    assert (refused.value.status, refused.value.error, refused.value.field) == (
        400,
        "invalid_request",
        "params",
    )
    with pytest.raises(JobuApiError) as missing:
        client.get_run(999)
    assert (missing.value.status, missing.value.error) == (404, "not_found")


async def test_the_async_client_enqueues_together_and_waits_without_blocking_the_loop(
    harness: Harness, served: tuple[str, list[dict[str, Any]]]
) -> None:
    url, seen = served
    client = AsyncJobuClient(url, region="us-east-1")
    runs = await asyncio.gather(*(client.enqueue("sample1", {"name": f"async {n}"}) for n in range(3)))
    assert sorted(run["params"]["name"] for run in runs) == ["async 0", "async 1", "async 2"]
    assert len({run["id"] for run in runs}) == 3
    assert all(h["HTTP_AUTHORIZATION"].startswith("AWS4-HMAC-SHA256 Credential=") for h in seen)
    (batch,) = await client.enqueue_many([{"handler_name": "sample1", "params": {"name": "in a batch"}}])
    with pytest.raises(TimeoutError, match=f"run {batch['run']['id']} is still PENDING"):
        await client.wait(batch["run"]["id"], timeout=0, poll_seconds=0)
    # the workers run while the waits are sleeping on the same loop
    waits = [asyncio.create_task(client.wait(run["id"], timeout=60, poll_seconds=0.05)) for run in runs]
    assert await asyncio.to_thread(harness.drain_queue) == 4
    done = await asyncio.gather(*waits)
    assert [run["status"] for run in done] == ["SUCCESS"] * 3
    assert (await client.get_run(batch["run"]["id"]))["status"] == "SUCCESS"
    with pytest.raises(JobuApiError) as refused:
        await client.enqueue("nope")
    assert (refused.value.status, refused.value.field) == (400, "handler_name")


async def test_the_async_client_makes_a_batch_and_waits_for_it(
    harness: Harness, served: tuple[str, list[dict[str, Any]]]
) -> None:
    client = AsyncJobuClient(served[0], region="us-east-1")
    made = await client.batch(
        [{"handler_name": "sample1", "params": {"name": f"a{n}"}} for n in range(2)],
        on_success={"handler_name": "sample", "params": {}},
    )
    batch_id = made["batch"]["id"]
    with pytest.raises(TimeoutError, match=f"batch {batch_id} is still RUNNING"):
        await client.wait_batch(batch_id, timeout=0, poll_seconds=0)
    waiting = asyncio.create_task(client.wait_batch(batch_id, timeout=60, poll_seconds=0.05))
    await asyncio.to_thread(harness.drain_queue)
    ended = await waiting
    assert (ended["status"], ended["succeeded"]) == ("SUCCESS", 2)
    assert (await client.get_batch(batch_id))["success_run_id"] == ended["callback_run_id"]
    retried = await client.batch([{"handler_name": "sample1"}], idempotency_key="a-key")
    assert (retried["deduplicated"], retried["batch"]["total"]) == (False, 1)
    again = await client.batch([{"handler_name": "sample1"}], idempotency_key="a-key")
    assert (again["deduplicated"], again["batch"]["id"]) == (True, retried["batch"]["id"])


def test_signed_requests_stay_off_plain_http_to_other_machines() -> None:
    with pytest.raises(ValueError, match="https"):
        JobuClient("http://203.0.113.5/", region="us-east-1")
    with pytest.raises(ValueError, match="not an http"):
        JobuClient("file:///etc/passwd")


def _stack(name: str, outputs: dict[str, str]) -> None:
    import json

    import boto3

    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name="eu-west-1").create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )


@pytest.mark.usefixtures("aws_env")
def test_a_stack_name_is_read_for_its_admin_api_url() -> None:
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/"
    _stack("jobu", {"AdminApiUrl": url, "WorkQueueUrl": "https://sqs.example/q"})
    _stack("other", {"WorkQueueUrl": "https://sqs.example/q"})

    client = JobuClient(stack_name="jobu", region="eu-west-1")
    assert client.api_url == url.rstrip("/")
    assert AsyncJobuClient(stack_name="jobu", region="eu-west-1").client.api_url == url.rstrip("/")
    with pytest.raises(ValueError, match="'other' has no AdminApiUrl output"):
        JobuClient(stack_name="other", region="eu-west-1")
    with pytest.raises(ValueError, match="api_url or stack_name"):
        JobuClient(url, stack_name="jobu")
    with pytest.raises(ValueError, match="api_url or stack_name"):
        JobuClient()
