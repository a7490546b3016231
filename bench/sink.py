"""The least a telemetry receiver can do, in its own process: read each envelope, discard
it, count it. `python -m bench.sink PORT` serves until killed; GET /count answers how many
envelopes arrived. The benchmarks point SENTRY_DSN here so that what Sentry's SDK costs the
measured processes is not mixed with what receiving it costs."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_count = 0
_lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        global _count
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _lock:
            _count += 1
        self._answer(b"{}")

    def do_GET(self) -> None:
        self._answer(str(_count).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def dsn(port: int) -> str:
    """A DSN whose envelopes go to the sink on this port (project 1)."""
    return f"http://publickey@127.0.0.1:{port}/1"


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _Handler)
    server.daemon_threads = True
    server.serve_forever()
