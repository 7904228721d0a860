"""How the admin operations fail, on either target: the API's {error, detail} and its status."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class AdminError(Exception):
    """An operation refused or failed: `error` is the API's code, `detail` why; `status` its HTTP
    status (None when the API could not be reached)."""

    def __init__(self, status: int | None, error: str, detail: Any) -> None:
        super().__init__(f"{error}: {describe(detail)}")
        self.status = status
        self.error = error
        self.detail = detail

    @property
    def refused(self) -> bool:
        """The request was refused (4xx): asking again the same way will not help."""
        return self.status is not None and 400 <= self.status < 500


MAX_DETAIL = 400


def describe(detail: Any) -> str:
    """The detail in one line: a validation_error's field problems as `field: why; ...`; a long
    one (an SQS error can quote an HTML page) cut short."""
    text = "; ".join(_problem(item) for item in detail) if isinstance(detail, list) else str(detail)
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _problem(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    location = [str(part) for part in item.get("loc", [])]
    if location and location[0] in {"body", "query", "path"}:
        location = location[1:]  # where in the request is the API's concern, the field is the user's
    message = str(item.get("msg", "")).removeprefix(
        "Value error, "
    )  # pydantic's prefix for a check's own words
    return f"{'.'.join(location)}: {message}" if location else message


def validation_error(error: ValidationError) -> AdminError:
    """pydantic's complaints about a model built here, as the API answers them (400)."""
    problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
    return AdminError(400, "validation_error", problems)
