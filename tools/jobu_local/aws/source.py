"""What every event source shares: the function it invokes and who watches the invocations."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any, Protocol

from jobu_local.host.config import Invocation

log = logging.getLogger("jobu_local")


class Invoker(Protocol):
    async def invoke(self, event: dict[str, Any]) -> Invocation: ...


Observer = Callable[[str, Invocation], None]


def quiet(_source: str, _invocation: Invocation) -> None:
    return None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
