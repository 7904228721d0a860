"""Every route of the admin API that changes something knows who asks: it takes the caller (the
principal its audit row records). A route added without it would change things unrecorded."""

from __future__ import annotations

from typing import get_type_hints

from jobu.api.parameters import Caller
from jobu_local.admin.client import api_routes

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def test_every_route_that_changes_something_takes_the_caller() -> None:
    changing = {route: api for route, api in api_routes().items() if api.method not in READ_METHODS}
    assert len(changing) >= 15  # cron jobs, runs, rejected records, the dead-letter queue, the probe
    missing = [
        f"{api.method} {api.path}"
        for route, api in changing.items()
        if Caller not in get_type_hints(route, include_extras=True).values()
    ]
    assert missing == []


def test_no_read_takes_the_caller() -> None:
    """Reads are not recorded: a GET route asking for the caller would suggest they are."""
    reading = [route for route, api in api_routes().items() if api.method in READ_METHODS]
    assert [r.__name__ for r in reading if Caller in get_type_hints(r, include_extras=True).values()] == []
