"""The asyncio client: the same routing as MultiCloudClient, on one event loop with httpx.AsyncClient.

Attempts are tasks; a hedge is a second task, and the loser is cancelled as soon as an answer arrives, so
its connection is freed at once (which threads cannot do). Probes are tasks too, started on the first call
or on `async with`, since a task needs a running loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from mlplatform_client import _common
from mlplatform_client._base import ClientBase
from mlplatform_client._common import Inputs
from mlplatform_client.attempts import Attempt, Outcome
from mlplatform_client.dispatch import Dispatch, Launch
from mlplatform_client.health import TaskProber
from mlplatform_client.tensors import InferResult, ModelMetadata
from mlplatform_client.tracing import CallTrace
from mlplatform_client.transport import Answer, Request, send_async, timeout_for


class AsyncMultiCloudClient(ClientBase):
    """The asyncio twin of MultiCloudClient; use one per event loop.

    async with AsyncMultiCloudClient.from_stack_outputs("outputs.json", strategy="latency") as client:
        result = await client.predict("fraud-detection", [Tensor.of("x", [[0.1, 0.2, 0.3, 0.4]])])
    """

    _http: httpx.AsyncClient
    _prober: TaskProber | None
    _transport_type = httpx.AsyncBaseTransport

    def _connect(self) -> None:
        self._http = httpx.AsyncClient(**self._http_settings())
        self._prober = None  # started by start(): a task needs a running loop

    async def predict(
        self,
        model: str,
        inputs: Inputs,
        *,
        outputs: Sequence[str] | None = None,
        parameters: Mapping[str, Any] | None = None,
        version: str | None = None,
        request_id: str | None = None,
        deadline: float | None = None,
    ) -> InferResult:
        request = _common.predict_request(model, inputs, outputs, parameters, version, request_id)
        answer, attempts = await self._call(model, request, deadline, _common.infer_decoder(outputs))
        return _common.with_attempts(answer.payload, attempts)

    async def metadata(self, model: str, *, version: str | None = None, deadline: float | None = None) -> ModelMetadata:
        request = _common.metadata_request(model, version)
        answer, _ = await self._call(model, request, deadline, _common.metadata_decoder)
        return answer.payload

    async def model_ready(self, model: str, *, version: str | None = None) -> dict[str, bool]:
        return await self._ask_all(_common.ready_request(model, version))

    async def server_ready(self) -> dict[str, bool]:
        return await self._ask_all(None)

    async def start(self) -> None:
        """Start the health probes (done by `async with` and by the first call)."""
        if self._prober is None and self.options.probe_interval is not None and not self._closed:
            self._prober = TaskProber(self._http, self._router, self._router.endpoints)
            self._prober.start()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._prober is not None:
            await self._prober.stop()
        await self._http.aclose()

    async def __aenter__(self) -> AsyncMultiCloudClient:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def _call(
        self, model: str, request: Request, deadline: float | None, decode: _common.Decoder
    ) -> tuple[Answer, tuple[Attempt, ...]]:
        seconds = self._deadline(deadline)
        await self.start()
        token = await self._token.atoken() if self._token is not None else None  # one token for every attempt
        dispatch = Dispatch(self._router, model, seconds, self.options.hedge_after)
        running: dict[asyncio.Task[Answer], str] = {}
        trace = CallTrace(model, request.method, request.path)

        def launch(*, hedge: bool = False) -> None:
            step = dispatch.next_launch(hedge=hedge)
            if step is not None:
                task = asyncio.create_task(self._attempt(model, request, step, token, decode, trace))
                running[task] = step.endpoint.name

        with trace:  # ends once the losers are cancelled, so the call's span holds every attempt's
            try:
                launch()
                while running:
                    done, _ = await asyncio.wait(
                        running, timeout=dispatch.wait_time(len(running)), return_when=asyncio.FIRST_COMPLETED
                    )
                    if not done:
                        dispatch.check_deadline(list(running.values()))
                        if dispatch.hedge_due(len(running)):
                            launch(hedge=True)
                        continue
                    for task in done:
                        del running[task]
                        answer = task.result()
                        self._token_refused(answer.attempt)
                        if dispatch.is_answer(answer.attempt):
                            return answer, tuple(dispatch.attempts)
                    if not running:
                        await asyncio.sleep(dispatch.pause())  # a 429's Retry-After, cut to the deadline
                        dispatch.check_deadline([])
                        launch()
                raise dispatch.exhausted()
            finally:
                # Hedges that lost, attempts cut off by the deadline or by the caller's own cancellation: stop them
                # now, which frees their connections, and wait until they have recorded how they ended.
                for task in running:
                    task.cancel()
                if running:
                    await asyncio.gather(*running, return_exceptions=True)

    async def _attempt(
        self,
        model: str,
        request: Request,
        step: Launch,
        token: str | None,
        decode: _common.Decoder,
        trace: CallTrace,
    ) -> Answer:
        name = step.endpoint.name
        started = time.monotonic()
        with trace.attempt(name, retry=step.retry, hedge=step.hedge) as span:
            try:
                answer = await send_async(
                    self._http,
                    self._routes[name],
                    name,
                    request,
                    timeout_for(step.timeout, self.options.connect_timeout),
                    token,
                    span.headers,
                )
                answer = _common.decoded(answer, decode)
            except asyncio.CancelledError:
                duration = time.monotonic() - started
                if duration >= step.timeout * 0.99:  # its whole time was spent: cut off at the deadline, it timed out
                    attempt = Attempt(name, started, duration, Outcome.TIMEOUT, None, "cut off at the call's deadline")
                else:  # a hedge that lost the race, or the caller's own cancellation
                    attempt = Attempt(name, started, duration, Outcome.CANCELLED)
                self._router.finished(model, attempt)
                span.finished(attempt)
                raise
            span.finished(answer.attempt)
        self._router.finished(model, answer.attempt)
        _common.notify(self._listener, answer.attempt)
        return answer

    async def _ask_all(self, request: Request | None) -> dict[str, bool]:
        self._check_open()
        timeout = timeout_for(self.options.probe_timeout, self.options.connect_timeout)
        endpoints = self._router.endpoints
        # The health path is open at the gateways; model readiness needs the caller's token.
        token = await self._token.atoken() if self._token is not None and request is not None else None
        answers = await asyncio.gather(
            *(
                send_async(
                    self._http, self._routes[e.name], e.name, request or Request("GET", e.health_path), timeout, token
                )
                for e in endpoints
            )
        )
        return {e.name: a.attempt.status == 200 for e, a in zip(endpoints, answers, strict=True)}
