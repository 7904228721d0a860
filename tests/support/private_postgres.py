"""A PostgreSQL server of the caller's own, in a temporary folder on a free loopback port.

For what the shared server must never be used for: restarting it under load (the soak), TLS
with a certificate authority of the test's own, password authentication with a password that
changes. Runs the Debian PostgreSQL binaries as the `postgres` user (the server refuses root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SERVER_USER = "postgres"


def _bin_dir() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        raise RuntimeError(
            "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)"
        )
    return versions[-1].parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_server_user(*command: str | Path) -> list[str]:
    argv = [str(part) for part in command]
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


@dataclass
class Certificates:
    """A certificate authority and a server certificate it signed for 127.0.0.1 and localhost."""

    ca_cert: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def create(cls, folder: Path) -> Certificates:
        ca_key, ca_cert = folder / "ca.key", folder / "ca.crt"
        key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.crt"
        ext = folder / "server.ext"
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=jobu test CA",
            "-keyout",
            ca_key,
            "-out",
            ca_cert,
        )
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", key, "-out", csr
        )
        ext.write_text("subjectAltName = DNS:localhost, IP:127.0.0.1\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca_cert,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext,
            "-out",
            cert,
        )
        return cls(ca_cert=ca_cert, server_cert=cert, server_key=key)


@dataclass
class PrivatePostgres:
    """initdb + pg_ctl on a free port. `password` switches loopback TCP to scram-sha-256."""

    password: str | None = None
    tls: bool = False
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="jobu-pg-")))
    certificates: Certificates | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", *, user: str = "postgres", password: str | None = None) -> str:
        secret = password if password is not None else self.password
        credentials = user if secret is None else f"{user}:{secret}"
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PrivatePostgres:
        if not self.data_dir.exists():
            self._init()
        self._ctl("start", "-w", "-t", "30", "-l", str(self.root / "server.log"))
        return self

    def stop(self, mode: str = "fast") -> None:
        """mode 'immediate' is a crash: no checkpoint, connections cut."""
        self._ctl("stop", "-w", "-t", "30", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def is_running(self) -> bool:
        status = subprocess.run(
            _as_server_user(_bin_dir() / "pg_ctl", "status", "-D", self.data_dir),
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the server's own socket (which trusts it)."""
        done = subprocess.run(
            _as_server_user(
                _bin_dir() / "psql",
                "-h",
                self.root,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-c",
                sql,
            ),
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def close(self) -> None:
        if self.data_dir.exists() and self.is_running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_server_user(_bin_dir() / "pg_ctl", "-D", self.data_dir, "-o", options, *args),
            check=True,
            capture_output=True,
        )

    def _init(self) -> None:
        shutil.chown(self.root, user=SERVER_USER) if os.geteuid() == 0 else None
        subprocess.run(
            _as_server_user(
                _bin_dir() / "initdb",
                "-D",
                self.data_dir,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        conf = ["max_connections = 200"]
        if self.tls:
            self.certificates = Certificates.create(self.root)
            for path in (self.certificates.server_cert, self.certificates.server_key):
                shutil.chown(path, user=SERVER_USER) if os.geteuid() == 0 else None
                path.chmod(0o600)
            conf += [
                "ssl = on",
                f"ssl_cert_file = '{self.certificates.server_cert}'",
                f"ssl_key_file = '{self.certificates.server_key}'",
            ]
        with (self.data_dir / "postgresql.conf").open("a") as handle:
            handle.write("\n".join(conf) + "\n")
        if self.password is not None:
            host_type = "hostssl" if self.tls else "host"
            (self.data_dir / "pg_hba.conf").write_text(
                f"local all all trust\n{host_type} all all 127.0.0.1/32 scram-sha-256\n"
            )
            self.start()
            escaped = self.password.replace("'", "''")
            self.psql(f"ALTER USER postgres PASSWORD '{escaped}'")
            self.stop()
