"""A real HTTP server on loopback for webhook tests, and what a receiver does to verify a delivery."""

from __future__ import annotations

import base64
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

# A secret as SLA Portal makes them: whsec_ and 32 bytes in base64.
SECRET = "whsec_" + base64.b64encode(b"sla-portal-tests-signing-key-32b").decode()


class Receiver:
    """Records what it gets and answers with scripted statuses (200 once the script runs out). With
    `trickle`, it sends its status line and then one header line every `trickle` seconds for
    `trickle_for` seconds, as a hostile or broken receiver might."""

    def __init__(
        self,
        statuses: list[int] | tuple[int, ...] = (),
        delay: float = 0.0,
        headers=None,
        *,
        trickle: float = 0.0,
        trickle_for: float = 0.0,
    ):
        self.requests: list[dict[str, Any]] = []
        statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})
                time.sleep(delay)
                if trickle:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    until = time.monotonic() + trickle_for
                    while time.monotonic() < until:
                        try:
                            self.wfile.write(b"X-Still-Thinking: yes\r\n")
                            self.wfile.flush()
                        except OSError:
                            return  # the sender gave up
                        time.sleep(trickle)
                    self.wfile.write(b"\r\n")
                    return
                self.send_response(statuses.pop(0) if statuses else 200)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args):
                pass

        # One thread per request, so a trickling answer holds up no other request (nor close()).
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(request: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    """What a receiver does: the reference Standard Webhooks library checks the signature and the time."""
    return Webhook(secret).verify(request["body"], dict(request["headers"].items()))
