"""`mlplatform models promote` against a real Prometheus (Debian's 2.42; the clusters run 3.x: the queries keep to
what both evaluate alike, mlplatform_client/models/promotion.py) scraping the gateway's Istio metrics.

What stands in for a cluster: a small HTTP server in this test serves `istio_requests_total` and
`istio_request_duration_milliseconds` as the ingress gateway's Envoy does (reporter="source", the model's Service as
destination_service_name, the pods' `version` label as destination_version), and every scrape adds one second of
traffic per canary: a healthy one (60 requests, all 200, all under 50 ms), one failing a third of its requests (503)
and a slow one (every request between 1 and 5 s). Prometheus scrapes it each second; the command then reads the
evidence over a 20 s window and edits a stack file with three canaries at 10%.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from mlplatform_client.commands import main

from tests.client_servers import free_port
from tests.test_alerts_end_to_end import binary, process

BUCKETS = ("50", "100", "1000", "5000", "+Inf")  # milliseconds
# model -> per scrape: (200s, 503s, the first bucket every request falls in)
TRAFFIC = {"fraud-detection": (60, 0, "50"), "churn": (40, 20, "50"), "search": (60, 0, "5000")}

STACK = """\
config:
  mlplatform:environment: prod
  mlplatform:models:           # three canaries at 10% (comments stay)
    - name: fraud-detection
      accelerator: T4
      stable: {name: v1, path: fraud-detection/v1, weight: 90}
      canary: {name: v2, path: fraud-detection/v2, weight: 10}   # healthy
    - name: churn
      accelerator: T4
      stable: {name: v1, path: churn/v1, weight: 90}
      canary: {name: v2, path: churn/v2, weight: 10}   # fails a third
    - name: search
      accelerator: T4
      stable: {name: v1, path: search/v1, weight: 90}
      canary: {name: v2, path: search/v2, weight: 10}   # slow
"""


class GatewayMetrics:
    """The gateway's metrics endpoint: counters that grow by TRAFFIC on every scrape."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = metrics.scrape().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def scrape(self) -> str:
        lines = []
        for model, (ok, failed, bucket) in TRAFFIC.items():
            where = f'reporter="source",destination_service_name="{model}",destination_version="v2"'
            self.counts[f"{model} 200"] += ok
            self.counts[f"{model} 503"] += failed
            for code in ("200", "503"):
                lines.append(f'istio_requests_total{{{where},response_code="{code}"}} {self.counts[f"{model} {code}"]}')
            total = self.counts[f"{model} 200"] + self.counts[f"{model} 503"]
            for le in BUCKETS:
                inside = total if BUCKETS.index(le) >= BUCKETS.index(bucket) else 0
                lines.append(f'istio_request_duration_milliseconds_bucket{{{where},le="{le}"}} {inside}')
            lines.append(f"istio_request_duration_milliseconds_count{{{where}}} {total}")
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("promote")
    gateway = GatewayMetrics()
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "gateway", "static_configs": [{"targets": [f"127.0.0.1:{gateway.port}"]}]}],
    }
    (workdir / "prometheus.yaml").write_text(yaml.safe_dump(config))
    args = [
        binary("prometheus"),
        f"--config.file={workdir / 'prometheus.yaml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        with process(args, workdir / "prometheus.log", f"{url}/-/ready"):
            yield url
    finally:
        gateway.close()


def enough_traffic(url: str, within: float = 60.0) -> None:
    """Wait until every canary has answered at least 100 requests in the window Prometheus looks at."""
    end = time.monotonic() + within
    query = 'min(sum by (destination_service_name) (increase(istio_requests_total{reporter="source"}[20s])))'
    while time.monotonic() < end:
        found = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=5).json()["data"]["result"]
        if found and float(found[0]["value"][1]) >= 100:
            return
        time.sleep(0.5)
    pytest.fail("Prometheus did not scrape 100 requests per canary in time", pytrace=False)


def test_a_healthy_canary_steps_up_and_failing_or_slow_ones_roll_back(
    prometheus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enough_traffic(prometheus)
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text(STACK)
    said = []
    for model in TRAFFIC:
        args = ["models", "promote", model, "--stack-file", str(stack), "--prometheus", prometheus, "--window", "20s"]
        assert main(args) == 0, capsys.readouterr().err
        said.append(capsys.readouterr().out)
    assert said[0].startswith("fraud-detection canary v2: step (25%): error ratio 0.00%, p99 0.0")
    assert said[1].startswith("churn canary v2: rollback (0%): error ratio 33.33% is above 1.00%")
    # 99% of requests fall in (1000, 5000] ms: histogram_quantile interpolates 0.99 of the way, 4960 ms.
    assert said[2] == "search canary v2: rollback (0%): p99 latency 4.960 s is above 1.000 s\n"
    models = {m["name"]: m for m in yaml.safe_load(stack.read_text())["config"]["mlplatform:models"]}
    weights = {name: (m["stable"]["weight"], m["canary"]["weight"]) for name, m in models.items()}
    assert weights == {"fraud-detection": (75, 25), "churn": (100, 0), "search": (100, 0)}
    assert stack.read_text().count("#") == STACK.count("#")
