"""The inference client against three local MLServer processes: its overhead, its latency, and a kill under load.

Figures (targets from the client issue):
- overhead: the client's per-call time as a ratio to a bare httpx POST to one server, same request, same
  JSON work (target at most 1.2). The client has all three targets, probes them every 0.5 s, and routes
  by failover so that it calls the same server as the bare loop: the server's work is identical and the
  difference is the client. Calls alternate in blocks and the ratio is the median over blocks, because
  the machine (2 cores, shared by the servers and the caller) is noisy. Also shown: round-robin over the
  three against a bare loop that cycles the three itself.
- p50 and p99 latency at 1 and 32 concurrent callers (threads on the sync client, tasks on the asyncio one),
  round-robin over the three, next to the same loops with httpx alone: at 32 callers the three servers and
  the caller share 2 cores, so the servers' queueing, not the client, sets those figures.
- a kill under load: 32 callers, round-robin, probes every 0.5 s; one server is SIGKILLed mid-run. Requests
  lost (target 0), and the time from the kill to the start of the last request that touched the dead
  server (target under 1 s).

Needs the MLServer venv (`make test` makes it). Run: python benchmarks/client.py
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlplatform_client import AsyncMultiCloudClient, Attempt, Endpoint, MultiCloudClient, Tensor

from tests.client_servers import MODEL, ServerFarm, server_farm

NAMES = ("a", "b", "c")
PROBE_INTERVAL = 0.5
OVERHEAD_TARGET = 1.2
KILL_TARGET_S = 1.0
BLOCKS, BLOCK_CALLS = 15, 200
KILL_CALLERS = 32
LATENCY_CALLERS = ((1, 600), (32, 60))  # concurrent callers, calls each


def endpoints(farm: ServerFarm) -> list[Endpoint]:
    return [Endpoint(name, farm[name].url) for name in NAMES]


def per_call_ms(call: Callable[[], Any], calls: int) -> tuple[float, float]:
    """Wall time and this process's CPU time (every thread: callers, workers, probes) per call, in ms."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1000, (time.process_time() - cpu) / calls * 1000


def overhead(farm: ServerFarm) -> tuple[float, float, float]:
    """The ratio client / bare on the same server, and each one's median ms a call."""
    body = farm.infer_body(1)
    inputs = [Tensor.of("x", farm.expected.inputs[:1])]
    urls = infer_urls(farm)
    cycle = itertools.cycle(urls)
    with (
        httpx.Client() as bare,
        MultiCloudClient(endpoints(farm), "failover", probe_interval=PROBE_INTERVAL) as pinned,
        MultiCloudClient(endpoints(farm), "round-robin", probe_interval=PROBE_INTERVAL) as spread,
    ):
        loops: dict[str, Callable[[], Any]] = {
            "bare, one server": lambda: bare.post(urls[0], json=body).json(),
            "client, failover (same server)": lambda: pinned.predict(MODEL, inputs),
            "bare, cycling the three": lambda: bare.post(next(cycle), json=body).json(),
            "client, round-robin": lambda: spread.predict(MODEL, inputs),
        }
        for loop in loops.values():
            per_call_ms(loop, 100)  # warm connections and code paths
        blocks: dict[str, list[float]] = {name: [] for name in loops}
        cpu: dict[str, list[float]] = {name: [] for name in loops}
        for _ in range(BLOCKS):
            for name, loop in loops.items():
                wall, used = per_call_ms(loop, BLOCK_CALLS)
                blocks[name].append(wall)
                cpu[name].append(used)
    names = list(loops)
    pinned_ratio = statistics.median(c / b for b, c in zip(blocks[names[0]], blocks[names[1]], strict=True))
    spread_ratio = statistics.median(c / b for b, c in zip(blocks[names[2]], blocks[names[3]], strict=True))
    print(f"overhead: {BLOCKS} alternating blocks of {BLOCK_CALLS} sequential calls, one input row")
    for name in names:
        wall, used = statistics.median(blocks[name]), statistics.median(cpu[name])
        print(f"  {name:34s} {wall:6.2f} ms a call, {used:5.2f} ms of the caller's CPU (median block)")
    ok = verdict(pinned_ratio <= OVERHEAD_TARGET)
    print(f"  ratio client / bare, same server       {pinned_ratio:5.2f}  (target <= {OVERHEAD_TARGET}) {ok}")
    print(f"  ratio client / bare, round-robin        {spread_ratio:5.2f}")
    return pinned_ratio, statistics.median(blocks[names[1]]), statistics.median(blocks[names[0]])


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def infer_urls(farm: ServerFarm) -> list[str]:
    return [f"{farm[name].url}/v2/models/{MODEL}/infer" for name in NAMES]


def timed_in_threads(call: Callable[[int], object], callers: int, calls_each: int) -> tuple[list[float], float]:
    """`callers` threads each time `calls_each` calls; call(k) gets k = the thread's number + the call's, so a bare
    loop can cycle the servers from a different one in each thread. Every call's seconds, and the wall time."""
    samples: list[float] = []
    lock = threading.Lock()

    def caller(offset: int) -> None:
        mine = []
        for i in range(calls_each):
            start = time.perf_counter()
            call(offset + i)
            mine.append(time.perf_counter() - start)
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - start


async def timed_in_tasks(
    call: Callable[[int], Awaitable[object]], callers: int, calls_each: int
) -> tuple[list[float], float]:
    """The same as timed_in_threads with tasks on the running loop."""
    samples: list[float] = []

    async def caller(offset: int) -> None:
        for i in range(calls_each):
            start = time.perf_counter()
            await call(offset + i)
            samples.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(caller(n) for n in range(callers)))
    return samples, time.perf_counter() - start


def sync_latency(farm: ServerFarm, callers: int, calls_each: int) -> tuple[list[float], float]:
    inputs = [Tensor.of("x", farm.expected.inputs[:1])]
    with MultiCloudClient(endpoints(farm), "round-robin", probe_interval=PROBE_INTERVAL) as client:
        for _ in range(50):
            client.predict(MODEL, inputs)
        return timed_in_threads(lambda _: client.predict(MODEL, inputs), callers, calls_each)


def bare_latency(farm: ServerFarm, callers: int, calls_each: int) -> tuple[list[float], float]:
    """For comparison: httpx alone, each thread cycling the three servers (no failover, no probes)."""
    body, urls = farm.infer_body(1), infer_urls(farm)
    with httpx.Client(limits=httpx.Limits(max_connections=100, max_keepalive_connections=100)) as http:
        return timed_in_threads(lambda k: http.post(urls[k % len(urls)], json=body).json(), callers, calls_each)


def bare_async_latency(farm: ServerFarm, callers: int, calls_each: int) -> tuple[list[float], float]:
    """For comparison: httpx.AsyncClient alone, each task cycling the three servers."""
    body, urls = farm.infer_body(1), infer_urls(farm)

    async def run() -> tuple[list[float], float]:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(limits=limits) as http:

            async def call(k: int) -> object:
                return (await http.post(urls[k % len(urls)], json=body)).json()

            return await timed_in_tasks(call, callers, calls_each)

    return asyncio.run(run())


def async_latency(farm: ServerFarm, callers: int, calls_each: int) -> tuple[list[float], float]:
    inputs = [Tensor.of("x", farm.expected.inputs[:1])]

    async def run() -> tuple[list[float], float]:
        async with AsyncMultiCloudClient(endpoints(farm), "round-robin", probe_interval=PROBE_INTERVAL) as client:
            for _ in range(50):
                await client.predict(MODEL, inputs)
            return await timed_in_tasks(lambda _: client.predict(MODEL, inputs), callers, calls_each)

    return asyncio.run(run())


def latency(farm: ServerFarm, rounds: int = 3) -> dict[tuple[str, int], tuple[float, float]]:
    """Each loop in turn, `rounds` times over, so that the machine's load drifts over all of them alike.
    (loop, callers) -> p50 and p99 in ms."""
    print(f"latency: round-robin over the three servers, one input row a call ({rounds} interleaved rounds)")
    measures = (
        ("client, threads", sync_latency),
        ("bare httpx, threads", bare_latency),
        ("client, asyncio", async_latency),
        ("bare httpx, asyncio", bare_async_latency),
    )
    found: dict[tuple[str, int], tuple[float, float]] = {}
    for callers, calls_each in LATENCY_CALLERS:
        samples: dict[str, list[float]] = {label: [] for label, _ in measures}
        elapsed = dict.fromkeys(samples, 0.0)
        for _ in range(rounds):
            for label, measure in measures:
                taken, seconds = measure(farm, callers, calls_each // rounds)
                samples[label].extend(taken)
                elapsed[label] += seconds
        for label in samples:
            p50, p99 = found[label, callers] = percentiles(samples[label])
            print(
                f"  {label:19s} {callers:2d} caller(s): p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
                f"({len(samples[label]) / elapsed[label]:5.0f} calls/s over {len(samples[label])} calls)"
            )
    return found


def kill_under_load(
    farm: ServerFarm, callers: int = KILL_CALLERS, before: float = 1.5, after: float = 2.5
) -> tuple[int, int, float]:
    """Calls made, calls lost, and ms from the kill to the last request that touched the killed server."""
    inputs = [Tensor.of("x", farm.expected.inputs[:1])]
    victim = NAMES[-1]
    attempts: list[Attempt] = []
    lost: list[BaseException] = []
    done = [0]
    slowest = [0.0]
    lock = threading.Lock()
    stop = threading.Event()
    with MultiCloudClient(
        endpoints(farm), "round-robin", probe_interval=PROBE_INTERVAL, on_attempt=attempts.append
    ) as client:

        def caller() -> None:
            while not stop.is_set():
                start = time.perf_counter()
                try:
                    client.predict(MODEL, inputs)
                except Exception as error:
                    lost.append(error)
                with lock:
                    done[0] += 1
                    slowest[0] = max(slowest[0], time.perf_counter() - start)

        threads = [threading.Thread(target=caller) for _ in range(callers)]
        for thread in threads:
            thread.start()
        time.sleep(before)
        served_before = sum(1 for a in attempts if a.target == victim and a.outcome == "ok")
        killed_at = time.monotonic()
        farm[victim].kill()
        time.sleep(after)
        stop.set()
        for thread in threads:
            thread.join()
        stats = client.stats().targets[victim]
    touched = [a for a in attempts if a.target == victim and a.started >= killed_at]
    last = max((a.started for a in touched), default=killed_at) - killed_at
    print(f"kill under load: {callers} callers, round-robin, probes every {PROBE_INTERVAL} s; SIGKILL to one server")
    print(f"  calls {done[0]}, of which lost {len(lost)} (target 0) {verdict(not lost)}")
    print(f"  the killed server answered {served_before} calls before; {len(touched)} attempts touched it after")
    print(
        f"  kill -> last request touching it   {last * 1000:6.0f} ms (target < {KILL_TARGET_S * 1000:.0f} ms) "
        f"{verdict(last < KILL_TARGET_S)}"
    )
    print(
        f"  its breaker: {stats.breaker.value}, opened {stats.times_opened} time(s); "
        f"slowest call {slowest[0] * 1000:.0f} ms"
    )
    for error in lost[:3]:
        print(f"  lost: {error}")
    return done[0], len(lost), last * 1000


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


@dataclass(frozen=True)
class Figures:
    """One run's figures (README.md's client table is written from these: make docs)."""

    cores: int
    load_before: float
    blocks: int
    overhead: float  # client / bare, same server, median over blocks
    client_ms: float
    bare_ms: float
    latency: tuple[tuple[str, tuple[float, float], tuple[float, float]], ...]  # label, client p50/p99, bare p50/p99
    kill_callers: int
    calls: int
    lost: int
    last_touch_ms: float
    probe_interval: float = PROBE_INTERVAL


def measure() -> Figures:
    cores, load = os.cpu_count() or 0, os.getloadavg()[0]
    print(f"machine: {cores} cores, load average {load:.1f} before the servers start")
    with server_farm(NAMES) as farm:
        ratio, client_ms, bare_ms = overhead(farm)
        found = latency(farm)
        calls, lost, last_ms = kill_under_load(farm)
    print(f"load average {os.getloadavg()[0]:.1f} at the end (the servers, the caller and anything else running)")
    pairs = (("threads", "bare httpx, threads"), ("asyncio", "bare httpx, asyncio"))
    rows = tuple(
        (
            f"{'sync' if kind == 'threads' else 'asyncio'}, {callers} caller{'s' if callers > 1 else ''}",
            found[f"client, {kind}", callers],
            found[bare, callers],
        )
        for kind, bare in pairs
        for callers, _ in LATENCY_CALLERS
    )
    return Figures(cores, load, BLOCKS, ratio, client_ms, bare_ms, rows, KILL_CALLERS, calls, lost, last_ms)


def main() -> None:
    measure()


if __name__ == "__main__":
    main()
