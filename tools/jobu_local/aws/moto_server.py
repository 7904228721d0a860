"""The embedded AWS emulator: moto server, with CloudWatch Logs filtering as CloudWatch does it.

moto's FilterLogEvents matches plain terms only and returns every event for a JSON or
space-delimited pattern; here it uses the project's matcher (jobu_local.aws.cloudwatch.
filter_pattern), so `aws logs filter-log-events --filter-pattern '{ $.execution_id = 42 }'` and
boto3 get from the local endpoint what CloudWatch would return. A pattern CloudWatch would refuse
is refused the same way (InvalidParameterException). Everything else is moto's own.

Run as `python -m jobu_local.aws.moto_server -H 127.0.0.1 -p PORT` (moto server's own arguments).
"""

from __future__ import annotations

from functools import lru_cache

from moto.logs import models
from moto.logs.exceptions import InvalidParameterException
from moto.server import main

from jobu_local.aws.cloudwatch.filter_pattern import FilterPatternError, Matcher, compile_pattern


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Matcher:
    # moto builds a filter per event: compiling once per pattern keeps a large group fast
    try:
        return compile_pattern(pattern)
    except FilterPatternError as error:
        raise InvalidParameterException(f"Invalid filter pattern: {error}") from None


class EventMessageFilter:
    """Replaces moto.logs.models.EventMessageFilter (same constructor and `matches`)."""

    def __init__(self, pattern: str) -> None:
        self.matcher = _compiled(pattern or "")

    def matches(self, message: str) -> bool:
        return self.matcher(message)


def use_project_filter_patterns() -> None:
    models.EventMessageFilter = EventMessageFilter  # type: ignore[attr-defined,assignment]


if __name__ == "__main__":
    use_project_filter_patterns()
    main()
