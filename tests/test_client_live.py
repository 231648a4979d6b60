"""The inference client against real KServe V2 servers: MLServer processes serving a scikit-learn model.

Three servers on loopback ports stand in for three cloud targets (labelled with clouds and regions the
way a stack's outputs label them). Faults are real: a server process is killed, a TCP proxy in front of
a server delays its answers, answers 503 itself, or goes silent, and a closed port refuses connections.
"""

from __future__ import annotations

import collections
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mlplatform_client import (
    AllTargetsFailedError,
    Attempt,
    BreakerState,
    DeadlineExceededError,
    Endpoint,
    Failover,
    Geo,
    Latency,
    ModelNotFoundError,
    MultiCloudClient,
    NoHealthyTargetError,
    Outcome,
    RequestRejectedError,
    Tensor,
    endpoints_from_outputs,
)

from tests.client_proxy import Proxy
from tests.client_servers import MODEL, ServerFarm, free_port

# Where each local server "is": the labels the geo strategy ranks by.
LABELS = {"a": ("aws", "us-east-1"), "b": ("gcp", "europe-west4"), "c": ("azure", "japaneast")}


@pytest.fixture
def proxies(farm: ServerFarm) -> Iterator[dict[str, Proxy]]:
    """A proxy in front of each of a, b, c; closed after the test."""
    made = {name: Proxy(farm[name].http_port) for name in LABELS}
    yield made
    for proxy in made.values():
        proxy.close()


def endpoint(farm: ServerFarm, name: str, url: str | None = None, weight: int = 1) -> Endpoint:
    cloud, region = LABELS.get(name, ("aws", "us-east-1"))
    return Endpoint(name, url or farm[name].url, cloud=cloud, region=region, weight=weight)


def three(farm: ServerFarm, proxies: dict[str, Proxy] | None = None, **weights: int) -> list[Endpoint]:
    return [endpoint(farm, n, proxies[n].url if proxies else None, weights.get(n, 1)) for n in LABELS]


def rows(farm: ServerFarm, n: int = 1) -> list[Tensor]:
    return [Tensor.of("x", farm.expected.inputs[:n])]


def served_by(client: MultiCloudClient, farm: ServerFarm, calls: int) -> collections.Counter[str]:
    return collections.Counter(client.predict(MODEL, rows(farm)).target for _ in range(calls))


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connections are refused


# --- the protocol ---


def test_predict_returns_the_models_own_predictions(farm: ServerFarm) -> None:
    with MultiCloudClient(three(farm), probe_interval=None) as client:
        result = client.predict(MODEL, rows(farm, len(farm.expected.inputs)))
        assert result.model_name == MODEL
        assert list(result.output("predict").data) == farm.expected.predict
        assert result.output("predict").shape == (len(farm.expected.inputs), 1)
        assert client.metadata(MODEL).name == MODEL
        assert client.server_ready() == dict.fromkeys(LABELS, True)
        assert client.model_ready(MODEL) == dict.fromkeys(LABELS, True)
        assert client.model_ready("no-such-model") == dict.fromkeys(LABELS, False)


def test_a_model_no_target_serves_is_one_clear_error(farm: ServerFarm) -> None:
    with MultiCloudClient(three(farm), probe_interval=None) as client:
        with pytest.raises(ModelNotFoundError, match="no target serves model 'no-such-model'") as raised:
            client.predict("no-such-model", rows(farm))
        assert sorted(a.target for a in raised.value.attempts) == sorted(LABELS)
        # 404 says nothing against a target: its breaker stays closed and the next call is served
        assert all(t.breaker is BreakerState.CLOSED for t in client.stats().targets.values())
        assert client.predict(MODEL, rows(farm)).target in LABELS


def test_a_4xx_is_the_callers_error_and_is_not_retried(farm: ServerFarm) -> None:
    two_inputs = [Tensor.of("x", farm.expected.inputs[:1]), Tensor.of("y", farm.expected.inputs[:1])]
    with MultiCloudClient(three(farm), probe_interval=None) as client:
        with pytest.raises(RequestRejectedError, match="single input tensor") as raised:
            client.predict(MODEL, two_inputs)
        assert raised.value.status == 400
        assert sum(t.requests for t in client.stats().targets.values()) == 1


# --- strategies send traffic where they say ---


def test_round_robin_spreads_calls_evenly(farm: ServerFarm) -> None:
    with MultiCloudClient(three(farm), "round-robin", probe_interval=None) as client:
        assert served_by(client, farm, 30) == dict.fromkeys(LABELS, 10)


def test_failover_sends_everything_to_the_first_healthy_target(farm: ServerFarm) -> None:
    endpoints = [endpoint(farm, "b", closed_port_url()), endpoint(farm, "a"), endpoint(farm, "c")]
    with MultiCloudClient(endpoints, Failover(order=["b", "c", "a"]), probe_interval=None) as client:
        # b refuses connections: every call fails over to c, the next in the list, and none is lost
        assert served_by(client, farm, 10) == {"c": 10}
        b = client.stats().targets["b"]
        assert b.breaker is BreakerState.OPEN
        assert b.requests == client.options.failure_threshold  # then its breaker kept calls away


def test_weighted_follows_the_weights_exactly(farm: ServerFarm) -> None:
    with MultiCloudClient(three(farm, a=3, b=1, c=0), "weighted", probe_interval=None) as client:
        assert served_by(client, farm, 40) == {"a": 30, "b": 10}


@pytest.mark.parametrize(
    ("caller", "order"),
    [
        ("eu-west-1", ["b", "a", "c"]),  # Dublin: Frankfurt (europe-west4's AWS region), then Virginia
        ("ap-northeast-1", ["c", "b", "a"]),  # Tokyo: japaneast, then Frankfurt (9,300 km) before Virginia (10,900)
        ("gcp:us-east4", ["a", "b", "c"]),  # a GCP caller in Virginia
    ],
)
def test_geo_sends_callers_to_the_nearest_target(farm: ServerFarm, caller: str, order: list[str]) -> None:
    with MultiCloudClient(three(farm), Geo(region=caller), probe_interval=None) as client:
        assert served_by(client, farm, 5) == {order[0]: 5}
    # the nearest refusing connections: the next nearest takes over
    endpoints = [endpoint(farm, n, closed_port_url() if n == order[0] else None) for n in LABELS]
    with MultiCloudClient(endpoints, Geo(region=caller), probe_interval=None) as client:
        assert served_by(client, farm, 5) == {order[1]: 5}


def test_latency_strategy_takes_traffic_away_from_a_slow_target(farm: ServerFarm, proxies: dict[str, Proxy]) -> None:
    strategy = Latency(tolerance=2.0, slack=0.005)
    with MultiCloudClient(three(farm, proxies), strategy, probe_interval=0.05, latency_alpha=0.5) as client:
        _wait_for(lambda: all(t.latency_estimate is not None for t in client.stats().targets.values()))
        before = served_by(client, farm, 60)
        assert before["c"] >= 12, before  # alike targets share the traffic

        proxies["c"].set("pass", delay=0.05)
        _wait_for(lambda: (client.stats().targets["c"].latency_estimate or 0) > 0.03)
        after = served_by(client, farm, 60)
        assert after["c"] == 0, after
        assert after["a"] + after["b"] == 60


# --- faults ---


def test_a_target_answering_503_is_skipped(farm: ServerFarm, proxies: dict[str, Proxy]) -> None:
    proxies["b"].set("unavailable")  # the proxy answers 503 itself, as a gateway with no healthy replica does
    with MultiCloudClient(three(farm, proxies), probe_interval=None) as client:
        served = served_by(client, farm, 30)
        assert sum(served.values()) == 30
        assert "b" not in served
        b = client.stats().targets["b"]
        assert b.outcomes["server_error"] == client.options.failure_threshold
        assert b.breaker is BreakerState.OPEN


def test_killing_a_server_mid_run_loses_no_request_and_opens_its_breaker(farm: ServerFarm) -> None:
    victim = farm["victim"]
    endpoints = [endpoint(farm, "a"), endpoint(farm, "b"), Endpoint("victim", victim.url)]
    attempts: list[Attempt] = []
    errors: list[BaseException] = []
    calls = collections.Counter[str]()
    stop = threading.Event()

    def caller(client: MultiCloudClient) -> None:
        while not stop.is_set():
            try:
                calls[client.predict(MODEL, rows(farm)).target] += 1
            except Exception as error:
                errors.append(error)

    with MultiCloudClient(endpoints, probe_interval=0.2, cooldown=30.0, on_attempt=attempts.append) as client:
        threads = [threading.Thread(target=caller, args=(client,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        time.sleep(0.8)
        served_before = calls["victim"]
        victim.kill()
        time.sleep(1.7)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        stats = client.stats().targets["victim"]

    assert errors == []
    assert served_before > 0  # it was taking its share when it died
    assert stats.breaker is BreakerState.OPEN
    assert stats.outcomes["connect_error"] >= 1  # calls did hit the dead server, and were retried elsewhere
    # How soon calls stop reaching it is a figure of benchmarks/client.py ("kill under load"), not a timed assertion.
    assert calls["a"] > 0 and calls["b"] > 0


def test_the_deadline_holds_against_silent_targets(farm: ServerFarm, proxies: dict[str, Proxy]) -> None:
    proxies["a"].set("silent")  # accepts, reads, never answers
    proxies["b"].set("silent")
    endpoints = [endpoint(farm, "a", proxies["a"].url), endpoint(farm, "b", proxies["b"].url)]
    client = MultiCloudClient(endpoints, probe_interval=None, deadline=0.5, attempt_timeout=5.0)
    # The 0.5 s deadline, not the 5 s attempt timeout, ends the call: it names the deadline.
    with client, pytest.raises(DeadlineExceededError, match=r"no answer within the 0.5 s deadline"):
        client.predict(MODEL, rows(farm))


def test_a_silent_target_is_left_after_the_attempt_timeout(farm: ServerFarm, proxies: dict[str, Proxy]) -> None:
    proxies["a"].set("silent")
    endpoints = [endpoint(farm, "a", proxies["a"].url), endpoint(farm, "b")]
    with MultiCloudClient(endpoints, "failover", probe_interval=None, attempt_timeout=0.2, deadline=2.0) as client:
        result = client.predict(MODEL, rows(farm))
        assert result.target == "b"
        assert [a.outcome for a in result.attempts] == [Outcome.TIMEOUT, Outcome.OK]


def test_hedging_answers_from_the_second_target_when_the_first_is_slow(
    farm: ServerFarm, proxies: dict[str, Proxy]
) -> None:
    proxies["a"].set("pass", delay=0.4)
    endpoints = [endpoint(farm, "a", proxies["a"].url), endpoint(farm, "b")]
    with MultiCloudClient(endpoints, "failover", probe_interval=None, hedge_after=0.05) as client:
        result = client.predict(MODEL, rows(farm))
        assert result.target == "b"  # a answers only after 0.4 s: the hedge sent at 0.05 s won
        assert client.stats().hedges == 1


def test_probes_bring_a_recovered_target_back_without_a_caller_paying(
    farm: ServerFarm, proxies: dict[str, Proxy]
) -> None:
    proxies["b"].set("unavailable")
    settings = {"probe_interval": 0.05, "failure_threshold": 2, "cooldown": 0.3}
    with MultiCloudClient([endpoint(farm, "a"), endpoint(farm, "b", proxies["b"].url)], **settings) as client:
        _wait_for(lambda: client.stats().targets["b"].breaker is BreakerState.OPEN)
        assert served_by(client, farm, 6) == {"a": 6}
        proxies["b"].set("pass")
        _wait_for(lambda: client.stats().targets["b"].breaker is BreakerState.CLOSED)
        assert client.stats().targets["b"].requests == 0  # the probes found it down, and found it back
        assert served_by(client, farm, 6) == {"a": 3, "b": 3}


def test_without_probes_one_call_is_the_half_open_trial(farm: ServerFarm, proxies: dict[str, Proxy]) -> None:
    proxies["b"].set("unavailable")
    settings = {"probe_interval": None, "failure_threshold": 2, "cooldown": 0.3}
    with MultiCloudClient([endpoint(farm, "a"), endpoint(farm, "b", proxies["b"].url)], **settings) as client:
        assert served_by(client, farm, 6) == {"a": 6}  # b failed twice, then its breaker kept calls away
        assert client.stats().targets["b"].requests == 2
        proxies["b"].set("pass")
        time.sleep(0.35)
        assert client.predict(MODEL, rows(farm)).target == "b"  # the trial, and it closes the breaker
        assert client.stats().targets["b"].breaker is BreakerState.CLOSED
        assert served_by(client, farm, 6) == {"a": 3, "b": 3}


def test_when_every_breaker_is_open_calls_fail_fast(farm: ServerFarm) -> None:
    endpoints = [Endpoint("x", closed_port_url()), Endpoint("y", closed_port_url())]
    with MultiCloudClient(endpoints, probe_interval=None, failure_threshold=1, cooldown=30.0) as client:
        with pytest.raises(AllTargetsFailedError, match=r"x: connect_error.*y: connect_error"):
            client.predict(MODEL, rows(farm))
        tried = {name: t.requests for name, t in client.stats().targets.items()}
        with pytest.raises(NoHealthyTargetError, match="no healthy target \\(x open, y open\\)"):
            client.predict(MODEL, rows(farm))
        assert {name: t.requests for name, t in client.stats().targets.items()} == tried  # failed without trying


# --- observability ---


def test_stats_and_prometheus_metrics_count_every_attempt(farm: ServerFarm) -> None:
    with MultiCloudClient(three(farm), probe_interval=None) as client:
        served = served_by(client, farm, 9)
        with pytest.raises(ModelNotFoundError):
            client.predict("no-such-model", rows(farm))
        stats = client.stats()
        assert stats.calls == 10 and stats.failed_calls == 1
        for name, t in stats.targets.items():
            assert t.outcomes["ok"] == served[name]
            assert t.outcomes["not_served"] == 1
            assert t.latency.count == t.requests
            assert 0 < (t.latency.quantile(0.5) or 0) < 1.0
        text = client.prometheus_text()
        for name in LABELS:
            assert f'mlplatform_client_attempts_total{{outcome="ok",target="{name}"}} {served[name]}.0' in text
            assert f'mlplatform_client_attempt_duration_seconds_count{{target="{name}"}} 4.0' in text
            assert f'mlplatform_client_breaker_state{{target="{name}"}} 0.0' in text
        assert 'mlplatform_client_calls_total{result="failed"} 1.0' in text


# --- TLS for the global host ---


def test_a_target_behind_tls_for_the_global_host_is_reached_by_address(farm: ServerFarm, tmp_path: Path) -> None:
    """With GlobalDns the gateways serve only the global host's certificate: the client connects to the
    target's address and sends the global host as SNI and Host, so the certificate verifies."""
    host = "api.ml.example.test"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=DNS:{host}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with Proxy(farm["a"].http_port, tls=context) as proxy:
        outputs = {
            "endpoints": {"aws-us-east-1": {"cloud": "aws", "region": "us-east-1", "address": f"127.0.0.1:{proxy.port}",
                                            "healthPath": "/v2/health/ready"}},
            "globalUrl": f"https://{host}",
        }  # fmt: skip
        with MultiCloudClient.from_stack_outputs(outputs, probe_interval=None, verify=str(cert)) as client:
            assert client.endpoints[0].url == f"https://127.0.0.1:{proxy.port}"
            assert list(client.predict(MODEL, rows(farm)).output("predict").data) == farm.expected.predict[:1]
        assert proxy.server_names and set(proxy.server_names) == {host}
        assert f"host: {host}".encode() in proxy.requests[0].lower()
        # by address alone the certificate does not verify: the global host is what makes TLS work
        bare = Endpoint("aws-us-east-1", f"https://127.0.0.1:{proxy.port}")
        with (
            MultiCloudClient([bare], probe_interval=None, verify=str(cert)) as client,
            pytest.raises(AllTargetsFailedError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            client.predict(MODEL, rows(farm))
    # a stack without GlobalDns serves plain HTTP on the gateway's address
    assert endpoints_from_outputs({"endpoints": outputs["endpoints"]})[0].url == f"http://127.0.0.1:{proxy.port}"


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
