"""A small TCP proxy in front of a real server, to make a target slow, unavailable or silent on demand.

The faults a client must survive, on a real HTTP path: the server behind stays a real MLServer, and the
proxy either passes bytes through (optionally late), answers 503 itself (the status an Istio gateway or
Envoy gives when no healthy replica is left), or accepts connections and never answers. Changing the mode
drops the connections already open, so a client's pooled keep-alive connections see the new behaviour.
Optionally it speaks TLS, recording the SNI each client sent.

Runs its own asyncio loop on a daemon thread, on a free loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

Mode = Literal["pass", "unavailable", "silent"]
T = TypeVar("T")

UNAVAILABLE_BODY = b'{"error":"upstream unavailable (test proxy)"}'
UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"content-length: " + str(len(UNAVAILABLE_BODY)).encode() + b"\r\n\r\n" + UNAVAILABLE_BODY
)


class Proxy:
    def __init__(self, upstream_port: int, *, tls: ssl.SSLContext | None = None) -> None:
        self.upstream_port = upstream_port
        self.mode: Mode = "pass"
        self.delay = 0.0  # seconds added before every chunk the server sends back
        self.server_names: list[str | None] = []  # SNI per TLS handshake
        self.requests: list[bytes] = []  # the first bytes of each connection (request line and headers)
        self._tls = tls
        if tls is not None:
            tls.sni_callback = self._sni
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="client-test-proxy", daemon=True)
        self._thread.start()
        self._server = self._run(asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=tls))
        self.port: int = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def set(self, mode: Mode, delay: float = 0.0) -> None:
        """Change behaviour, dropping open connections so that the next request sees it."""
        self.mode = mode
        self.delay = delay
        self._run(self._drop_connections())

    def close(self) -> None:
        """Stop listening and drop every connection: to a client, like a server that went away."""

        async def shutdown() -> None:
            self._server.close()
            await self._drop_connections()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        if self._loop.is_closed() or not self._thread.is_alive():
            return
        self._run(shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the loop's side ---

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _drop_connections(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def _sni(self, _sock: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext) -> None:
        self.server_names.append(server_name)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.mode == "silent":
                while await reader.read(65536):
                    pass  # read and never answer
            elif self.mode == "unavailable":
                await self._answer_unavailable(reader, writer)
            else:
                await self._pipe(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError, ssl.SSLError):
            pass  # the client went away, or the proxy is closing
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer_unavailable(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            writer.write(UNAVAILABLE)
            await writer.drain()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers.add(up_writer)
        first = True

        async def forward(src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, late: bool) -> None:
            nonlocal first
            while chunk := await src.read(65536):
                if not late and first:
                    self.requests.append(chunk)
                    first = False
                if late and self.delay:
                    await asyncio.sleep(self.delay)
                dst.write(chunk)
                await dst.drain()
            with contextlib.suppress(OSError):
                dst.close()

        try:
            await asyncio.gather(forward(reader, up_writer, late=False), forward(up_reader, writer, late=True))
        finally:
            self._writers.discard(up_writer)
            up_writer.close()
