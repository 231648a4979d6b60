"""Bad input and bad servers: the client's own error types, each naming what is wrong, and never a wrong verdict.

Four kinds, each through both clients: time arguments (one rule: finite seconds > 0, None for the default),
the caller's own input to a call (InvalidRequestError before any request), a 200 that is not a V2 answer
(that target failing: the call moves on to the next, the breaker counts it), and endpoint URLs (refused at
construction). The healthy targets are real MLServer processes; a broken one is a real HTTP server on
loopback answering fixed bytes (tests/client_fixed_server.py).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from mlplatform_client import (
    AllTargetsFailedError,
    AsyncMultiCloudClient,
    BreakerState,
    ClientClosedError,
    ClientCredentials,
    ClientOptions,
    ConfigError,
    Endpoint,
    InferResult,
    InvalidRequestError,
    Latency,
    MalformedAnswerError,
    MultiCloudClient,
    MultiCloudError,
    Outcome,
    OutputNotFoundError,
    RateLimitedError,
    Tensor,
    endpoints_from_outputs,
)

from tests.client_fixed_server import Fixed, FixedServer
from tests.client_servers import MODEL, ServerFarm


@pytest.fixture
def bad() -> Iterator[FixedServer]:
    with FixedServer() as server:
        yield server


def rows(farm: ServerFarm) -> list[Tensor]:
    return [Tensor.of("x", farm.expected.inputs[:1])]


def run_sync(endpoints: list[Endpoint], call: Callable[[Any], Any], **settings: Any) -> tuple[Any, Any]:
    """`call(client)` on a sync client: (what it returned or raised, the client's stats after)."""
    with MultiCloudClient(endpoints, "failover", probe_interval=None, **settings) as client:
        try:
            outcome = call(client)
        except Exception as error:
            outcome = error
        return outcome, client.stats()


def run_async(endpoints: list[Endpoint], call: Callable[[Any], Any], **settings: Any) -> tuple[Any, Any]:
    """The same on the asyncio client; `call(client)` returns an awaitable."""

    async def run() -> tuple[Any, Any]:
        async with AsyncMultiCloudClient(endpoints, "failover", probe_interval=None, **settings) as client:
            try:
                outcome = await call(client)
            except Exception as error:
                outcome = error
            return outcome, client.stats()

    return asyncio.run(run())


CLIENTS = {"sync": run_sync, "async": run_async}


def sent(stats: Any) -> int:
    return sum(t.requests for t in stats.targets.values())


# --- 13: one rule for every time argument ---

TIME_SETTINGS = ("deadline", "attempt_timeout", "connect_timeout", "probe_interval", "probe_timeout", "cooldown",
                 "hedge_after")  # fmt: skip
NOT_SECONDS = (0, 0.0, -1, math.nan, math.inf, -math.inf, 86_400.5, 1e10, "2", True)  # 1e10 s overflows wait()


@pytest.mark.parametrize("name", TIME_SETTINGS)
@pytest.mark.parametrize("value", NOT_SECONDS, ids=repr)
def test_every_time_setting_is_finite_seconds_above_zero(name: str, value: object) -> None:
    endpoints = [Endpoint("a", "http://127.0.0.1:8000")]
    settings: dict[str, Any] = {name: value}
    builds: list[Callable[..., object]] = [ClientOptions, lambda **s: MultiCloudClient(endpoints, **s),
                                           lambda **s: AsyncMultiCloudClient(endpoints, **s)]  # fmt: skip
    for build in builds:
        with pytest.raises(ConfigError, match=rf"^{name} must be a (finite )?number of seconds"):
            build(**settings)


def test_none_turns_probes_and_hedging_off_and_nothing_else() -> None:
    options = ClientOptions(probe_interval=None, hedge_after=None, deadline=0.25)
    assert (options.probe_interval, options.hedge_after, options.deadline) == (None, None, 0.25)
    with pytest.raises(ConfigError, match="hedge_after must be a finite number of seconds > 0"):
        ClientOptions(hedge_after=math.nan)  # NaN is not None: it is refused, not read as "off"
    for name in ("deadline", "attempt_timeout", "connect_timeout", "probe_timeout", "cooldown"):
        with pytest.raises(ConfigError, match=name):
            ClientOptions(**{name: None})  # type: ignore[arg-type]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("value", NOT_SECONDS, ids=repr)
def test_a_calls_deadline_follows_the_same_rule(farm: ServerFarm, client: str, value: object) -> None:
    """deadline=0 used to mean "the default" on a call while the constructor refused it; NaN made the caller spin."""
    outcome, stats = CLIENTS[client](
        [Endpoint("a", farm["a"].url)], lambda c: c.predict(MODEL, rows(farm), deadline=value)
    )
    assert isinstance(outcome, InvalidRequestError), outcome
    assert str(outcome).startswith("deadline must be a ")
    assert sent(stats) == 0 and stats.calls == 0
    outcome, stats = CLIENTS[client]([Endpoint("a", farm["a"].url)], lambda c: c.metadata(MODEL, deadline=value))
    assert isinstance(outcome, InvalidRequestError) and sent(stats) == 0


@pytest.mark.parametrize("client", CLIENTS)
def test_no_deadline_is_the_clients_and_zero_is_no_deadline(farm: ServerFarm, client: str) -> None:
    endpoints = [Endpoint("a", farm["a"].url)]
    outcome, _ = CLIENTS[client](endpoints, lambda c: c.predict(MODEL, rows(farm), deadline=0))
    assert isinstance(outcome, InvalidRequestError)  # 0 is not "the default": None is
    for deadline in (None, 3, 2.5):

        def call(c: Any, d: float | None = deadline) -> Any:
            return c.predict(MODEL, rows(farm), deadline=d)

        outcome, _ = CLIENTS[client](endpoints, call)
        assert isinstance(outcome, InferResult), outcome
        assert list(outcome.output("predict").data) == farm.expected.predict[:1]


@pytest.mark.parametrize("value", [math.nan, math.inf, 0.5, "1.5"], ids=repr)
def test_the_latency_strategys_tolerance_is_a_finite_number_from_one(value: object) -> None:
    with pytest.raises(ConfigError, match="tolerance must be a finite number >= 1"):
        Latency(tolerance=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [math.nan, math.inf, -0.001, None], ids=repr)
def test_the_latency_strategys_slack_is_finite_seconds_from_zero(value: object) -> None:
    with pytest.raises(ConfigError, match=r"slack must be a (finite )?number of seconds"):
        Latency(slack=value)  # type: ignore[arg-type]
    assert Latency(slack=0).slack == 0.0


@pytest.mark.parametrize("value", NOT_SECONDS, ids=repr)
def test_the_token_endpoints_timeout_follows_the_rule(value: object) -> None:
    with pytest.raises(ConfigError, match="ClientCredentials timeout must be a"):
        ClientCredentials("https://login.example.com/token", "id", "secret", timeout=value)  # type: ignore[arg-type]


# --- 14: the caller's own input ---

GOOD_ROW = [0.1, 0.2, 0.3, 0.4]


def v2(**fields: Any) -> dict[str, Any]:
    return {"name": "x", "shape": [1, 4], "datatype": "FP32", "data": GOOD_ROW, **fields}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in v2().items() if k != key}


BAD_CALLS: dict[str, tuple[dict[str, Any], str]] = {
    "model None": ({"model": None}, r"^model must be a model name \(a non-empty string\), got None"),
    "model empty": ({"model": ""}, r"^model must be a model name"),
    "model not a string": ({"model": 5}, r"^model must be a model name .* got 5"),
    "no inputs": ({"inputs": []}, r"^inputs must be a non-empty list .* got an empty list"),
    "one Tensor, not a list": ({"inputs": Tensor.of("x", [GOOD_ROW])}, r"^inputs must be a non-empty .* got Tensor"),
    "one dict, not a list": ({"inputs": v2()}, r"^inputs must be .* got dict"),
    "an input that is a number": ({"inputs": [5]}, r"^inputs\[0\] is int, not a Tensor or a V2 tensor dict"),
    "a V2 dict without datatype": ({"inputs": [without("datatype")]}, r"^inputs\[0\]: tensor x: no datatype"),
    "a V2 dict without shape": ({"inputs": [without("shape")]}, r"^inputs\[0\]: tensor x: no shape"),
    "a V2 dict without name": ({"inputs": [without("name")]}, r"^inputs\[0\]: tensor \(no name\): no name"),
    "shape not matching data": ({"inputs": [v2(shape=[2, 4])]}, r"tensor x: shape \[2, 4\] needs 8 values, got 4"),
    "ragged lists": ({"inputs": [v2(shape=[2, 2], data=[[1.0, 2.0], [3.0]])]}, r"tensor x: ragged nested lists"),
    "a shape that is not a list": ({"inputs": [v2(shape="1,4")]}, r"tensor x: shape must be a list of integers"),
    "a negative dimension": ({"inputs": [v2(shape=[-1, 4])]}, r"tensor x: shape \[-1, 4\] holds -1"),
    "an unknown datatype": ({"inputs": [v2(datatype="FLOAT")]}, r"tensor x: unknown V2 datatype str 'FLOAT'"),
    "NaN in the data": ({"inputs": [v2(data=[0.1, math.nan, 0.3, 0.4])]}, r"value 1 is nan, which JSON cannot carry"),
    "a float in an INT64 tensor": ({"inputs": [v2(datatype="INT64", data=[1, 2, 3.5, 4])]},
                                   r"tensor x: value 2 is float 3.5, not an integer"),
    "an INT8 out of range": ({"inputs": [v2(datatype="INT8", data=[1, 2, 300, 4])]}, r"value 2 is int 300"),
    "None in the data": ({"inputs": [v2(data=[0.1, None, 0.3, 0.4])]}, r"value 1 is NoneType None, not a number"),
    "BYTES that are not UTF-8": ({"inputs": [Tensor("s", (1,), "BYTES", (b"\xff",))]}, r"BYTES value .* not UTF-8"),
    "the same input twice": ({"inputs": [v2(), v2()]}, r"^inputs\[1\]: the name 'x' is given twice"),
    "outputs as one string": ({"outputs": "predict"}, r"^outputs must be None or a list of output names"),
    "parameters with NaN": ({"parameters": {"k": [1.0, math.nan]}}, r"^parameters\.k\[1\] is nan"),
    "parameters with a set": ({"parameters": {"k": {1}}}, r"^parameters\.k is set, which JSON cannot carry"),
    "parameters as a list": ({"parameters": [1]}, r"^parameters must be a mapping, got list"),
    "a version that is a number": ({"version": 1}, r"^version must be None or a non-empty string such as '1'"),
    "an empty version": ({"version": ""}, r"^version must be None or a non-empty string"),
    "a request id that is a number": ({"request_id": 7}, r"^request_id must be None or a non-empty string"),
}  # fmt: skip


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("case", BAD_CALLS)
def test_the_callers_bad_input_is_an_invalid_request_error(farm: ServerFarm, client: str, case: str) -> None:
    arguments, message = BAD_CALLS[case]
    call = {"model": MODEL, "inputs": [v2()], **arguments}
    outcome, stats = CLIENTS[client](
        [Endpoint("a", farm["a"].url)], lambda c: c.predict(call.pop("model"), call.pop("inputs"), **call)
    )
    assert isinstance(outcome, InvalidRequestError), repr(outcome)
    assert isinstance(outcome, MultiCloudError) and isinstance(outcome, ValueError)
    assert re.search(message, str(outcome)), str(outcome)
    assert sent(stats) == 0 and stats.calls == 0  # refused before any request: no target could answer it


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("model", [None, "", " "], ids=repr)
def test_metadata_and_readiness_need_a_model_name(farm: ServerFarm, client: str, model: object) -> None:
    for call in (lambda c: c.metadata(model), lambda c: c.model_ready(model)):
        outcome, stats = CLIENTS[client]([Endpoint("a", farm["a"].url)], call)
        assert isinstance(outcome, InvalidRequestError) and str(outcome).startswith("model must be a model name")
        assert sent(stats) == 0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Tensor.of("x", [[1.0], [2.0, 3.0]]), r"tensor x: ragged nested lists"),
        (lambda: Tensor("x", (2, 2), "FP32", (1.0, 2.0, 3.0)), r"tensor x: shape \[2, 2\] needs 4 values, got 3"),
        (lambda: Tensor.of("x", [1.0, [2.0]]), r"tensor x: ragged nested lists"),
        (lambda: Tensor.of("x", [{"a": 1}]), r"tensor x: dict \{'a': 1\} is not a number, a bool or a string"),
        (lambda: Tensor.of("", [1.0]), r"tensor name must be a non-empty string"),
        (lambda: Tensor.of(None, [1.0]), r"tensor name must be a non-empty string"),  # type: ignore[arg-type]
        (lambda: Tensor.of("x", [1, 2], datatype="BOOL"), r"tensor x: value 0 is int 1, not a bool"),
        (lambda: Tensor.from_json([1, 2]), r"a V2 tensor must be an object"),
    ],
)
def test_tensors_refuse_what_they_cannot_carry(build: Callable[[], Tensor], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as raised:
        build()
    assert isinstance(raised.value, (MultiCloudError, ValueError))


def test_a_closed_client_and_a_missing_output_are_client_errors(farm: ServerFarm) -> None:
    client = MultiCloudClient([Endpoint("a", farm["a"].url)], probe_interval=None)
    result = client.predict(MODEL, [v2(data=farm.expected.inputs[0])])  # the V2 dict the bad cases above break
    assert list(result.output("predict").data) == farm.expected.predict[:1]
    with pytest.raises(OutputNotFoundError, match=r"has no output 'nope' \(outputs: predict\)") as raised:
        result.output("nope")
    assert isinstance(raised.value, KeyError)  # what `output()` raised before, for callers that catch it
    client.close()
    with pytest.raises(ClientClosedError, match="the client is closed"):
        client.predict(MODEL, rows(farm))
    with pytest.raises(ClientClosedError):
        client.server_ready()

    async def closed_async() -> None:
        async with AsyncMultiCloudClient([Endpoint("a", farm["a"].url)], probe_interval=None) as aclient:
            pass
        with pytest.raises(ClientClosedError):
            await aclient.predict(MODEL, rows(farm))
        with pytest.raises(ClientClosedError):
            await aclient.model_ready(MODEL)

    asyncio.run(closed_async())


# --- 15: a malformed 200 is that target failing ---


def answer(body: Any, **fields: Any) -> bytes:
    return json.dumps(body if not fields else {**body, **fields}).encode()


def tensor(name: str, shape: list[int], datatype: str, data: list[Any]) -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def outputs(*items: dict[str, Any]) -> bytes:
    return answer({"model_name": MODEL, "outputs": list(items)})


JSON = [("content-type", "application/json")]
MALFORMED: dict[str, tuple[Fixed, str]] = {
    "an output without datatype": (Fixed(200, outputs({"name": "predict", "shape": [1], "data": [1]})),
                                   "outputs[0]: tensor predict: no datatype"),
    "shape not matching data": (Fixed(200, outputs(tensor("predict", [2], "INT64", [1]))),
                                "outputs[0]: tensor predict: shape [2] needs 2 values, got 1"),
    "an INT64 output holding text": (Fixed(200, outputs(tensor("p", [1], "INT64", ["1"]))),
                                     "tensor p: value 0 is str '1', not an integer"),
    '"outputs": "oops"': (Fixed(200, answer({"model_name": MODEL, "outputs": "oops"})),
                          "the answer's outputs is a string, not a non-empty list of tensors"),
    "no outputs": (Fixed(200, answer({"model_name": MODEL})), "the answer's outputs is missing"),
    "no output at all": (Fixed(200, outputs()), "the answer's outputs is an array, not a non-empty list"),
    "a JSON array body": (Fixed(200, b"[]"), "the answer is an array, not a V2 inference response object"),
    "a JSON array of outputs": (Fixed(200, answer([{"name": "p", "shape": [1], "datatype": "INT64", "data": [1]}])),
                                "the answer is an array"),
    "JSON null": (Fixed(200, b"null"), "the answer is missing (or null), not a V2 inference response"),
    "a number": (Fixed(200, b"42"), "the answer is a number"),
    "a model_version that is an object": (Fixed(200, answer({"model_version": {}, "outputs": [
        {"name": "p", "shape": [1], "datatype": "INT64", "data": [1]}]})), "the answer's model_version is an object"),
    "a non-JSON body": (Fixed(200, b"<html>upstream connect error</html>"), "the answer is not JSON: '<html>"),
    "a body nested past any parser's depth": (Fixed(200, b"[" * 100_000), "the answer is not JSON"),
    "an empty body": (Fixed(200, b""), "the answer is empty"),
    "the right JSON as text/html": (
        Fixed(200, outputs({"name": "predict", "shape": [1], "datatype": "INT64", "data": [1]}),
              [("content-type", "text/html; charset=utf-8")]),
        "the answer is text/html, not application/json"),
}  # fmt: skip


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_answer_fails_its_target_and_the_next_one_answers(
    farm: ServerFarm, bad: FixedServer, client: str, case: str
) -> None:
    bad.answer, detail = MALFORMED[case]
    endpoints = [Endpoint("bad", bad.url), Endpoint("good", farm["a"].url)]
    result, stats = CLIENTS[client](endpoints, lambda c: c.predict(MODEL, rows(farm)))
    assert isinstance(result, InferResult), repr(result)
    assert result.target == "good"
    assert list(result.output("predict").data) == farm.expected.predict[:1]
    first, second = result.attempts
    assert (first.target, first.outcome, first.status) == ("bad", Outcome.MALFORMED, 200)
    assert detail in first.detail, first.detail
    assert second.outcome is Outcome.OK
    assert stats.targets["bad"].outcomes["malformed"] == 1
    assert stats.targets["bad"].errors == 1  # it counts against the target, as a 5xx does


@pytest.mark.parametrize("client", CLIENTS)
def test_malformed_answers_open_the_breaker(farm: ServerFarm, bad: FixedServer, client: str) -> None:
    bad.answer = Fixed(200, b"[]")
    endpoints = [Endpoint("bad", bad.url), Endpoint("good", farm["a"].url)]

    def three_calls(c: Any) -> Any:
        if isinstance(c, AsyncMultiCloudClient):

            async def calls() -> list[str]:
                return [(await c.predict(MODEL, rows(farm))).target for _ in range(3)]

            return calls()
        return [c.predict(MODEL, rows(farm)).target for _ in range(3)]

    served, stats = CLIENTS[client](endpoints, three_calls, failure_threshold=2, cooldown=60.0)
    assert served == ["good", "good", "good"]
    assert stats.targets["bad"].breaker is BreakerState.OPEN
    assert stats.targets["bad"].requests == 2  # then the breaker kept calls away


@pytest.mark.parametrize("client", CLIENTS)
def test_when_every_target_answers_malformed_the_error_says_so(client: str) -> None:
    with (
        FixedServer(Fixed(200, b"[]")) as one,
        FixedServer(Fixed(200, b"<html></html>", [("content-type", "text/html")])) as two,
    ):
        endpoints = [Endpoint("one", one.url), Endpoint("two", two.url)]
        outcome, stats = CLIENTS[client](endpoints, lambda c: c.predict(MODEL, [v2()]))
    assert isinstance(outcome, MalformedAnswerError), repr(outcome)
    assert isinstance(outcome, AllTargetsFailedError)
    message = str(outcome)
    assert message.startswith(f"{MODEL}: every target answered 200 with a malformed V2 answer: ")
    assert "one: malformed 200" in message and "the answer is an array" in message
    assert "two: malformed 200" in message and "the answer is text/html" in message
    assert stats.failures == {"MalformedAnswerError": 1}


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (answer({"name": 5}), "the answer's name is a number, not a model name"),
        (answer({"name": MODEL, "inputs": "x"}), "the answer's inputs is a string, not a list"),
        (answer({"name": MODEL, "outputs": [{"name": "p", "datatype": "INT64", "shape": ["a"]}]}),
         "the answer's outputs[0] (p): shape list ['a'] is not a list of integers >= -1"),
        (b"[]", "the answer is an array, not a V2 model metadata object"),
    ],
)  # fmt: skip
def test_malformed_metadata_fails_its_target_too(
    farm: ServerFarm, bad: FixedServer, client: str, body: bytes, detail: str
) -> None:
    bad.answer = Fixed(200, body)
    seen: list[Any] = []
    endpoints = [Endpoint("bad", bad.url), Endpoint("good", farm["a"].url)]
    metadata, _ = CLIENTS[client](endpoints, lambda c: c.metadata(MODEL), on_attempt=seen.append)
    assert metadata.name == MODEL and metadata.target == "good"
    assert seen[0].outcome is Outcome.MALFORMED and detail in seen[0].detail, seen[0].detail


@pytest.mark.parametrize("client", CLIENTS)
def test_an_unreadable_retry_after_is_no_retry_after(bad: FixedServer, client: str) -> None:
    """'²' passes str.isdigit but not float(): it used to escape as a ValueError from the attempt."""
    bad.answer = Fixed(429, b'{"error": "slow down"}', [*JSON, ("retry-after", "\u00b2")])
    outcome, _ = CLIENTS[client]([Endpoint("a", bad.url)], lambda c: c.predict(MODEL, [v2()]))
    assert isinstance(outcome, RateLimitedError), repr(outcome)
    assert "no Retry-After to wait for" in str(outcome) and outcome.retry_after is None


@pytest.mark.parametrize("client", CLIENTS)
def test_an_error_body_nested_past_the_parsers_depth_is_still_a_5xx(
    farm: ServerFarm, bad: FixedServer, client: str
) -> None:
    bad.answer = Fixed(503, b"[" * 100_000)
    endpoints = [Endpoint("bad", bad.url), Endpoint("good", farm["a"].url)]
    result, _ = CLIENTS[client](endpoints, lambda c: c.predict(MODEL, rows(farm)))
    assert isinstance(result, InferResult) and result.target == "good", repr(result)
    assert result.attempts[0].outcome is Outcome.SERVER_ERROR


# --- 16: endpoint URLs, and the clients' other arguments ---

ONE = [Endpoint("a", "http://127.0.0.1:8000")]

BAD_URLS = {
    "http://127.0.0.1:99999": "port '99999' is not a number in 1-65535",
    "http://127.0.0.1:0": "port '0' is not a number in 1-65535",
    "http://127.0.0.1:": "port '' is not a number in 1-65535",
    "http://gateway.example.com:http": "port 'http' is not a number in 1-65535",
    "127.0.0.1:8000": "is not http(s)://host[:port]",
    "gateway.example.com": "is not http(s)://host[:port]",
    "ftp://gateway.example.com": "is not http(s)://host[:port]",
    "grpc://127.0.0.1:8001": "is not http(s)://host[:port]",
    "http://": "is not http(s)://host[:port]",
    "http://:8000": "has no valid host name or IP address",
    "http://gate way.example.com": "holds spaces or control characters",
    " http://127.0.0.1:8000": "holds spaces or control characters",
    "http://127.0.0.1:8000\n": "holds spaces or control characters",
    "http://999.0.0.1": "has no valid host name or IP address",
    "http://-gateway.example.com": "has no valid host name or IP address",
    "http://[::1": "is not a URL",
    "http://user:secret@gateway.example.com": "carries credentials",
    "http://127.0.0.1:8000/v2": "must have no path",
    "http://127.0.0.1:8000?x=1": "must have no path",
}


@pytest.mark.parametrize("url", BAD_URLS)
def test_invalid_endpoint_urls_are_refused_at_construction(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Endpoint("a", url)
    assert str(raised.value).startswith(f"endpoint a: url {url!r}"), str(raised.value)
    assert BAD_URLS[url] in str(raised.value)


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (lambda: Endpoint("a", 8000), "endpoint a: url must be a string"),  # type: ignore[arg-type]
        (lambda: Endpoint("", "http://127.0.0.1:1"), "name '' must be a non-empty string"),
        (lambda: Endpoint("a b", "http://127.0.0.1:1"), "name 'a b' must be a non-empty string without spaces"),
        (lambda: Endpoint("a", "http://127.0.0.1:1", health_path=None), "endpoint a: health path None"),  # type: ignore[arg-type]
        (lambda: Endpoint("a", "https://127.0.0.1:1", server_name="api ml"), "endpoint a: server_name 'api ml'"),
        (lambda: Endpoint("a", "http://127.0.0.1:1", weight=1.5), "endpoint a: weight 1.5"),  # type: ignore[arg-type]
    ],
)
def test_the_other_endpoint_fields_are_checked_too(endpoint: Callable[[], Endpoint], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        endpoint()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: MultiCloudClient(None), "endpoints must be a list of Endpoint, got NoneType"),  # type: ignore[arg-type]
        (lambda: MultiCloudClient([{"name": "a"}]), "endpoints must be Endpoint objects, got dict"),  # type: ignore[list-item]
        (lambda: MultiCloudClient(ONE, options={"deadline": 1}), "options must be a ClientOptions, got dict"),  # type: ignore[arg-type]
        (lambda: MultiCloudClient(ONE, on_attempt=5), "on_attempt must be a function taking an Attempt"),  # type: ignore[arg-type]
        (lambda: MultiCloudClient(ONE, transport=5), "transport must be an httpx.BaseTransport, got int"),  # type: ignore[arg-type]
        (lambda: AsyncMultiCloudClient(ONE, transport=httpx.HTTPTransport()),
         "transport must be an httpx.AsyncBaseTransport, got HTTPTransport"),
        (lambda: MultiCloudClient(ONE, latency_alpha="0.5"), "latency_alpha must be a number in (0, 1], got '0.5'"),
        (lambda: MultiCloudClient(ONE, verify=1), "verify must be True, False, a CA bundle path or an ssl.SSLContext"),
    ],
)  # fmt: skip
def test_the_clients_other_arguments_are_checked_when_it_is_built(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        build()


def test_valid_urls_are_kept_and_a_stack_outputs_bad_address_names_its_target() -> None:
    for url in ("http://127.0.0.1:8000", "https://[2001:db8::1]:443", "http://localhost", "https://api.ml.example.com/",
                "http://gateway_1.internal:65535", "HTTPS://API.EXAMPLE.COM"):  # fmt: skip
        assert Endpoint("a", url).url == url.rstrip("/")
    outputs = {"endpoints": {"aws-us-east-1": {"cloud": "aws", "region": "us-east-1", "address": "127.0.0.1:99999"}}}
    with pytest.raises(ConfigError, match=r"^endpoint aws-us-east-1: url 'http://127.0.0.1:99999': port '99999'"):
        endpoints_from_outputs(outputs)
