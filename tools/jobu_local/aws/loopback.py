"""This machine, as the local servers and the clients that sign requests understand it, and what a
loopback HTTP server checks of every request before it acts on it.

One definition of loopback: `localhost`, 127.0.0.0/8 and ::1. The CLI and the dashboard sign
plain-http requests with the user's AWS credentials only for such a host, and the local servers
answer only requests whose Host is one.

The checks are the ones Jupyter's server makes for its local API, for the same attacks:
- **Host** must name this machine: a page of another site whose name was made to resolve to
  127.0.0.1 (DNS rebinding) still sends its own name, and is refused;
- **Origin**, which a browser sends with every cross-origin request (a "simple" POST included,
  which needs no preflight), must be the server's own address; a request without one comes from a
  program, not from a page;
- **a token** (`Authorization: Bearer <token>`), which no page of another origin knows, and which a
  cross-origin page could not send without a preflight that is refused;
- **a body** only as `application/json` with a Content-Length the server reads at most once: a
  body without a Content-Type is refused, not parsed; a negative, malformed or oversized length is
  refused before anything is read, so no thread waits for bytes that never come.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
LOCAL_HOSTNAMES = frozenset({"localhost"})
JSON = "application/json"
_LENGTH = re.compile(r"[0-9]{1,18}")
_BEARER = re.compile(r"Bearer ([A-Za-z0-9_.~+/=-]+)", re.IGNORECASE)


def is_loopback_host(host: str) -> bool:
    """`localhost`, an address of 127.0.0.0/8, or ::1 (with or without IPv6's brackets)."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if name.lower() in LOCAL_HOSTNAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


def host_of(header: str) -> str:
    """The host part of a Host header (`127.0.0.1:3000`, `[::1]:3000`, `localhost`)."""
    found = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]]*)(:[0-9]{1,5})?", header)
    return found.group(1) if found else ""


@dataclass(frozen=True)
class Refusal:
    """An answer instead of the request's: a status and the admin API's `{"error", "detail"}`."""

    status: int
    error: str
    detail: str


def host_refusal(host: str | None) -> Refusal | None:
    if host and is_loopback_host(host_of(host)):
        return None
    return Refusal(403, "forbidden", "this server answers requests addressed to this machine only (Host)")


def origin_refusal(origin: str | None, host: str | None) -> Refusal | None:
    """None for a request without an Origin (not from a page) or from the server's own address."""
    if origin is None:
        return None
    parts = urlsplit(origin.strip().lower())
    if parts.scheme == "http" and host is not None and parts.netloc == host.lower():
        return None
    return Refusal(403, "forbidden", "requests from pages of another origin are refused")


def token_refusal(authorization: str | None, token: str) -> Refusal | None:
    if bearer_is(authorization, token):
        return None
    return Refusal(
        401,
        "unauthorized",
        "send the local runtime's token: Authorization: Bearer <token>, "
        "the token being in its state file (.jobu/runtime.json, key `token`)",
    )


def bearer_is(authorization: str | None, token: str | None) -> bool:
    """Whether `Authorization: Bearer <token>` carries `token` (compared in constant time)."""
    found = _BEARER.fullmatch((authorization or "").strip())
    return (
        bool(token)
        and found is not None
        and hmac.compare_digest(found.group(1).encode(), str(token).encode())
    )


def body_length(headers: Message, limit: int) -> int | Refusal:
    """The body's length from its one Content-Length, or why it is refused (before reading it)."""
    if headers.get("Transfer-Encoding") is not None:
        return Refusal(411, "length_required", "send the body with a Content-Length, not chunked")
    values = {value.strip() for value in headers.get_all("Content-Length") or ()}
    if not values:
        return 0
    text = values.pop()
    if values or not _LENGTH.fullmatch(text):  # two lengths that differ are as bad as a malformed one
        return Refusal(400, "bad_request", "Content-Length must be one whole number of bytes")
    if int(text) > limit:
        return Refusal(413, "too_large", f"bodies over {limit} bytes are refused")
    return int(text)


def content_type_refusal(headers: Message, length: int) -> Refusal | None:
    """A body must say it is JSON; a request without a body needs no Content-Type."""
    media_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if length == 0 or media_type == JSON:
        return None
    return Refusal(415, "unsupported_media_type", f"bodies must be sent as Content-Type: {JSON}")
