"""`jobu runs rejected`: the operator's list of Kafka records the queue dispatcher refused."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from jobu.store import open_store
from jobu_local.commands.cli import main


async def seed(url: str) -> None:
    store = await open_store(url)
    await store.migrate()

    def row(partition: int, offset: int, raw_value: str, reason: str) -> dict[str, object]:
        return {
            "source_topic": "jobu-events",
            "source_partition": partition,
            "source_offset": offset,
            "record_key": f"jobu-events:{partition}:{offset}",
            "raw_value": raw_value,
            "raw_encoding": "utf-8",
            "reason": reason,
        }

    rows = [
        row(1, 5, "{oops", "value is not JSON"),
        row(0, 9, '{"handler_name": "x"}', "unknown handler 'x'"),
    ]
    await store.rejected_records.insert(rows, now=datetime(2026, 11, 22, tzinfo=UTC))
    await store.close()


def test_rejected_records_are_listed_with_reason_and_value(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(seed(sqlite_url))
    assert main(["runs", "rejected", "--database-url", sqlite_url]) == 0
    table = capsys.readouterr().out
    assert "jobu-events:1:5" in table
    assert "value is not JSON" in table
    assert "{oops" in table

    assert main(["runs", "rejected", "--database-url", sqlite_url, "--json", "--limit", "1"]) == 0
    (newest,) = json.loads(capsys.readouterr().out)
    assert (newest["source_offset"], newest["reason"]) == (9, "unknown handler 'x'")
