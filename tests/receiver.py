"""A real HTTP server on loopback for webhook tests, and what a receiver does to verify a delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """Records what it gets and answers with scripted statuses (200 once the script runs out)."""

    def __init__(self, statuses: list[int] | tuple[int, ...] = (), delay: float = 0.0, headers=None):
        self.requests: list[dict[str, Any]] = []
        statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})
                time.sleep(delay)
                self.send_response(statuses.pop(0) if statuses else 200)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(request: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    """Recompute the HMAC over timestamp and raw body, compare in constant time, check the clock."""
    parts = dict(p.split("=", 1) for p in request["headers"]["X-SLA-Portal-Signature"].split(","))
    signed = f"{parts['t']}.".encode() + request["body"]
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"]), "signature does not match"
    assert abs(int(parts["t"]) - time.time()) < 60, "timestamp too far from the clock"
    return json.loads(request["body"])
