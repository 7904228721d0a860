"""TLS to PostgreSQL and MySQL, said once in the database URL for both drivers.

The URL's query carries libpq's names: `sslmode=verify-full&sslrootcert=/path/ca.pem` (the
server's certificate must chain to a CA in the bundle, and name the host) or `sslmode=disable`.
Without `sslmode` the driver's default applies (asyncpg tries TLS without verifying; asyncmy
does not use TLS). jobu.config writes this query from JOBU_DATABASE_TLS and
JOBU_DATABASE_CA_BUNDLE when the database comes from a secret.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jobu import constants
from jobu.errors import ConfigurationError

TLS_KEYS = ("sslmode", "sslrootcert")


@dataclass(frozen=True)
class Connection:
    """A URL without its TLS query, and what to give the driver's `ssl` argument."""

    url: str
    ssl: ssl.SSLContext | bool | None  # None: the driver's default; False: no TLS

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "localhost"

    @property
    def port(self) -> int | None:
        return urlsplit(self.url).port

    @property
    def user(self) -> str:
        return urlsplit(self.url).username or ""

    @property
    def database(self) -> str:
        return urlsplit(self.url).path.lstrip("/")


def verifying_context(ca_bundle: str) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=ca_bundle)
    except (FileNotFoundError, ssl.SSLError) as error:
        raise ConfigurationError(
            f"the database CA bundle {ca_bundle} cannot be read ({error.__class__.__name__}); "
            f"set {constants.DATABASE_CA_BUNDLE} to a PEM file (docs/security.md)"
        ) from None
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def connection(url: str) -> Connection:
    """Split the TLS settings off a database URL."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    settings = {key: value for key, value in query if key in TLS_KEYS}
    rest = urlencode([(key, value) for key, value in query if key not in TLS_KEYS])
    bare = urlunsplit(parts._replace(query=rest))
    mode = settings.get("sslmode")
    if mode is None:
        return Connection(bare, None)
    if mode == "disable":
        return Connection(bare, False)
    if mode != "verify-full":
        raise ConfigurationError(f"database sslmode {mode!r} is not supported: use verify-full or disable")
    ca_bundle = settings.get("sslrootcert")
    if not ca_bundle:
        raise ConfigurationError("database sslmode verify-full needs sslrootcert (a CA bundle, PEM)")
    return Connection(bare, verifying_context(ca_bundle))
