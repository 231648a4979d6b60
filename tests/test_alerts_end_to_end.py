"""An alert leaves a cluster: a real Prometheus and Alertmanager deliver ModelNotReady to a webhook, then resolve it.

What runs, all real processes on loopback ports:
- an MLServer serving the model (tests/client_servers.py), the model a cluster's Deployment would serve;
- Debian's Prometheus, with the project's serving rules (components/observability/rules/serving.yaml) and the external
  labels every cluster's Prometheus puts on what it sends (target, cloud, region: MonitoringArgs.external_labels);
- Debian's Alertmanager, with the config the program renders (stacks/alerting_config.py read from a stack's
  `mlplatform:alerting` map, then components/observability/alerting.py), whose webhook receiver points here;
- a small HTTP server in this test: the webhook's other end, which Alertmanager posts to.

The model is made to fail by unloading it through MLServer's model repository API, so its readiness endpoint answers
404, the way a Triton pod whose model failed to load is taken out of its Service; loading it again heals it.

What stands in for a cluster, and why:
- kube-state-metrics: Prometheus scrapes the model's own readiness endpoint (`up` is 1 while it answers 200, 0
  otherwise, as the kubelet's readiness probe judges a pod), and two test-only recording rules turn that into the
  two series ModelNotReady's recording rule reads (`kube_deployment_status_replicas_available`,
  `kube_deployment_labels`). The project's rules are loaded as they are, expressions, `for` and labels unchanged.
- The rule group's evaluation interval: 30s in the file, 1s here. It is how often Prometheus looks, not what fires,
  and a 30s cadence would add up to a minute of waiting. ModelNotReady is the serving alert chosen because it
  carries a `model` label and has one of the shortest `for` (2m), which the test waits out in full: a rule with a
  shorter `for` would prove less about the `for` clause, and rewriting `for` would test a rule nobody deploys.

Versions: Debian ships Prometheus 2.42 and Alertmanager 0.25; the clusters run kube-prometheus-stack's 3.x and
0.34. The rendered Alertmanager config is used as it is except one field 0.25 predates: the webhook's `url_file`
(Alertmanager 0.26) becomes the inline `url` holding what the receivers' Secret file would hold. So reading the URL
from the mounted file is not covered here (tests/test_alerting.py checks the path it names); every route, matcher,
timing and inhibit rule is.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from components.observability.alerting import alertmanager_config, secret_path
from stacks.alerting_config import parse_alerting
from tests.client_servers import MODEL, MLServer, MLServerMissingError, ServerFarm, free_port

RULES = Path(__file__).resolve().parents[1] / "components" / "observability" / "rules" / "serving.yaml"
INSTALL = "apt-get install -y prometheus prometheus-alertmanager (Debian), or `make tools`"
# The labels a cluster's Prometheus adds to every alert it sends (worked example: the AWS target in us-east-1).
EXTERNAL_LABELS = {"target": "aws-us-east-1", "cloud": "aws", "region": "us-east-1"}
DEPLOYMENT = f"{MODEL}-predictor"
# A stack's `mlplatform:alerting` map: critical alerts to one webhook, with timings short enough for a test.
ALERTING = {
    "receivers": [{"name": "oncall", "kind": "webhook", "secret": "alertWebhookUrl"}],
    "routes": {"critical": ["oncall"]},
    "groupBy": ["alertname", "target"],
    "groupWait": "1s",
    "groupInterval": "1s",
}
# Until ModelNotReady fires: its `for` (2m), plus scrapes, evaluations and Alertmanager's group wait.
FIRE_WITHIN = 200.0
RESOLVE_WITHIN = 60.0
# Test-only stand-in for kube-state-metrics: the model's readiness scrape as a Deployment's available replicas.
KUBE_STATE = {
    "groups": [
        {
            "name": "kube-state-stand-in",
            "interval": "1s",
            "rules": [
                {
                    "record": "kube_deployment_status_replicas_available",
                    "expr": 'sum by (namespace, deployment) (up{job="model-readiness"})',
                },
                {
                    "record": "kube_deployment_labels",
                    "expr": 'max by (namespace, deployment, label_app) (up{job="model-readiness"}) * 0 + 1',
                },
            ],
        }
    ]
}


class Unread:
    """The receiver's secret as the program gets it (a Pulumi Output): rendering must not read it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the webhook URL was read ({name})")


def rendered_config(webhook_url: str) -> dict[str, Any]:
    """The program's Alertmanager config for ALERTING, in the form Alertmanager 0.25 reads (see the docstring)."""
    settings = parse_alerting("mlplatform:alerting", ALERTING, "prod", {"alertWebhookUrl"}).settings(
        lambda _key: Unread()  # type: ignore[arg-type,return-value]
    )
    config = json.loads(json.dumps(alertmanager_config(settings)))
    (receiver,) = [r for r in config["receivers"] if r["name"] == "oncall"]
    (webhook,) = receiver["webhook_configs"]
    assert webhook.pop("url_file") == secret_path("oncall")
    webhook["url"] = webhook_url  # what the receivers' Secret holds under the key `oncall`
    config["templates"] = []  # the chart's template folder; nothing there in a test
    return config


def rules_every_second() -> dict[str, Any]:
    """The project's serving rules unchanged, but for the groups' evaluation interval (see the docstring)."""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
    return rules


class Webhook:
    """Alertmanager's webhook receiver: every notification it posts, as parsed JSON, in order."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.put(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next_with(self, status: str, within: float) -> dict[str, Any]:
        """The first notification whose status is `status`, waiting up to `within` seconds."""
        end = time.monotonic() + within
        while (left := end - time.monotonic()) > 0:
            try:
                message = self.received.get(timeout=left)
            except queue.Empty:
                break
            if message["status"] == status:
                return message
        raise AssertionError(f"no {status} notification within {within:.0f} s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: {INSTALL}", pytrace=False)
    return path


@contextlib.contextmanager
def process(args: list[str], log: Path, ready_url: str) -> Iterator[None]:
    """A server process, waited for until `ready_url` answers 200, stopped afterwards; its log shown if it fails."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > end:
                pytest.fail(f"{args[0]} did not start:\n{log.read_text(errors='replace')[-3000:]}", pytrace=False)
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(ready_url, timeout=1.0).status_code == 200:
                    break
            time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mlplatform-alerts-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def model_server(workdir: Path) -> Iterator[MLServer]:
    """Its own MLServer: the test unloads the model, which the client tests' shared servers must keep."""
    try:
        farm = ServerFarm(["alerts"], workdir / "mlserver").start()
    except MLServerMissingError as missing:
        pytest.fail(str(missing), pytrace=False)
    yield farm["alerts"]
    farm.stop()


def test_model_not_ready_reaches_the_webhook_with_its_labels_and_resolves(
    workdir: Path, model_server: MLServer
) -> None:
    prometheus, alertmanager = binary("prometheus"), binary("prometheus-alertmanager")
    webhook = Webhook()
    am_port, prom_port = free_port(), free_port()

    (workdir / "alertmanager.yaml").write_text(yaml.safe_dump(rendered_config(webhook.url)))
    (workdir / "serving.yaml").write_text(yaml.safe_dump(rules_every_second()))
    (workdir / "kube_state.yaml").write_text(yaml.safe_dump(KUBE_STATE))
    scrape_target = f"127.0.0.1:{model_server.http_port}"
    (workdir / "prometheus.yaml").write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "external_labels": EXTERNAL_LABELS},
                "rule_files": [str(workdir / "serving.yaml"), str(workdir / "kube_state.yaml")],
                "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
                "scrape_configs": [
                    {  # the server's own metrics, as the serving stack's PodMonitor scrapes Triton's
                        "job_name": "model-server",
                        "static_configs": [{"targets": [f"127.0.0.1:{model_server.metrics_port}"]}],
                    },
                    {  # readiness, as the kubelet probes the model's pod
                        "job_name": "model-readiness",
                        "metrics_path": f"/v2/models/{MODEL}/ready",
                        "static_configs": [
                            {
                                "targets": [scrape_target],
                                "labels": {"namespace": "serving", "deployment": DEPLOYMENT, "label_app": MODEL},
                            }
                        ],
                    },
                ],
            }
        )
    )
    am_args = [
        alertmanager,
        f"--config.file={workdir / 'alertmanager.yaml'}",
        f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{am_port}",
        "--cluster.listen-address=",  # one Alertmanager, no gossip port
    ]
    prom_args = [
        prometheus,
        f"--config.file={workdir / 'prometheus.yaml'}",
        f"--storage.tsdb.path={workdir / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
        "--rules.alert.resend-delay=1s",
    ]
    prom_url = f"http://127.0.0.1:{prom_port}"
    try:
        with (
            process(am_args, workdir / "alertmanager.log", f"http://127.0.0.1:{am_port}/-/ready"),
            process(prom_args, workdir / "prometheus.log", f"{prom_url}/-/ready"),
        ):
            wait_for_series(prom_url, f'mlplatform:model_replicas_available{{model="{MODEL}"}} == 1')
            assert scraped(prom_url, "model-server"), "the model server's own metrics are scraped"

            unload = httpx.post(f"{model_server.url}/v2/repository/models/{MODEL}/unload", timeout=30)
            assert unload.status_code == 200, unload.text
            fired = webhook.next_with("firing", FIRE_WITHIN)

            load = httpx.post(f"{model_server.url}/v2/repository/models/{MODEL}/load", timeout=60)
            assert load.status_code == 200, load.text
            resolved = webhook.next_with("resolved", RESOLVE_WITHIN)
    finally:
        webhook.close()

    (alert,) = fired["alerts"]
    assert fired["receiver"] == "oncall"
    assert alert["labels"] == {
        "alertname": "ModelNotReady",
        "model": MODEL,
        "severity": "critical",
        **EXTERNAL_LABELS,
    }
    assert alert["annotations"]["summary"] == "A model has no ready replica on this target."
    assert fired["groupLabels"] == {"alertname": "ModelNotReady", "target": "aws-us-east-1"}
    (cleared,) = resolved["alerts"]
    assert cleared["labels"] == alert["labels"]
    assert cleared["status"] == "resolved"


def query(prom_url: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prom_url}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def wait_for_series(prom_url: str, expr: str, within: float = 30.0) -> None:
    """Until `expr` has a result: the readiness scrape and both rule files are running."""
    end = time.monotonic() + within
    while not query(prom_url, expr):
        if time.monotonic() > end:
            raise AssertionError(f"{expr} had no result within {within:.0f} s")
        time.sleep(0.5)


def scraped(prom_url: str, job: str) -> bool:
    return any(r["value"][1] == "1" for r in query(prom_url, f'up{{job="{job}"}}'))
