"""What `mlplatform jobs status` prints about a Job: pure, from the Job, its Kueue Workload and its pods."""

from __future__ import annotations

from typing import Any

CAPACITY = "mlplatform.io/capacity"
MOVED = "mlplatform.io/moved-to-on-demand"  # set by the cluster's fallback controller


def _true(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return dict(condition)
    return None


def state(job: dict[str, Any]) -> str:
    """One word: succeeded, failed, running, queued (suspended by Kueue)."""
    if _true(job, "Complete"):
        return "succeeded"
    if _true(job, "Failed"):
        return "failed"
    if (job.get("spec") or {}).get("suspend"):
        return "queued"
    return "running"


def describe(job: dict[str, Any], workload: dict[str, Any] | None, pods: list[dict[str, Any]]) -> list[str]:
    """Lines for a person: state, capacity asked, Kueue's admission and evictions, each pod."""
    meta, status = job.get("metadata") or {}, job.get("status") or {}
    selector = (((job.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    annotations = meta.get("annotations") or {}
    lines = [
        f"job {meta.get('namespace')}/{meta.get('name')}: {state(job)}",
        f"capacity: {selector.get(CAPACITY, 'spot, then on demand')}",
        f"pods: {status.get('active', 0)} active, {status.get('succeeded', 0)} succeeded,"
        f" {status.get('failed', 0)} failed",
    ]
    if MOVED in annotations:
        lines.append(f"moved to on demand: {annotations[MOVED]}")
    if workload is None:
        lines.append("kueue: no workload yet")
    else:
        wstatus = workload.get("status") or {}
        flavors = sorted(
            {
                flavor
                for assignment in (wstatus.get("admission") or {}).get("podSetAssignments") or []
                for flavor in (assignment.get("flavors") or {}).values()
            }
        )
        admitted = _true(workload, "Admitted")
        lines.append(f"kueue: {'admitted on ' + ', '.join(flavors) if admitted and flavors else 'waiting for quota'}")
        requeued = (wstatus.get("requeueState") or {}).get("count")
        if requeued:
            lines.append(f"evicted waiting for nodes: {requeued} times")
        evicted = _true(workload, "Evicted")
        if evicted:
            lines.append(f"last eviction: {evicted.get('reason', '')}: {evicted.get('message', '')}")
    for pod in sorted(pods, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or ""):
        pmeta, pstatus = pod.get("metadata") or {}, pod.get("status") or {}
        node = (pod.get("spec") or {}).get("nodeName") or "-"
        reclaimed = " (reclaimed)" if _true(pod, "DisruptionTarget") else ""
        lines.append(f"pod {pmeta.get('name')}: {pstatus.get('phase', 'Unknown')} on {node}{reclaimed}")
    return lines


def newest_pod(pods: list[dict[str, Any]]) -> str | None:
    """The pod whose logs `jobs logs` shows: the newest (a reclaim's replacement over the reclaimed one)."""
    if not pods:
        return None
    newest = max(pods, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "")
    return str((newest.get("metadata") or {}).get("name"))
