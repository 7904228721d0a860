"""A small client of the admin API's enqueue and run routes, for code that starts runs (a handler, a
service, a script): the standard library for HTTP, botocore (which Lambda's Python runtime carries)
to sign each request with SigV4 for the HTTP API's IAM authorization.

    client = JobuClient("https://abc123.execute-api.eu-west-1.amazonaws.com/")
    run = client.enqueue("send_invoice", {"order": 7}, idempotency_key="order-7")
    done = client.wait(run["id"], timeout=300)

    made = client.batch([{"handler_name": "convert", "params": {"file": f}} for f in files],
                        on_success={"handler_name": "load", "params": {}})
    ended = client.wait_batch(made["batch"]["id"], timeout=3600)

AsyncJobuClient has the same calls for asyncio code (a handler, an async service):

    client = AsyncJobuClient("https://abc123.execute-api.eu-west-1.amazonaws.com/")
    run = await client.enqueue("send_invoice", {"order": 7}, delay_seconds=600)
    done = await client.wait(run["id"], timeout=900)

Answers are the API's JSON as dicts (docs/admin-api.md); a refusal raises JobuApiError with the
API's error code, detail and field.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

# the output of template.yaml that holds the admin API's URL
ADMIN_API_URL_OUTPUT = "AdminApiUrl"
FINAL_STATUSES = frozenset({"SUCCESS", "FAILED", "TIMEOUT", "CANCELLED", "EXPIRED"})
# a batch's statuses once its last run ended (before: RUNNING)
BATCH_ENDED = frozenset({"SUCCESS", "FAILED", "CANCELLED"})


class JobuApiError(Exception):
    """The admin API refused a request: its status, error code, detail and field (or None)."""

    def __init__(self, status: int, error: str, detail: Any, field: str | None = None) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status, self.error, self.detail, self.field = status, error, detail, field


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # a signed request is never sent on to another address
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class JobuClient:
    """`api_url`: the admin API's base URL (the stack's AdminApiUrl); or `stack_name`: a deployed
    stack, whose AdminApiUrl output is read once with CloudFormation's DescribeStacks (in `region`,
    else the session's). `sign`: SigV4 with the default AWS credentials for `region` (default: the
    URL's, else the session's); False only for an API that authenticates otherwise (a test server on
    this machine). `token`: the local runtime's (`jobu local up`, key `token` of its runtime.json),
    sent as `Authorization: Bearer` instead of a signature."""

    def __init__(
        self,
        api_url: str | None = None,
        *,
        stack_name: str | None = None,
        region: str | None = None,
        sign: bool = True,
        timeout: float = 30.0,
        token: str | None = None,
    ) -> None:
        if (api_url is None) == (stack_name is None):
            raise ValueError("give api_url or stack_name, one of the two")
        if api_url is None:
            assert stack_name is not None
            api_url = stack_admin_api_url(stack_name, region=region)
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {api_url!r}")
        secret = sign or token is not None
        if secret and parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            # anyone on the way could read a signature or a token sent over plain http and replay it
            raise ValueError("signed requests and tokens go over https (or to this machine only)")
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)
        # a token is the local runtime's stand-in for IAM: no AWS credentials needed beside it
        self._token = token
        self._signer = _Signer(region or _region_of(parts.hostname)) if sign and token is None else None

    def enqueue(
        self, handler_name: str, params: Mapping[str, Any] | None = None, **options: Any
    ) -> dict[str, Any]:
        """A run of `handler_name` (POST /api/runs); `options`: the flow control fields
        (idempotency_key, priority, tags, delay_seconds, run_at, ttl_seconds, ...). The run as
        stored; for a request whose idempotency key a run holds, that run."""
        answer = self._call(
            "POST", "/api/runs", {"handler_name": handler_name, "params": dict(params or {}), **options}
        )
        run: dict[str, Any] = answer["run"]
        return run

    def enqueue_many(self, requests: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Up to 500 requests (POST /api/runs/batch); one result per request, in order."""
        results: list[dict[str, Any]] = self._call("POST", "/api/runs/batch", {"runs": list(requests)})[
            "results"
        ]
        return results

    def batch(
        self,
        runs: list[Mapping[str, Any]],
        *,
        on_success: Mapping[str, Any] | None = None,
        on_complete: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        idempotency_ttl_seconds: int | None = None,
    ) -> dict[str, Any]:
        """Up to 10,000 run requests made together (POST /api/batches), each as `enqueue` takes its
        fields, with callbacks `{"handler_name", "params"}`: `on_success` runs once every run
        succeeded, `on_complete` once every run ended, each with `"batch"` (its id and counts) in its
        params. One bad request refuses the batch (JobuApiError, field `runs[i].<field>`). The
        answer: `{"batch": {...}, "run_ids": [...], "deduplicated": false}`. With `idempotency_key`,
        a retry (the answer lost) within `idempotency_ttl_seconds` (default a day) makes nothing:
        the answer is the key's batch, `"deduplicated": true`."""
        body: dict[str, Any] = {"runs": [dict(run) for run in runs]}
        for name, link in (("on_success", on_success), ("on_complete", on_complete)):
            if link is not None:
                body[name] = dict(link)
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        if idempotency_ttl_seconds is not None:
            body["idempotency_ttl_seconds"] = idempotency_ttl_seconds
        made: dict[str, Any] = self._call("POST", "/api/batches", body)
        return made

    def get_batch(self, batch_id: int) -> dict[str, Any]:
        """The batch: total, the counts of its runs' ends, its runs by status now (counts), status,
        callback_run_id."""
        found: dict[str, Any] = self._call("GET", f"/api/batches/{int(batch_id)}")
        return found

    def wait_batch(
        self, batch_id: int, *, timeout: float = 900.0, poll_seconds: float = 2.0
    ) -> dict[str, Any]:
        """The batch once its last run ended (SUCCESS, FAILED, CANCELLED); TimeoutError if it has not
        after `timeout` seconds."""
        return _poll(
            lambda: self.get_batch(batch_id), BATCH_ENDED, f"batch {batch_id}", timeout, poll_seconds
        )

    def get_run(self, run_id: int) -> dict[str, Any]:
        run: dict[str, Any] = self._call("GET", f"/api/jobs/{int(run_id)}")
        return run

    def wait(self, run_id: int, *, timeout: float = 900.0, poll_seconds: float = 2.0) -> dict[str, Any]:
        """The run once it has ended (SUCCESS, FAILED, TIMEOUT, CANCELLED, EXPIRED); TimeoutError
        if it has not after `timeout` seconds."""
        return _poll(lambda: self.get_run(run_id), FINAL_STATUSES, f"run {run_id}", timeout, poll_seconds)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"accept": "application/json"} | (
            {} if data is None else {"content-type": "application/json"}
        )
        url = self.api_url + path
        if self._token is not None:
            headers["authorization"] = f"Bearer {self._token}"
        if self._signer is not None:
            headers = self._signer.sign(method, url, headers, data)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise _refusal(error.code, error.read()) from None


class AsyncJobuClient:
    """JobuClient for asyncio code, with the same arguments and answers. Each request runs on a
    thread (asyncio.to_thread: the standard library's HTTP client blocks), so the event loop serves
    other tasks meanwhile and requests may be awaited together (asyncio.gather); `wait` sleeps with
    asyncio.sleep between its reads, never blocking the loop."""

    def __init__(
        self,
        api_url: str | None = None,
        *,
        stack_name: str | None = None,
        region: str | None = None,
        sign: bool = True,
        timeout: float = 30.0,
        token: str | None = None,
    ) -> None:
        self.client = JobuClient(
            api_url, stack_name=stack_name, region=region, sign=sign, timeout=timeout, token=token
        )

    async def enqueue(
        self, handler_name: str, params: Mapping[str, Any] | None = None, **options: Any
    ) -> dict[str, Any]:
        """JobuClient.enqueue: a run of `handler_name` (POST /api/runs)."""
        return await asyncio.to_thread(self.client.enqueue, handler_name, params, **options)

    async def enqueue_many(self, requests: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """JobuClient.enqueue_many: up to 500 requests, one result per request, in order."""
        return await asyncio.to_thread(self.client.enqueue_many, requests)

    async def get_run(self, run_id: int) -> dict[str, Any]:
        return await asyncio.to_thread(self.client.get_run, run_id)

    # JobuClient.wait's arguments, so code moves between the two as it is
    async def wait(
        self,
        run_id: int,
        *,
        timeout: float = 900.0,  # noqa: ASYNC109
        poll_seconds: float = 2.0,
    ) -> dict[str, Any]:
        """The run once it has ended; TimeoutError if it has not after `timeout` seconds."""
        return await _poll_async(
            lambda: self.get_run(run_id), FINAL_STATUSES, f"run {run_id}", timeout, poll_seconds
        )

    async def batch(
        self,
        runs: list[Mapping[str, Any]],
        *,
        on_success: Mapping[str, Any] | None = None,
        on_complete: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        idempotency_ttl_seconds: int | None = None,
    ) -> dict[str, Any]:
        """JobuClient.batch: up to 10,000 runs made together, with their callbacks; a retry with its
        idempotency key makes nothing."""
        return await asyncio.to_thread(
            self.client.batch,
            runs,
            on_success=on_success,
            on_complete=on_complete,
            idempotency_key=idempotency_key,
            idempotency_ttl_seconds=idempotency_ttl_seconds,
        )

    async def get_batch(self, batch_id: int) -> dict[str, Any]:
        return await asyncio.to_thread(self.client.get_batch, batch_id)

    async def wait_batch(
        self,
        batch_id: int,
        *,
        timeout: float = 900.0,  # noqa: ASYNC109
        poll_seconds: float = 2.0,
    ) -> dict[str, Any]:
        """The batch once its last run ended; TimeoutError if it has not after `timeout` seconds."""
        return await _poll_async(
            lambda: self.get_batch(batch_id), BATCH_ENDED, f"batch {batch_id}", timeout, poll_seconds
        )


def _poll(
    read: Callable[[], dict[str, Any]], ended: frozenset[str], what: str, timeout: float, poll_seconds: float
) -> dict[str, Any]:
    """`read()` every `poll_seconds` until its status is one of `ended`; TimeoutError naming `what`
    (and the status it is still in) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if found["status"] in ended:
            return found
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} is still {found['status']} after {timeout:g}s")
        time.sleep(min(poll_seconds, max(deadline - time.monotonic(), 0.0)))


async def _poll_async(
    read: Callable[[], Awaitable[dict[str, Any]]],
    ended: frozenset[str],
    what: str,
    timeout: float,  # noqa: ASYNC109  # the public waits' argument, kept as they take it
    poll_seconds: float,
) -> dict[str, Any]:
    """_poll for asyncio code: it sleeps with asyncio.sleep, never blocking the loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await read()
        if found["status"] in ended:
            return found
        if loop.time() >= deadline:
            raise TimeoutError(f"{what} is still {found['status']} after {timeout:g}s")
        await asyncio.sleep(min(poll_seconds, max(deadline - loop.time(), 0.0)))


def _refusal(status: int, content: bytes) -> JobuApiError:
    try:
        answer = json.loads(content)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):  # not the API's error (a gateway's page): its status only
        return JobuApiError(status, "http_error", f"HTTP {status}")
    return JobuApiError(status, str(answer.get("error")), answer.get("detail"), answer.get("field"))


def stack_admin_api_url(stack_name: str, *, region: str | None = None) -> str:
    """The AdminApiUrl output of a deployed jobu stack (CloudFormation DescribeStacks, with the
    default AWS credentials); ValueError naming the stack when it has none."""
    import botocore.session

    cloudformation: Any = botocore.session.get_session().create_client("cloudformation", region_name=region)
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    found = stacks[0].get("Outputs", []) if stacks else []
    outputs = {output["OutputKey"]: output.get("OutputValue", "") for output in found}
    url = outputs.get(ADMIN_API_URL_OUTPUT)
    if not url:
        raise ValueError(f"stack {stack_name!r} has no {ADMIN_API_URL_OUTPUT} output: is it a jobu stack?")
    return str(url)


def _region_of(host: str) -> str | None:
    """The region an execute-api host names (abc.execute-api.eu-west-1.amazonaws.com)."""
    labels = host.split(".")
    if len(labels) >= 4 and labels[1] == "execute-api":
        return labels[2]
    return None


class _Signer:
    def __init__(self, region: str | None) -> None:
        import botocore.session

        session = botocore.session.get_session()
        self.region = region or session.get_config_variable("region")
        if not self.region:
            raise ValueError("no AWS region: pass region=, or set AWS_REGION")
        credentials = session.get_credentials()
        if credentials is None:
            raise ValueError("no AWS credentials to sign the requests with")
        self.credentials = credentials

    def sign(self, method: str, url: str, headers: dict[str, str], data: bytes | None) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
        SigV4Auth(self.credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(request)
        return dict(request.headers.items())
