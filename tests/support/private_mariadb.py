"""A MariaDB server of the caller's own, in a temporary folder on a free loopback port.

The shared MariaDB (127.0.0.1:3306) has no TLS (`have_ssl` is DISABLED) and must never be
reconfigured or restarted, so TLS and changing passwords are tested here: mariadb-install-db
into a temporary datadir, mariadbd on a free port with a certificate authority of the test's
own (tests/private_postgres.Certificates) and, with `tls`, require_secure_transport. Runs as the
`mysql` user; root connects over the server's own socket only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.private_postgres import Certificates, free_port

SERVER_USER = "mysql"


@dataclass
class PrivateMariaDB:
    tls: bool = False
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="jobu-mariadb-")))
    certificates: Certificates | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.root / "mysqld.sock"

    def url(self, user: str, password: str, database: str = "") -> str:
        return f"mysql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str) -> str:
        """Run SQL as root over the server's socket."""
        done = subprocess.run(
            ["mariadb", f"--socket={self.socket}", "-uroot", "-N", "-B", "-e", statement],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def start(self) -> PrivateMariaDB:
        data = self.root / "data"
        if not data.exists():
            self._install(data)
        return self._serve(data)

    def restart(self) -> None:
        """Stop the server (a clean shutdown: every connection is cut) and start it again on the
        same port and data."""
        self.stop()
        self._serve(self.root / "data")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=30)

    def _install(self, data: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, user=SERVER_USER)
        subprocess.run(
            [
                "mariadb-install-db",
                f"--datadir={data}",
                f"--user={SERVER_USER}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
                "--no-defaults",
            ],
            check=True,
            capture_output=True,
        )

    def _serve(self, data: Path) -> PrivateMariaDB:
        options = [
            "--no-defaults",
            f"--datadir={data}",
            f"--user={SERVER_USER}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.socket}",
            f"--pid-file={self.root / 'mysqld.pid'}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=16M",
            f"--log-error={self.root / 'error.log'}",
        ]
        if self.tls:
            self.certificates = self.certificates or Certificates.create(self.root)
            for path in (self.certificates.server_cert, self.certificates.server_key):
                shutil.chown(path, user=SERVER_USER) if os.geteuid() == 0 else None
            options += [
                f"--ssl-ca={self.certificates.ca_cert}",
                f"--ssl-cert={self.certificates.server_cert}",
                f"--ssl-key={self.certificates.server_key}",
                "--require-secure-transport=ON",
            ]
        self._process = subprocess.Popen(
            ["/usr/sbin/mariadbd", *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {(self.root / 'error.log').read_text()[-2000:]}")
            try:
                self.sql("SELECT 1")
                return self
            except subprocess.CalledProcessError:
                time.sleep(0.2)
        raise RuntimeError("mariadbd did not start in 30 s")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivateMariaDB:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
