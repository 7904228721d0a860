"""A loopback HTTP server that records every request it gets and answers what it is told to: a
stand-in admin API, a redirect's target, or (as `http_proxy`) every plain-http request of the test's
process, whatever host it was for."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (status, headers, body) for a request's path
Reply = Callable[[str], tuple[int, dict[str, str], bytes]]


def empty_page(path: str) -> tuple[int, dict[str, str], bytes]:
    """An empty page of the admin API's lists."""
    return 200, {}, b'{"items": [], "total": 0, "page": 1, "size": 50, "pages": 0}'


@dataclass
class Recorder:
    reply: Reply = empty_page
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # method, target, headers
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Recorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                recorder.seen.append((self.command, self.path, headers))
                status, extra, body = recorder.reply(self.path)
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **extra}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = answer

            def log_message(self, format: str, *args: Any) -> None:  # the base class's name
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
