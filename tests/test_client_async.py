"""The asyncio client against the same real MLServer processes: one event loop, httpx.AsyncClient, tasks.

The routing rules are shared with the sync client (tests/test_client_live.py covers each strategy and
fault); these tests prove the asyncio side: concurrency on one loop, failover under load, the deadline,
and hedges whose losers are cancelled.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator

import pytest
from mlplatform_client import (
    AsyncMultiCloudClient,
    Attempt,
    BreakerState,
    DeadlineExceededError,
    Endpoint,
    ModelNotFoundError,
    RequestRejectedError,
    Tensor,
)

from tests.client_proxy import Proxy
from tests.client_servers import MODEL, ServerFarm


@pytest.fixture
def proxies(farm: ServerFarm) -> Iterator[dict[str, Proxy]]:
    made = {name: Proxy(farm[name].http_port) for name in ("a", "b", "c")}
    yield made
    for proxy in made.values():
        proxy.close()


def rows(farm: ServerFarm, n: int = 1) -> list[Tensor]:
    return [Tensor.of("x", farm.expected.inputs[:n])]


def test_concurrent_calls_on_one_loop_answer_like_the_model(farm: ServerFarm) -> None:
    endpoints = [Endpoint(n, farm[n].url) for n in ("a", "b", "c")]

    async def run() -> collections.Counter[str]:
        async with AsyncMultiCloudClient(endpoints, probe_interval=None) as client:
            results = await asyncio.gather(*(client.predict(MODEL, rows(farm, 8)) for _ in range(30)))
            assert all(list(r.output("predict").data) == farm.expected.predict for r in results)
            assert (await client.metadata(MODEL)).name == MODEL
            assert await client.model_ready(MODEL) == {"a": True, "b": True, "c": True}
            assert await client.server_ready() == {"a": True, "b": True, "c": True}
            return collections.Counter(r.target for r in results)

    assert asyncio.run(run()) == {"a": 10, "b": 10, "c": 10}


def test_errors_name_what_is_wrong(farm: ServerFarm) -> None:
    async def run() -> None:
        async with AsyncMultiCloudClient([Endpoint("a", farm["a"].url)], probe_interval=None) as client:
            with pytest.raises(ModelNotFoundError, match="no target serves model 'nope'"):
                await client.predict("nope", rows(farm))
            with pytest.raises(RequestRejectedError, match="400"):
                await client.predict(MODEL, [*rows(farm), Tensor.of("y", farm.expected.inputs[:1])])

    asyncio.run(run())


def test_a_target_going_away_under_load_loses_no_call(farm: ServerFarm, proxies: dict[str, Proxy]) -> None:
    endpoints = [Endpoint(n, proxies[n].url) for n in ("a", "b", "c")]
    attempts: list[Attempt] = []

    async def run() -> tuple[list[BaseException], float, dict[str, int], BreakerState]:
        errors: list[BaseException] = []
        served: collections.Counter[str] = collections.Counter()
        async with AsyncMultiCloudClient(endpoints, probe_interval=0.2, on_attempt=attempts.append) as client:
            stop = asyncio.Event()

            async def caller() -> None:
                while not stop.is_set():
                    try:
                        served[(await client.predict(MODEL, rows(farm))).target] += 1
                    except Exception as error:
                        errors.append(error)

            callers = [asyncio.create_task(caller()) for _ in range(16)]
            await asyncio.sleep(0.6)
            await asyncio.to_thread(proxies["c"].close)  # stops listening, cuts open connections
            await asyncio.sleep(1.2)
            stop.set()
            await asyncio.gather(*callers)
            return errors, dict(served), client.stats().targets["c"].breaker

    errors, served, breaker = asyncio.run(run())
    assert errors == []
    assert served["c"] > 0 and served["a"] > 0 and served["b"] > 0
    assert breaker is BreakerState.OPEN
    assert any(a.target == "c" for a in attempts)  # how soon calls stop reaching it: benchmarks/client.py


def test_the_deadline_holds(farm: ServerFarm, proxies: dict[str, Proxy]) -> None:
    proxies["a"].set("silent")
    proxies["b"].set("silent")
    endpoints = [Endpoint(n, proxies[n].url) for n in ("a", "b")]

    async def run() -> None:
        async with AsyncMultiCloudClient(endpoints, probe_interval=None, deadline=0.5) as client:
            with pytest.raises(DeadlineExceededError, match=r"0.5 s deadline"):
                await client.predict(MODEL, rows(farm))

    asyncio.run(run())


def test_a_hedge_wins_and_the_slow_attempt_is_cancelled(farm: ServerFarm, proxies: dict[str, Proxy]) -> None:
    proxies["a"].set("pass", delay=0.4)
    endpoints = [Endpoint("a", proxies["a"].url), Endpoint("b", farm["b"].url)]

    async def run() -> None:
        async with AsyncMultiCloudClient(endpoints, "failover", probe_interval=None, hedge_after=0.05) as client:
            result = await client.predict(MODEL, rows(farm))
            assert result.target == "b"  # a answers only after 0.4 s: the hedge sent at 0.05 s won
            stats = client.stats()
            assert stats.hedges == 1
            assert stats.targets["a"].outcomes["cancelled"] == 1
            assert stats.targets["a"].breaker is BreakerState.CLOSED  # losing a race is not a failure

    asyncio.run(run())
