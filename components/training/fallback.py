"""Move a training job with fallback to the on-demand flavor after too many reclaims or too long a wait.

Kueue moves a job to the next flavor only when quota runs out, never because spot nodes cannot be had or keep being
taken away. Its signals are used instead (Kueue 0.19, Workload status, v1beta2 CRD; "Setup All-or-nothing with
ready Pods", read 2026-12):
- `status.requeueState.count`: how often waitForPodsReady evicted and requeued the job: its pods did not start within
  the timeout, or a replacement pod after a reclaim did not within recoveryTimeout (components/training/kueue.py);
- the Workload's conditions: not admitted (`QuotaReserved` not True) since the Job was made.
A job whose Job carries `mlplatform.io/fallback-to-on-demand: "true"` is moved when the count reaches its
`mlplatform.io/max-reclaims`, or when it has waited unadmitted longer than `mlplatform.io/max-wait-minutes` (both set
by `mlplatform jobs submit`). Moving means setting the Job's capacity selector to `on-demand` while Kueue holds it
suspended (a suspended Job's pod template scheduling fields may change: Kubernetes "Job", "Mutable Scheduling
Directives"); Kueue then makes the job's Workload anew, and only the on-demand flavors match it.

This file runs as it is in the cluster (a CronJob, python:3.13-alpine, standard library only: fallback_controller.py
puts its text in a ConfigMap); `decide` is pure and table-tested (tests/test_training_fallback.py).
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.request
from datetime import UTC, datetime
from typing import Any

CAPACITY = "mlplatform.io/capacity"
FALLBACK = "mlplatform.io/fallback-to-on-demand"
MAX_RECLAIMS = "mlplatform.io/max-reclaims"
MAX_WAIT = "mlplatform.io/max-wait-minutes"
MOVED = "mlplatform.io/moved-to-on-demand"
MANAGED = "app.kubernetes.io/managed-by=mlplatform-jobs"
NAMESPACES_ENV = "MLPLATFORM_TRAINING_NAMESPACES"
ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _condition(workload: dict[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for c in (workload.get("status") or {}).get("conditions") or []
    )


def decide(job: dict[str, Any], workload: dict[str, Any] | None, now: datetime) -> str | None:
    """Why this Job should move to on demand now, or None. Only a suspended Job with fallback, not yet on demand."""
    meta, spec = job.get("metadata") or {}, job.get("spec") or {}
    annotations = meta.get("annotations") or {}
    if annotations.get(FALLBACK) != "true" or MOVED in annotations or not spec.get("suspend"):
        return None
    selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    if selector.get(CAPACITY) == "on-demand":
        return None
    try:
        max_reclaims = int(annotations.get(MAX_RECLAIMS, "0"))
        max_wait = float(annotations.get(MAX_WAIT, "0"))
    except ValueError:
        return None  # not ours to guess: the client writes whole numbers
    if workload is not None:
        requeued = int(((workload.get("status") or {}).get("requeueState") or {}).get("count") or 0)
        if max_reclaims > 0 and requeued >= max_reclaims:
            return f"evicted {requeued} times waiting for spot nodes (max {max_reclaims})"
        if _condition(workload, "QuotaReserved"):
            return None  # admitted, starting
    created = meta.get("creationTimestamp")
    if max_wait > 0 and created:
        waited = (now - _time(created)).total_seconds() / 60
        if waited >= max_wait:
            return f"waited {waited:.0f} minutes unadmitted (max {max_wait:g})"
    return None


def patch(reason: str) -> dict[str, Any]:
    """The merge patch that moves a Job: its capacity selector, and why (so it is moved once)."""
    return {
        "metadata": {"annotations": {MOVED: reason}},
        "spec": {"template": {"spec": {"nodeSelector": {CAPACITY: "on-demand"}}}},
    }


def owner(workload: dict[str, Any]) -> str | None:
    """The name of the Job a Workload was made for."""
    for ref in (workload.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == "Job" and ref.get("apiVersion") == "batch/v1":
            return str(ref.get("name"))
    return None


class _Api:
    """The cluster's API with the pod's service account token (in-cluster, no client library)."""

    def __init__(self) -> None:
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
        self.base = f"https://{host}:{port}"
        with open(f"{ACCOUNT}/token", encoding="utf-8") as handle:
            self.token = handle.read().strip()
        self.tls = ssl.create_default_context(cafile=f"{ACCOUNT}/ca.crt")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(self.base + path, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        data = None
        if body is not None:
            request.add_header("Content-Type", "application/merge-patch+json")
            data = json.dumps(body).encode()
        with urllib.request.urlopen(request, data=data, context=self.tls, timeout=30) as response:
            result: dict[str, Any] = json.load(response)
            return result


def run(api: _Api, namespaces: list[str], now: datetime) -> int:
    moved = 0
    for namespace in namespaces:
        jobs = api.call("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs?labelSelector={MANAGED}")["items"]
        workloads = api.call("GET", f"/apis/kueue.x-k8s.io/v1beta2/namespaces/{namespace}/workloads")["items"]
        by_job = {owner(w): w for w in workloads}
        for job in jobs:
            name = job["metadata"]["name"]
            reason = decide(job, by_job.get(name), now)
            if reason is None:
                continue
            api.call("PATCH", f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}", patch(reason))
            print(f"{namespace}/{name}: moved to on demand: {reason}", flush=True)
            moved += 1
    return moved


def script() -> str:
    """This file's text: what the CronJob runs with `python3`."""
    with open(__file__, encoding="utf-8") as handle:
        return handle.read()


if __name__ == "__main__":
    run(_Api(), [n for n in os.environ.get(NAMESPACES_ENV, "").split(",") if n], datetime.now(UTC))
    sys.exit(0)
