"""The client's trace context reaches the model server on every attempt: one trace id per call, a span per attempt.

Real servers: two MLServer processes export their own spans over OTLP/gRPC (MLServer's `tracing_server` setting) to
a receiver in this test, so what the server continued is read from the server's own spans: a server span's parent
is the span id of the attempt that reached it. A test proxy in front of the first server either answers 503 itself
(the first attempt fails, the call retries on the second server) or passes the request on late (the call hedges to
the second server); it records each request's headers, so even the attempt the server never saw is checked.

Three ways the client can run, as callers have it:
- here, in the test process: the OpenTelemetry API and SDK are installed (the Pulumi SDK brings them) but no tracer
  provider is configured, so the client makes its own ids;
- in a subprocess with the SDK configured (an in-memory exporter): the client records the call's span as a child of
  the caller's, and one CLIENT span per attempt under it, whose ids are the ones the servers saw;
- in a subprocess where `opentelemetry` cannot be imported at all.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from mlplatform_client import AsyncMultiCloudClient, Endpoint, Failover, MultiCloudClient, Tensor
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from components.serving_stack.contract import CallerRateLimit, ModelSpec, ModelVersion
from tests.client_proxy import Proxy
from tests.client_servers import MODEL, MLServerMissingError, ServerFarm, free_port
from tests.gateway_envoy import Envoy, SigningKey, bootstrap, gateway_listener

REPO = Path(__file__).resolve().parents[1]
SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER
# W3C Trace Context, version 00 (https://www.w3.org/TR/trace-context/#traceparent-header, read 2026-12).
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")  # flags: sampled, random (level 2)
ZERO_TRACE, ZERO_SPAN = "0" * 32, "0" * 16
SPANS_WITHIN = 20.0


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace receiver: every span the servers export, as (trace id, span id, parent id, kind, name)."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def Export(  # noqa: N802 (the OTLP service's method name)
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self._lock:
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        self.spans.append(
                            {
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(),
                                "kind": span.kind,
                                "name": span.name,
                            }
                        )
        return trace_service_pb2.ExportTraceServiceResponse()

    def server_spans(self, trace_id: str, count: int) -> list[dict[str, Any]]:
        """The `count` infer SERVER spans of `trace_id`, waiting for the servers' batch exports."""
        end = time.monotonic() + SPANS_WITHIN
        while True:
            with self._lock:
                found = [
                    s
                    for s in self.spans
                    if s["trace_id"] == trace_id and s["kind"] == SERVER_KIND and "infer" in s["name"]
                ]
            if len(found) >= count or time.monotonic() > end:
                return found
            time.sleep(0.1)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    servicer = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    servicer.port = port  # type: ignore[attr-defined]
    yield servicer
    server.stop(grace=None)


@pytest.fixture(scope="module")
def farm(receiver: Receiver) -> Iterator[ServerFarm]:
    """Two MLServers that export their spans to the receiver (settings.json beside the models), every 100 ms."""
    with tempfile.TemporaryDirectory(prefix="mlplatform-tracing-") as tmp:
        try:
            made = ServerFarm(["first", "second"], Path(tmp))
        except MLServerMissingError as missing:
            pytest.fail(str(missing), pytrace=False)
        port = receiver.port  # type: ignore[attr-defined]
        (made.repository / "settings.json").write_text(json.dumps({"tracing_server": f"127.0.0.1:{port}"}))
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # the servers' span batches, in milliseconds
            made.start()
        yield made
        made.stop()


@pytest.fixture
def proxy(farm: ServerFarm) -> Iterator[Proxy]:
    with Proxy(farm["first"].http_port) as made:
        yield made


def endpoints(proxy: Proxy, farm: ServerFarm) -> list[Endpoint]:
    return [Endpoint("first", proxy.url), Endpoint("second", farm["second"].url)]


def sent(proxy: Proxy) -> list[tuple[str, str]]:
    """(trace id, span id) of each request that reached the proxy, from its traceparent header."""
    found = []
    for head in proxy.requests:
        headers = dict(
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in head.decode().split("\r\n")[1:] if line)
        )
        match = TRACEPARENT.match(headers.get("traceparent", ""))
        assert match, f"no valid traceparent in {head!r}"
        found.append((match[1], match[2]))
    return found


def check_retry(receiver: Receiver, proxy: Proxy) -> tuple[str, str, str]:
    """The failed attempt's ids (from the proxy) and the retry's (from the second server's span) share the trace;
    returns the trace id and both attempts' span ids."""
    ((trace_id, first_span),) = sent(proxy)
    (served,) = receiver.server_spans(trace_id, 1)
    assert trace_id != ZERO_TRACE and ZERO_SPAN not in (first_span, served["parent"])
    assert served["parent"] != first_span, "each attempt is its own span"
    return trace_id, first_span, served["parent"]


def test_a_retry_carries_the_trace_to_the_next_target_under_a_new_span(
    farm: ServerFarm, proxy: Proxy, receiver: Receiver
) -> None:
    proxy.set("unavailable")  # the first target answers 503: the call retries on the second
    with MultiCloudClient(endpoints(proxy, farm), Failover(order=["first", "second"]), probe_interval=None) as client:
        first = client.predict(MODEL, [Tensor.of("x", farm.expected.inputs[:1])])
        second = client.predict(MODEL, [Tensor.of("x", farm.expected.inputs[:1])])
    assert [a.target for a in first.attempts] == ["first", "second"]
    assert len(proxy.requests) == 2, "each call tried the first target once"
    (one, _), (other, _) = sent(proxy)
    assert one != other, "each call is its own trace"
    proxy.requests[:] = proxy.requests[:1]
    check_retry(receiver, proxy)
    assert [a.target for a in second.attempts] == ["first", "second"]


def test_a_hedge_reaches_both_servers_in_one_trace_as_sibling_spans(
    farm: ServerFarm, proxy: Proxy, receiver: Receiver
) -> None:
    proxy.set("pass", delay=1.0)  # the first server answers late: the call hedges to the second
    with MultiCloudClient(
        endpoints(proxy, farm), Failover(order=["first", "second"]), probe_interval=None, hedge_after=0.2
    ) as client:
        client.predict(MODEL, [Tensor.of("x", farm.expected.inputs[:1])])
    ((trace_id, hedged_from),) = sent(proxy)
    spans = receiver.server_spans(trace_id, 2)  # the slow first server still serves the first attempt
    parents = {s["parent"] for s in spans}
    assert len(spans) == 2 and len(parents) == 2, "each attempt is its own span"
    assert hedged_from in parents


CALLER = """
import json, sys
mode, first, second, model, row = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
if mode == "absent":
    sys.modules["opentelemetry"] = None  # import opentelemetry fails, as where it is not installed
else:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
from mlplatform_client import AsyncMultiCloudClient, Endpoint, Failover, MultiCloudClient, Tensor
client = MultiCloudClient(
    [Endpoint("first", first), Endpoint("second", second)], Failover(order=["first", "second"]), probe_interval=None
)
def call():
    return [a.target for a in client.predict(model, [Tensor.of("x", [row])]).attempts]
if mode == "absent":
    print(json.dumps({"attempts": call()}))
else:
    with trace.get_tracer("caller").start_as_current_span("caller"):
        attempts = call()
    spans = [
        {
            "name": s.name,
            "trace_id": f"{s.context.trace_id:032x}",
            "span_id": f"{s.context.span_id:016x}",
            "parent": f"{s.parent.span_id:016x}" if s.parent else None,
            "kind": s.kind.name,
            "attributes": dict(s.attributes),
            "error": s.status.status_code.name == "ERROR",
        }
        for s in exporter.get_finished_spans()
    ]
    print(json.dumps({"attempts": attempts, "spans": spans}))
client.close()
"""


def run_caller(mode: str, proxy: Proxy, farm: ServerFarm) -> dict[str, Any]:
    args = [mode, proxy.url, farm["second"].url, MODEL, json.dumps(farm.expected.inputs[0])]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", CALLER, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["attempts"] == ["first", "second"]
    return result


def test_with_the_sdk_the_call_and_its_attempts_are_recorded_under_the_callers_span(
    farm: ServerFarm, proxy: Proxy, receiver: Receiver
) -> None:
    proxy.set("unavailable")
    spans = run_caller("sdk", proxy, farm)["spans"]
    by_name = {s["name"]: s for s in spans}
    caller, call = by_name["caller"], by_name[f"POST /v2/models/{MODEL}/infer"]
    failed, retried = by_name["attempt first"], by_name["attempt second"]
    assert call["parent"] == caller["span_id"] and call["trace_id"] == caller["trace_id"]
    assert failed["parent"] == retried["parent"] == call["span_id"], "attempts are siblings under the call"
    assert failed["kind"] == retried["kind"] == "CLIENT"
    assert failed["attributes"] == {
        "mlplatform.target": "first",
        "mlplatform.retry": False,
        "mlplatform.hedge": False,
        "mlplatform.outcome": "server_error",
        "http.response.status_code": 503,
    }
    assert failed["error"] and not retried["error"]
    assert retried["attributes"]["mlplatform.retry"] is True
    trace_id, first_span, second_span = check_retry(receiver, proxy)
    assert (trace_id, first_span, second_span) == (caller["trace_id"], failed["span_id"], retried["span_id"])


def test_without_opentelemetry_the_client_makes_the_ids_itself(
    farm: ServerFarm, proxy: Proxy, receiver: Receiver
) -> None:
    proxy.set("unavailable")
    run_caller("absent", proxy, farm)
    check_retry(receiver, proxy)


def test_the_asyncio_client_sends_the_trace_on_every_attempt_too(
    farm: ServerFarm, proxy: Proxy, receiver: Receiver
) -> None:
    proxy.set("unavailable")

    async def call() -> list[str]:
        async with AsyncMultiCloudClient(
            endpoints(proxy, farm), Failover(order=["first", "second"]), probe_interval=None
        ) as client:
            result = await client.predict(MODEL, [Tensor.of("x", farm.expected.inputs[:1])])
        return [a.target for a in result.attempts]

    assert asyncio.run(call()) == ["first", "second"]
    check_retry(receiver, proxy)


def test_the_trace_passes_the_gateways_envoy_to_the_model_server(farm: ServerFarm, receiver: Receiver) -> None:
    """Through a real Envoy built as the program's gateway (JWT, RBAC, the caller limit, the request limits, the
    model's routes: tests/gateway_envoy.py), none of whose filters may drop the header. This Envoy has no tracer, as
    a gateway with tracing off, so the server's parent is the client's attempt itself; with Istio's tracing on, the
    gateway's own span would sit in between, in the same trace."""
    group = "fraud-readers"
    key = SigningKey()
    with tempfile.TemporaryDirectory(prefix="mlplatform-tracing-gateway-") as tmp:
        jwks = Path(tmp) / "jwks.json"
        jwks.write_text(json.dumps(key.jwks()))
        port = free_port()
        model = ModelSpec(MODEL, (ModelVersion("v1", f"{MODEL}/v1", 100),), "T4")
        limit = CallerRateLimit(requests_per_second=10, burst=10)
        config = bootstrap(
            farm["second"].http_port, free_port(), [gateway_listener("gateway", port, jwks, [model], group, limit)]
        )
        envoy = Envoy(config, Path(tmp) / "envoy").start()
        try:
            with (
                Proxy(port) as recorder,
                MultiCloudClient(
                    [Endpoint("gateway", recorder.url)], probe_interval=None, token=key.token("svc", groups=[group])
                ) as client,
            ):
                client.predict(MODEL, [Tensor.of("x", farm.expected.inputs[:1])])
                ((trace_id, span_id),) = sent(recorder)
        finally:
            envoy.stop()
    (served,) = receiver.server_spans(trace_id, 1)
    assert served["parent"] == span_id
