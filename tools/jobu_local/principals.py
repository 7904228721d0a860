"""Who the audit trail says acted, when the request did not come through AWS (where API Gateway
names the IAM principal): the person at this machine, by the operating system's account name.

- `os:<user>`: the `jobu` CLI acting on a database (in this process, as its own user);
- `local:<user>`: a request the local runtime's HTTP API admitted with its token (readable by the
  user who started the runtime only, so that user).

The admin function finds either in the event's request context as a Lambda authorizer's context
would carry it (`authorizer.lambda.principal`, jobu.api.parameters.principal_of).
"""

from __future__ import annotations

import getpass
import os
from typing import Any


def os_user() -> str:
    """The account name of this process's user; its numeric id where the system has no name for it
    (a container's arbitrary uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def cli_principal() -> str:
    return f"os:{os_user()}"


def local_token_principal(role: str = "operator") -> str:
    """The principal of the runtime's token (`local:<user>`), or of its viewer token."""
    suffix = "" if role == "operator" else f":{role}"
    return f"local:{os_user()}{suffix}"


def lambda_authorizer(principal: str) -> dict[str, Any]:
    """The request context's `authorizer` naming `principal`, as a Lambda authorizer's context."""
    return {"lambda": {"principal": principal}}
