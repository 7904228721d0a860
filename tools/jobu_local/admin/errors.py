"""How an admin request fails, on either transport: the API's {error, detail} and its status.

Every answer that is not 2xx becomes an AdminError here (`failure`), whichever transport carried
it, so a refusal reads the same on a database as through an API.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from jobu_local.errors import JobuToolError

MAX_DETAIL = 400
FORBIDDEN_HINT = (
    "API Gateway refused the request: sign it with credentials of a principal allowed "
    "execute-api:Invoke on the API, in the API's region"
)


class AdminError(JobuToolError):
    """An operation refused or failed: `error` is the API's code, `detail` why; `status` its HTTP
    status (None when the API could not be reached). A refusal (4xx) exits with status 2."""

    def __init__(self, status: int | None, error: str, detail: Any) -> None:
        super().__init__(f"{error}: {describe(detail)}")
        self.status = status
        self.error = error
        self.detail = detail
        self.exit_status = 2 if self.refused else 1

    @property
    def refused(self) -> bool:
        """The request was refused (4xx): asking again the same way will not help."""
        return self.status is not None and 400 <= self.status < 500


def describe(detail: Any) -> str:
    """The detail in one line: a validation_error's field problems as `field: why; ...`; a long
    one cut short."""
    text = "; ".join(_problem(item) for item in detail) if isinstance(detail, list) else str(detail)
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _problem(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    location = [str(part) for part in item.get("loc", [])]
    if location and location[0] in {"body", "query", "path"}:
        location = location[1:]  # where in the request is the API's concern, the field is the user's
    message = str(item.get("msg", "")).removeprefix("Value error, ")  # pydantic's prefix for a check's words
    return f"{'.'.join(location)}: {message}" if location else message


def validation_error(error: ValidationError) -> AdminError:
    """pydantic's complaints about a model built here, as the API answers them (400)."""
    problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
    return AdminError(400, "validation_error", problems)


def failure(status: int, content: bytes) -> AdminError:
    """The AdminError an answer that is not 2xx stands for."""
    try:
        answer = json.loads(content)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "error" in answer:
        return AdminError(status, str(answer["error"]), answer.get("detail"))
    # API Gateway's own answers ({"message": ...}): refused before the function ran
    if isinstance(answer, dict) and "message" in answer:
        message = str(answer["message"])
        if status == 403:
            return AdminError(status, "forbidden", f"{message}: {FORBIDDEN_HINT}")
        return AdminError(status, f"http_{status}", message)
    # not JSON (a proxy's error page): said so, never quoted (markup in a terminal helps nobody)
    text = content.decode(errors="replace").strip()
    kind = "an HTML page" if text.startswith("<") else "text that is not JSON" if text else "no body"
    return AdminError(status, f"http_{status}", f"the admin API answered {status} with {kind}")
