"""The synchronous client: thread-safe, one instance shared by every thread of an application.

Attempts run on the client's worker threads while the calling thread waits on them with the call's
remaining time, so the deadline holds even against a target that accepts a connection and then trickles
(httpx's timeouts bound each read, not the whole answer), and a hedge is just a second attempt in flight.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx

from mlplatform_client import _common
from mlplatform_client._base import ClientBase
from mlplatform_client._common import Inputs
from mlplatform_client.attempts import Attempt, Outcome
from mlplatform_client.dispatch import Dispatch, Launch
from mlplatform_client.health import ThreadProber
from mlplatform_client.tensors import InferResult, ModelMetadata
from mlplatform_client.tracing import CallTrace
from mlplatform_client.transport import Answer, Request, send, timeout_for


class MultiCloudClient(ClientBase):
    """One predict() across every target: routed by a strategy, probed, failed over within one deadline.

        client = MultiCloudClient.from_stack_outputs("outputs.json", strategy="latency")
        result = client.predict("fraud-detection", [Tensor.of("x", [[0.1, 0.2, 0.3, 0.4]])])

    `strategy` is a name ("round-robin", "latency", "failover", "weighted", "geo") or a Strategy instance;
    settings are ClientOptions fields, as `options=` or keyword arguments (`deadline=2.0`). `on_attempt`,
    if given, is called (from a worker thread) with every finished attempt.
    """

    _http: httpx.Client
    _pool: ThreadPoolExecutor
    _prober: ThreadProber | None

    def _connect(self) -> None:
        self._http = httpx.Client(**self._http_settings())
        self._pool = ThreadPoolExecutor(
            max_workers=self.options.max_connections, thread_name_prefix="mlplatform-client"
        )
        self._prober = None
        if self.options.probe_interval is not None:
            self._prober = ThreadProber(self._http, self._router, self._router.endpoints)
            self._prober.start()

    # --- calls ---

    def predict(
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
        """Run inference on the first target that answers; raises a MultiCloudError naming what went wrong."""
        request = _common.predict_request(model, inputs, outputs, parameters, version, request_id)
        answer, attempts = self._call(model, request, deadline, _common.infer_decoder(outputs))
        return _common.with_attempts(answer.payload, attempts)

    def metadata(self, model: str, *, version: str | None = None, deadline: float | None = None) -> ModelMetadata:
        """The model's V2 metadata from the first target that serves it."""
        request = _common.metadata_request(model, version)
        answer, _ = self._call(model, request, deadline, _common.metadata_decoder)
        return answer.payload

    def model_ready(self, model: str, *, version: str | None = None) -> dict[str, bool]:
        """Whether each target has the model loaded and ready, asking every target at once."""
        return self._ask_all(_common.ready_request(model, version))

    def server_ready(self) -> dict[str, bool]:
        """Each target's readiness, on its health path (what GlobalDns and the probes check)."""
        return self._ask_all(None)

    # --- lifecycle ---

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._prober is not None:
            self._prober.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def __enter__(self) -> MultiCloudClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the routing loop ---

    def _call(
        self, model: str, request: Request, deadline: float | None, decode: _common.Decoder
    ) -> tuple[Answer, tuple[Attempt, ...]]:
        seconds = self._deadline(deadline)
        token = self._token.token() if self._token is not None else None  # one token for every attempt
        dispatch = Dispatch(self._router, model, seconds, self.options.hedge_after)
        running: dict[Future[Answer], str] = {}
        trace = CallTrace(model, request.method, request.path)  # here: the caller's thread holds its trace context

        def launch(*, hedge: bool = False) -> None:
            step = dispatch.next_launch(hedge=hedge)
            if step is not None:
                future = self._pool.submit(self._attempt, model, request, step, token, decode, trace)
                running[future] = step.endpoint.name

        with trace:
            launch()
            while running:
                done, _ = wait(running, timeout=dispatch.wait_time(len(running)), return_when=FIRST_COMPLETED)
                if not done:
                    dispatch.check_deadline(list(running.values()))
                    if dispatch.hedge_due(len(running)):
                        launch(hedge=True)
                    continue
                for future in done:
                    del running[future]
                    answer = future.result()
                    self._token_refused(answer.attempt)
                    if dispatch.is_answer(answer.attempt):
                        return answer, tuple(dispatch.attempts)
                if not running:
                    time.sleep(dispatch.pause())  # a 429's Retry-After, cut to the deadline
                    dispatch.check_deadline([])
                    launch()
            raise dispatch.exhausted()

    def _attempt(
        self,
        model: str,
        request: Request,
        step: Launch,
        token: str | None,
        decode: _common.Decoder,
        trace: CallTrace,
    ) -> Answer:
        name = step.endpoint.name
        now = time.monotonic()
        timeout = min(step.timeout, step.end - now)
        if timeout <= 0:  # it waited for a worker until the call had given up: do not send it at all
            answer = Answer(Attempt(name, now, 0.0, Outcome.CANCELLED, None, "no worker before the deadline"))
            self._router.finished(model, answer.attempt)
            return answer
        with trace.attempt(name, retry=step.retry, hedge=step.hedge) as span:
            answer = send(
                self._http,
                self._routes[name],
                name,
                request,
                timeout_for(timeout, self.options.connect_timeout),
                token,
                span.headers,
            )
            answer = _common.decoded(answer, decode)
            span.finished(answer.attempt)
        self._router.finished(model, answer.attempt)
        _common.notify(self._listener, answer.attempt)
        return answer

    def _ask_all(self, request: Request | None) -> dict[str, bool]:
        self._check_open()
        timeout = timeout_for(self.options.probe_timeout, self.options.connect_timeout)
        # The health path is open at the gateways; model readiness needs the caller's token.
        token = self._token.token() if self._token is not None and request is not None else None
        futures = {
            e.name: self._pool.submit(
                send, self._http, self._routes[e.name], e.name, request or Request("GET", e.health_path), timeout, token
            )
            for e in self._router.endpoints
        }
        return {name: future.result().attempt.status == 200 for name, future in futures.items()}
