"""Background health probes: each target's ready path, every `probe_interval` seconds.

Probes are what lets the client leave a failed target before a caller's request has to find out, and
come back to it when it recovers: every probe feeds the target's breaker (failures open it; once the
cool-down has passed, the next probe is the half-open trial) and the latency moving average the latency
strategy ranks by. Each target is probed on its own schedule (a thread, or an asyncio task), so one
target that hangs delays no other target's probes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence

import httpx

from mlplatform_client._common import log
from mlplatform_client.endpoints import Endpoint
from mlplatform_client.router import Router
from mlplatform_client.transport import Answer, Request, Route, send, send_async, timeout_for


def _probe_request(endpoint: Endpoint) -> Request:
    return Request("GET", endpoint.health_path)


def _record(router: Router, answer: Answer) -> None:
    attempt = answer.attempt
    router.probed(attempt.target, attempt.status == 200, attempt.duration)


class ThreadProber:
    """One daemon thread per target for the sync client."""

    def __init__(self, http: httpx.Client, router: Router, endpoints: Sequence[Endpoint]) -> None:
        self._http = http
        self._router = router
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(e,), name=f"mlplatform-probe-{e.name}", daemon=True)
            for e in endpoints
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=self._router.options.probe_timeout + 1)

    def _run(self, endpoint: Endpoint) -> None:
        options = self._router.options
        assert options.probe_interval is not None
        route, request = Route.of(endpoint), _probe_request(endpoint)
        timeout = timeout_for(options.probe_timeout, options.connect_timeout)
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                answer = send(self._http, route, endpoint.name, request, timeout)
            except Exception:
                if self._stop.is_set():  # the client was closed under the probe
                    return
                log.exception("health probe of %s failed unexpectedly", endpoint.name)
                self._router.probed(endpoint.name, False, time.monotonic() - began)
            else:
                if self._stop.is_set():
                    return
                _record(self._router, answer)
            self._stop.wait(max(0.0, options.probe_interval - (time.monotonic() - began)))


class TaskProber:
    """One asyncio task per target for the asyncio client."""

    def __init__(self, http: httpx.AsyncClient, router: Router, endpoints: Sequence[Endpoint]) -> None:
        self._http = http
        self._router = router
        self._endpoints = tuple(endpoints)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(e), name=f"mlplatform-probe-{e.name}") for e in self._endpoints]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _run(self, endpoint: Endpoint) -> None:
        options = self._router.options
        assert options.probe_interval is not None
        route, request = Route.of(endpoint), _probe_request(endpoint)
        timeout = timeout_for(options.probe_timeout, options.connect_timeout)
        while True:
            began = time.monotonic()
            try:
                _record(self._router, await send_async(self._http, route, endpoint.name, request, timeout))
            except Exception:
                log.exception("health probe of %s failed unexpectedly", endpoint.name)
                self._router.probed(endpoint.name, False, time.monotonic() - began)
            await asyncio.sleep(max(0.0, options.probe_interval - (time.monotonic() - began)))
