"""The services the project's scripts start listen on loopback only (never on every interface)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's st column


def listening_addresses(port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The local addresses with a socket listening on `port`, from the kernel's tables."""
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != LISTEN or int(port_hex, 16) != port:
                continue
            raw = bytes.fromhex(address)
            # the kernel prints each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
            found.add(ipaddress.ip_address(words))
    return found


def test_localstack_listens_on_loopback_only(localstack_endpoint: str) -> None:
    port = urlsplit(localstack_endpoint).port
    assert port is not None
    addresses = listening_addresses(port)
    assert addresses, f"nothing listens on {port}"
    assert all(address.is_loopback for address in addresses), addresses
