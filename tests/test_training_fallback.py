"""Moving a job with fallback to on demand: the decision (table), the patch on a Job `jobs submit` renders, and the
in-cluster CronJob that runs it, valid against the Kubernetes schemas, with least-privilege RBAC."""

from __future__ import annotations

import ast
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mlplatform_client.jobs.manifest import render_job
from mlplatform_client.jobs.offers import offers_from_outputs
from mlplatform_client.jobs.placement import JobRequest, place

from components.training import fallback
from preflight.plan import Plan
from tests.k8s_schemas import builtin_error

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TARGETS = {"aws-us-east-1", "gcp-us-central1", "azure-swedencentral"}


def _job(
    *,
    fallback_on: bool = True,
    suspend: bool = True,
    capacity: str | None = None,
    age_minutes: float = 5,
    notes: dict[str, str] | None = None,
) -> dict[str, Any]:
    annotations = {"mlplatform.io/max-reclaims": "2", "mlplatform.io/max-wait-minutes": "60", **(notes or {})}
    if fallback_on:
        annotations["mlplatform.io/fallback-to-on-demand"] = "true"
    selector = {"mlplatform.io/accelerator": "t4", **({"mlplatform.io/capacity": capacity} if capacity else {})}
    created = (NOW - timedelta(minutes=age_minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "metadata": {"name": "j", "annotations": annotations, "creationTimestamp": created},
        "spec": {"suspend": suspend, "template": {"spec": {"nodeSelector": selector}}},
    }


def _workload(requeued: int | None = None, admitted: bool = False) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": [{"type": "QuotaReserved", "status": "True" if admitted else "False"}]}
    if requeued is not None:
        status["requeueState"] = {"count": requeued, "requeueAt": "2026-12-02T12:05:00Z"}
    return {"metadata": {"ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "j"}]}, "status": status}


@pytest.mark.parametrize(
    ("job", "workload", "moves"),
    [
        (_job(), _workload(requeued=2), "evicted 2 times"),  # the second eviction waiting for spot nodes
        (_job(), _workload(requeued=1), None),  # one is not enough
        (_job(), _workload(), None),  # waiting 5 minutes, never evicted
        (_job(age_minutes=61), _workload(), "waited 61 minutes unadmitted"),
        (_job(age_minutes=61), _workload(admitted=True), None),  # admitted: its pods are starting
        (_job(age_minutes=61), None, "waited 61 minutes"),  # Kueue has not made its Workload yet
        (_job(fallback_on=False), _workload(requeued=5), None),  # spot only: it waits for spot
        (_job(suspend=False), _workload(requeued=5), None),  # running: its template cannot change
        (_job(capacity="on-demand"), _workload(requeued=5), None),  # already on demand
        (_job(capacity="spot"), _workload(requeued=5), "evicted 5 times"),
        (_job(notes={"mlplatform.io/moved-to-on-demand": "x"}), _workload(requeued=5), None),  # moved once only
        (_job(notes={"mlplatform.io/max-reclaims": "0"}), _workload(requeued=9), None),  # 0 turns the count off
        (_job(age_minutes=999, notes={"mlplatform.io/max-wait-minutes": "0"}), _workload(), None),  # and the wait
        (_job(notes={"mlplatform.io/max-reclaims": "two"}), _workload(requeued=9), None),  # not ours to guess
    ],
)
def test_a_job_moves_to_on_demand_only_when_its_limits_say_so(
    job: dict[str, Any], workload: dict[str, Any] | None, moves: str | None
) -> None:
    reason = fallback.decide(job, workload, NOW)
    assert (reason is None) == (moves is None)
    if moves is not None:
        assert reason is not None and reason.startswith(moves)


def test_the_patch_on_a_submitted_job_keeps_it_a_valid_job_on_the_on_demand_flavor(prod_plan: Plan) -> None:
    offers = offers_from_outputs(json.loads(json.dumps(prod_plan.outputs)))
    request = JobRequest(
        "trainer:1", 1, "T4", 4, ("python", "train.py"), use_spot=True, fallback_to_on_demand=True, max_reclaims=3
    )
    job = render_job(request, place(request, offers), "j", offers[0].teams[0])
    assert job["metadata"]["annotations"]["mlplatform.io/max-reclaims"] == "3"
    assert job["metadata"]["annotations"]["mlplatform.io/max-wait-minutes"] == "60"
    job["metadata"]["creationTimestamp"] = "2026-12-02T11:00:00Z"
    reason = fallback.decide(job, _workload(requeued=3), NOW)
    assert reason is not None
    patch = fallback.patch(reason)
    job["metadata"]["annotations"].update(patch["metadata"]["annotations"])
    job["spec"]["template"]["spec"]["nodeSelector"].update(patch["spec"]["template"]["spec"]["nodeSelector"])
    del job["metadata"]["creationTimestamp"]
    assert builtin_error(job) is None
    assert job["spec"]["template"]["spec"]["nodeSelector"]["mlplatform.io/capacity"] == "on-demand"
    assert fallback.decide(job, _workload(requeued=3), NOW) is None  # moved once


def test_the_script_runs_on_the_standard_library_alone() -> None:
    tree = ast.parse(fallback.script())
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)


def test_every_training_cluster_runs_the_controller_with_least_privilege(prod_plan: Plan) -> None:
    def of(kind: str) -> list[dict[str, Any]]:
        return [
            dict(r.inputs)
            for r in prod_plan.resources
            if r.type.endswith(f":{kind}") and r.inputs.get("metadata", {}).get("name") == fallback_name
        ]

    fallback_name = "mlplatform-training-fallback"
    cronjobs, roles, bindings, maps = of("CronJob"), of("Role"), of("RoleBinding"), of("ConfigMap")
    assert len(cronjobs) == len(roles) == len(bindings) == len(maps) == len(TARGETS)
    assert {r["metadata"]["namespace"] for r in roles + bindings} == {"train-ml"}  # where the jobs are only
    for role in roles:
        verbs = {
            (g, r): set(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
        }
        assert verbs == {("kueue.x-k8s.io", "workloads"): {"get", "list"}, ("batch", "jobs"): {"get", "list", "patch"}}
    for config in maps:
        assert config["data"]["fallback.py"] == fallback.script()
    for manifest in cronjobs + roles + bindings + maps:
        assert builtin_error(manifest) is None
    pod = cronjobs[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] and cronjobs[0]["metadata"]["namespace"] == "kueue-system"
    assert pod["containers"][0]["image"].startswith("python:3.13-alpine@sha256:")
