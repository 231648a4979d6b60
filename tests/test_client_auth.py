"""The client's bearer tokens and what it does with 401, 403 and 429.

What stands in for what, and why:
- The OAuth2 token endpoint is httpx.MockTransport (httpx's own test transport, not a server of ours)
  answering as RFC 6749 section 5.1 describes, and the provider's clock is injected, so the refresh
  schedule is checked to the second without waiting for it.
- 401, 403 and 429 come from httpx.MockTransport handlers given to the client as `transport=`: the
  platform's real gateway (Envoy with JWT, RBAC and rate limits in front of MLServer) is proven in
  tests/test_gateway_envoy.py; these tests prove the client's side of the contract, attempt by attempt.
- Against real servers: the last tests put the client in front of real Envoy gateways built as the program's
  gateway runs (tests/gateway_envoy.py `gateway_listener`:
  JWT, RBAC, the per-caller rate limit, request limits and the model routes) over the real MLServer processes, and
  check what a caller sees: a prediction with a good token, NotAuthorizedError for none or an expired one
  with no other gateway asked, and a greedy caller's calls all answered after waiting out its 429s, each
  429 followed by exactly one retry.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from mlplatform_client import (
    AsyncMultiCloudClient,
    Attempt,
    BreakerState,
    ClientCredentials,
    ConfigError,
    Endpoint,
    MultiCloudClient,
    NotAuthorizedError,
    RateLimitedError,
    Tensor,
    TokenError,
)
from mlplatform_client.auth import refresh_after
from mlplatform_client.transport import parse_retry_after

from components.serving_stack.contract import ModelSpec, ModelVersion
from components.serving_stack.ratelimit import CallerRateLimit
from tests.client_servers import MODEL, ServerFarm, free_port
from tests.gateway_envoy import Envoy, SigningKey, bootstrap, gateway_listener

TOKEN_URL = "https://login.example.com/oauth2/token"
ENDPOINTS = [Endpoint("a", "http://a.test"), Endpoint("b", "http://b.test")]
ROW = [Tensor.of("x", [[0.1, 0.2, 0.3, 0.4]])]
OK_BODY = {"model_name": MODEL, "outputs": [{"name": "predict", "shape": [1], "datatype": "INT64", "data": [1]}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class IdP:
    """The token endpoint's answers: token-1, token-2, ... each living `expires_in` seconds."""

    def __init__(self, expires_in: int = 3600, delay: float = 0.0) -> None:
        self.expires_in = expires_in
        self.delay = delay
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def answer(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            n = len(self.requests)
        body = {"access_token": f"token-{n}", "token_type": "Bearer", "expires_in": self.expires_in}
        return httpx.Response(200, json=body)

    def handler(self, request: httpx.Request) -> httpx.Response:
        time.sleep(self.delay)
        return self.answer(request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.delay)
        return self.answer(request)


def credentials(
    idp: IdP, clock: Clock | None = None, scope: str | None = None, audience: str | None = None
) -> ClientCredentials:
    return ClientCredentials(
        TOKEN_URL,
        "batch-scorer",
        "s3cret",
        clock=clock or Clock(),
        transport=httpx.MockTransport(idp.handler),
        async_transport=httpx.MockTransport(idp.async_handler),
        scope=scope,
        audience=audience,
    )


# --- the token provider ---


def test_client_credentials_asks_the_token_url_as_rfc_6749_says() -> None:
    idp = IdP()
    assert credentials(idp, scope="infer", audience="https://api.ml.example.com").token() == "token-1"
    (request,) = idp.requests
    assert request.method == "POST" and str(request.url) == TOKEN_URL
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "scope": ["infer"],
        "audience": ["https://api.ml.example.com"],
    }
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"batch-scorer:s3cret").decode()


@pytest.mark.parametrize(
    ("expires_in", "refresh_at"),
    [
        (3600, 2880),  # an hour: 80% (2880 s) comes before 60 s ahead of expiry (3540 s)
        (100, 40),  # 100 s: 60 s ahead of expiry (40 s) comes before 80% (80 s)
    ],
)
def test_a_token_is_refreshed_before_it_expires(expires_in: int, refresh_at: int) -> None:
    idp, clock = IdP(expires_in), Clock()
    provider = credentials(idp, clock)
    start = clock.now
    assert provider.token() == "token-1"
    clock.now = start + refresh_at - 1
    assert provider.token() == "token-1"
    clock.now = start + refresh_at
    assert provider.token() == "token-2"
    assert len(idp.requests) == 2
    assert refresh_after(expires_in) == refresh_at


def test_threads_share_one_fetch() -> None:
    idp = IdP(delay=0.2)
    provider = credentials(idp)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(provider.token())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tokens == ["token-1"] * 16
    assert len(idp.requests) == 1


def test_tasks_share_one_fetch() -> None:
    idp = IdP(delay=0.2)
    provider = credentials(idp)

    async def run() -> list[str]:
        return list(await asyncio.gather(*(provider.atoken() for _ in range(16))))

    assert asyncio.run(run()) == ["token-1"] * 16
    assert len(idp.requests) == 1


def test_a_refused_token_request_is_one_clear_error() -> None:
    refuse = httpx.MockTransport(lambda _: httpx.Response(401, json={"error": "invalid_client"}))
    provider = ClientCredentials(TOKEN_URL, "batch-scorer", "wrong", transport=refuse)
    with pytest.raises(TokenError, match=r"token endpoint .* answered 401: .*invalid_client"):
        provider.token()


def test_bad_token_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="token_url"):
        ClientCredentials("login.example.com/token", "id", "secret")
    with pytest.raises(ConfigError, match="token"):
        MultiCloudClient(ENDPOINTS, token="", probe_interval=None)


# --- the client: the token on every attempt ---


class Gateways:
    """Answers per target host, in order; records every request (target, Authorization header)."""

    def __init__(self, answers: dict[str, list[Callable[[], httpx.Response]]]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, str | None]] = []
        self.seen_at: list[float] = []
        self._lock = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        target = request.url.host.removesuffix(".test")
        with self._lock:
            self.seen.append((target, request.headers.get("authorization")))
            self.seen_at.append(time.monotonic())
            answer = self.answers[target].pop(0) if len(self.answers[target]) > 1 else self.answers[target][0]
        return answer()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def targets(self) -> list[str]:
        return [target for target, _ in self.seen]


def ok() -> httpx.Response:
    return httpx.Response(200, json=OK_BODY)


def slow_ok() -> httpx.Response:
    time.sleep(0.3)
    return ok()


def status(code: int, **headers: str) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(code, json={"error": f"status {code}"}, headers=headers)


def client(gateways: Gateways, **kwargs: object) -> MultiCloudClient:
    settings: dict[str, object] = {"probe_interval": None, "failure_threshold": 1, **kwargs}
    return MultiCloudClient(ENDPOINTS, "failover", transport=gateways.transport(), **settings)  # type: ignore[arg-type]


def test_the_token_goes_on_every_attempt_retries_and_hedges_included() -> None:
    gateways = Gateways({"a": [status(503)], "b": [ok]})
    with client(gateways, token="static-token") as c:
        assert c.predict(MODEL, ROW).target == "b"
    assert gateways.seen == [("a", "Bearer static-token"), ("b", "Bearer static-token")]

    gateways = Gateways({"a": [slow_ok], "b": [ok]})
    with client(gateways, token=lambda: "from-a-callable", hedge_after=0.05) as c:
        assert c.predict(MODEL, ROW).target == "b"  # the hedge won
        assert c.stats().hedges == 1
    assert sorted(gateways.seen) == [("a", "Bearer from-a-callable"), ("b", "Bearer from-a-callable")]


def test_client_credentials_token_reaches_the_gateway_and_a_401_fetches_a_new_one() -> None:
    idp = IdP()
    gateways = Gateways({"a": [status(401), ok], "b": [ok]})
    with client(gateways, token=credentials(idp)) as c:
        with pytest.raises(NotAuthorizedError):
            c.predict(MODEL, ROW)
        c.predict(MODEL, ROW)
    assert gateways.seen == [("a", "Bearer token-1"), ("a", "Bearer token-2")]


# --- 401 and 403 ---


@pytest.mark.parametrize(("code", "words"), [(401, "401 Unauthorized"), (403, "403 Forbidden")])
def test_401_and_403_are_the_callers_problem_not_the_targets(code: int, words: str) -> None:
    gateways = Gateways({"a": [status(code)], "b": [ok]})
    with client(gateways, token="t") as c:
        for _ in range(3):
            with pytest.raises(NotAuthorizedError, match=words) as raised:
                c.predict(MODEL, ROW)
            assert raised.value.status == code and raised.value.target == "a"
        stats = c.stats()
    assert gateways.targets() == ["a", "a", "a"]  # never retried on b
    assert stats.targets["a"].breaker is BreakerState.CLOSED  # failure_threshold is 1: a 5xx would have opened it
    assert stats.targets["a"].errors == 0


def test_async_client_sends_the_token_and_stops_at_403() -> None:
    gateways = Gateways({"a": [status(403)], "b": [ok]})

    async def run() -> None:
        async with AsyncMultiCloudClient(
            ENDPOINTS, "failover", probe_interval=None, token="t", transport=gateways.transport()
        ) as c:
            with pytest.raises(NotAuthorizedError, match="403 Forbidden"):
                await c.predict(MODEL, ROW)

    asyncio.run(run())
    assert gateways.seen == [("a", "Bearer t")]


# --- 429 ---


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120.0  # RFC 9110 10.2.3's own example
    now = parsedate_to_datetime("Fri, 31 Dec 1999 23:59:59 GMT").timestamp()  # the RFC's date example
    assert parse_retry_after("Fri, 31 Dec 1999 23:59:59 GMT", now=now - 7) == 7.0
    assert parse_retry_after("Fri, 31 Dec 1999 23:59:59 GMT", now=now + 5) == 0.0  # past: now
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_a_429_waits_for_retry_after_and_asks_the_same_target_once_more() -> None:
    gateways = Gateways({"a": [status(429, **{"Retry-After": "1"}), ok], "b": [ok]})
    with client(gateways, token="t", deadline=5.0) as c:
        result = c.predict(MODEL, ROW)
        stats = c.stats()
    assert result.target == "a"
    assert gateways.seen == [("a", "Bearer t"), ("a", "Bearer t")]  # b, another target, is not asked
    assert gateways.seen_at[1] - gateways.seen_at[0] >= 1.0  # it waited for the Retry-After first
    assert stats.targets["a"].breaker is BreakerState.CLOSED
    assert stats.targets["a"].errors == 0 and stats.targets["a"].outcomes["rate_limited"] == 1


def test_a_429_given_as_an_http_date_is_waited_for() -> None:
    when = format_datetime(datetime.fromtimestamp(time.time() + 2, tz=UTC), usegmt=True)
    gateways = Gateways({"a": [status(429, **{"Retry-After": when}), ok], "b": [ok]})
    with client(gateways, deadline=5.0) as c:
        assert c.predict(MODEL, ROW).target == "a"
    assert gateways.targets() == ["a", "a"]
    assert gateways.seen_at[1] - gateways.seen_at[0] >= 0.5  # the date has whole seconds: at least 1 s less a tick


@pytest.mark.parametrize(
    ("answers", "reason", "asked"),
    [
        ([status(429, **{"Retry-After": "30"})], r"Retry-After 30 s ends past the call's deadline", 1),
        ([status(429)], "no Retry-After to wait for", 1),
        ([status(429, **{"Retry-After": "0"})], "limited again after waiting", 2),
    ],
)
def test_a_429_that_cannot_be_waited_out_is_one_clear_error(
    answers: list[Callable[[], httpx.Response]], reason: str, asked: int
) -> None:
    gateways = Gateways({"a": answers, "b": [ok]})
    with client(gateways, deadline=5.0) as c:
        with pytest.raises(RateLimitedError, match=rf"429 Too Many Requests \({reason}"):
            c.predict(MODEL, ROW)
        assert c.stats().targets["a"].breaker is BreakerState.CLOSED
    assert gateways.targets() == ["a"] * asked


def test_no_hedge_while_a_retry_after_window_is_open() -> None:
    gateways = Gateways({"a": [status(429, **{"Retry-After": "30"}), slow_ok], "b": [ok]})
    with client(gateways, hedge_after=0.05, deadline=5.0) as c:
        with pytest.raises(RateLimitedError):
            c.predict(MODEL, ROW)
        assert c.predict(MODEL, ROW).target == "a"  # slow (0.3 s), but no hedge to b: that would spend twice
        assert c.stats().hedges == 0
    assert gateways.targets() == ["a", "a"]


def test_async_client_waits_out_a_429() -> None:
    gateways = Gateways({"a": [status(429, **{"Retry-After": "1"}), ok], "b": [ok]})

    async def run() -> str:
        async with AsyncMultiCloudClient(
            ENDPOINTS, "failover", probe_interval=None, deadline=5.0, transport=gateways.transport()
        ) as c:
            return (await c.predict(MODEL, ROW)).target

    assert asyncio.run(run()) == "a"
    assert gateways.targets() == ["a", "a"]
    assert gateways.seen_at[1] - gateways.seen_at[0] >= 1.0


# --- against the real servers ---


def test_real_mlserver_answers_calls_that_carry_a_token(farm: ServerFarm) -> None:
    idp = IdP()
    endpoints = [Endpoint(n, farm[n].url) for n in ("a", "b")]
    with MultiCloudClient(endpoints, probe_interval=None, token=credentials(idp)) as c:
        results = [c.predict(MODEL, [Tensor.of("x", farm.expected.inputs[:2])]) for _ in range(4)]
        assert c.model_ready(MODEL) == {"a": True, "b": True}
    assert all(list(r.output("predict").data) == farm.expected.predict[:2] for r in results)
    assert len(idp.requests) == 1  # one token for every call while it is fresh


GROUP = "fraud-readers"
# Worked example: 2 requests a second with a burst of 5 per caller: a caller's 6th request in a row is
# refused with Retry-After 1, and a second later at least 2 tokens are back, so the one retry is served.
LIMIT = CallerRateLimit(requests_per_second=2, burst=5)
MODEL_SPEC = ModelSpec(MODEL, (ModelVersion("v1", f"{MODEL}/v1", 100),), "T4")  # the route the gateway writes for it


class Gateway:
    """Real Envoy gateways "a" and "b", one in front of each of two real MLServer processes."""

    def __init__(self, farm: ServerFarm, workdir: Path) -> None:
        self.farm = farm
        self.key = SigningKey()
        jwks = workdir / "jwks.json"
        jwks.write_text(json.dumps(self.key.jwks()))
        self.envoys: list[Envoy] = []
        self.endpoints: list[Endpoint] = []
        for name in ("a", "b"):
            port = free_port()
            gateway = gateway_listener(f"gateway-{name}", port, jwks, [MODEL_SPEC], GROUP, LIMIT)
            config = bootstrap(farm[name].http_port, free_port(), [gateway])
            self.envoys.append(Envoy(config, workdir / f"envoy-{name}").start())
            self.endpoints.append(Endpoint(name, f"http://127.0.0.1:{port}"))

    def token(self, subject: str, **claims: object) -> str:
        return self.key.token(subject, **({"groups": [GROUP]} | claims))

    def stop(self) -> None:
        for envoy in self.envoys:
            envoy.stop()


@pytest.fixture(scope="module")
def gateway(farm: ServerFarm) -> Iterator[Gateway]:
    workdir = Path(tempfile.mkdtemp(prefix="mlplatform-client-auth-"))
    made: Gateway | None = None
    try:
        made = Gateway(farm, workdir)
        yield made
    finally:
        if made is not None:
            made.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def rows(farm: ServerFarm) -> list[Tensor]:
    return [Tensor.of("x", farm.expected.inputs[:1])]


def test_through_real_gateways_a_good_token_gets_the_models_answer(gateway: Gateway) -> None:
    with MultiCloudClient(gateway.endpoints, token=lambda: gateway.token("svc-good"), probe_interval=None) as c:
        results = [c.predict(MODEL, rows(gateway.farm)) for _ in range(2)]
        assert c.model_ready(MODEL) == {"a": True, "b": True}
    assert [list(r.output("predict").data) for r in results] == [gateway.farm.expected.predict[:1]] * 2
    assert {r.target for r in results} == {"a", "b"}  # round-robin: both gateways accepted the token


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, 401),  # no token: the gateway's Bearer challenge (see tests/test_gateway_envoy.py)
        ("expired", 401),
        ("no-group", 403),
    ],
)
def test_through_real_gateways_a_refused_token_is_not_retried_elsewhere(
    gateway: Gateway, token: str | None, code: int
) -> None:
    past = int(time.time()) - 3600
    tokens = {
        "expired": gateway.token("svc-old", iat=past - 300, exp=past),
        "no-group": gateway.key.token("svc-nogroup"),
    }
    attempts: list[Attempt] = []
    with MultiCloudClient(
        gateway.endpoints,
        "failover",
        token=tokens.get(token or ""),
        probe_interval=None,
        failure_threshold=1,
        on_attempt=attempts.append,
    ) as c:
        with pytest.raises(NotAuthorizedError, match=f"answered {code} ") as raised:
            c.predict(MODEL, rows(gateway.farm))
        assert c.stats().targets["a"].breaker is BreakerState.CLOSED
    assert raised.value.status == code
    assert [a.target for a in attempts] == ["a"]  # gateway b was never asked


def test_through_a_real_gateway_a_greedy_caller_loses_no_call_and_retries_each_429_once(gateway: Gateway) -> None:
    attempts: list[Attempt] = []
    token = gateway.token("svc-greedy")
    calls = LIMIT.burst + 15  # to meet no 429 in these, each call would have to take 0.375 s
    with MultiCloudClient(
        gateway.endpoints[:1], token=token, probe_interval=None, deadline=5.0, on_attempt=attempts.append
    ) as c:
        results = [c.predict(MODEL, rows(gateway.farm)) for _ in range(calls)]
    assert len(results) == calls  # every call answered: none lost to the limit
    outcomes = [a.outcome.value for a in attempts]
    assert "rate_limited" in outcomes  # the burst ran out, so the limit was met
    limited = [i for i, o in enumerate(outcomes) if o == "rate_limited"]
    assert all(outcomes[i + 1] == "ok" for i in limited)  # each 429: one retry, after Retry-After, answered
    assert len(attempts) == calls + len(limited)  # no retry storm: one extra request per 429, no more
