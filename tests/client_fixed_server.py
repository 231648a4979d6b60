"""A real HTTP server on a loopback port that answers every request with the same fixed bytes.

What a broken target looks like to the client: a 200 whose body is not a V2 answer (an HTML page from a
proxy, a JSON array, an output without its datatype), a 429 with an unreadable Retry-After. The bytes go
out exactly as given, over a real socket, through the standard library's HTTP server; the request bodies
are kept, so a test can read what the client sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Fixed:
    """One answer: status, headers (sent as given, in order) and body."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("content-type", "application/json")])


class FixedServer:
    """`with FixedServer(Fixed(200, b"[]")) as server: Endpoint("bad", server.url)`; `server.answer` may change."""

    def __init__(self, answer: Fixed | None = None) -> None:
        self.answer = answer or Fixed()
        self.bodies: list[bytes] = []  # every request body received, in order
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the gateways do
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall between

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                owner.bodies.append(self.rfile.read(length) if length else b"")
                answer = owner.answer
                self.send_response_only(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # no line per request on stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # a free port, bound at once
        self.port: int = self._server.server_address[1]
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fixed-server", daemon=True
        )  # polls for shutdown every 20 ms (the default 0.5 s would add that to every test's teardown)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FixedServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
