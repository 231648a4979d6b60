"""The batch Job `jobs submit` applies: suspended, labelled for Kueue, resuming from its checkpoint after a reclaim.

- Kueue admits it: `kueue.x-k8s.io/queue-name` names the team's LocalQueue and `suspend: true` leaves the start to
  Kueue (kueue.sigs.k8s.io/docs/tasks/run/jobs, read 2026-12).
- Which capacity it may use is said by its node selector: Kueue assigns only a ResourceFlavor whose node labels the
  pod's selector matches, so `mlplatform.io/capacity: spot` keeps a job on spot, `on-demand` on demand, and no
  capacity selector lets the ClusterQueue try spot first and the on-demand flavor next (docs/TRAINING.md).
- A spot reclaim marks the pod with the condition DisruptionTarget; the pod failure policy ignores it (it does not
  count against backoffLimit) and the Job makes a new pod, which resumes from the checkpoint
  (kubernetes.io/docs/concepts/workloads/controllers/job/#pod-failure-policy, read 2026-12).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mlplatform_client.jobs.offers import Team
from mlplatform_client.jobs.placement import JobRequest, Placement

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
GPU_RESOURCE = "nvidia.com/gpu"
CHECKPOINT_INTERVAL_SECONDS = 600
"""How often a training script should checkpoint: a spot reclaim gives 30 s to 2 min of notice (docs/TRAINING.md)."""
RUN_AS_USER = 1000
"""The user a training container runs as (the namespace refuses root); an image made for another user still runs,
with its files readable by others (docs/TRAINING.md)."""
BACKOFF_LIMIT = 3
"""Failures of the script itself before the Job gives up; reclaims do not count."""

# The taints a training node carries (components/scheduling.py): every GPU node's, AKS's on its spot pools, and on
# GKE the accelerator's ComputeClass taint every GPU pool there carries.
_TOLERATIONS = (
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"},
    {"key": "cloud.google.com/compute-class", "operator": "Exists", "effect": "NoSchedule"},
)


def job_name(request: JobRequest) -> str:
    """A name that is the same for the same job (stable --dry-run output), and differs for another."""
    text = json.dumps([request.image, list(request.command), request.accelerator.upper(), request.gpus])
    return f"train-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _capacity_selector(placement: Placement) -> dict[str, str]:
    if not placement.spot:
        return {"mlplatform.io/capacity": "on-demand"}
    return {} if placement.fallback else {"mlplatform.io/capacity": "spot"}


def render_job(request: JobRequest, placement: Placement, name: str, team: Team) -> dict[str, Any]:
    """The Job as a Kubernetes object (batch/v1), in the team's namespace and queue."""
    offer, pool = placement.offer, placement.pool
    per_pod = request.gpus // placement.nodes
    labels = {QUEUE_LABEL: team.queue, "app.kubernetes.io/managed-by": "mlplatform-jobs"}
    annotations = {
        "mlplatform.io/max-price-per-gpu-hour": (
            "none" if request.max_price_per_gpu_hour is None else f"{request.max_price_per_gpu_hour:.4f}"
        ),
        "mlplatform.io/fallback-to-on-demand": str(placement.fallback).lower(),
        "mlplatform.io/expected-cost-usd": f"{placement.cost(request.hours, request.gpus):.2f}",
    }
    if placement.fallback:  # read by the cluster's fallback controller (components/training/fallback.py)
        annotations["mlplatform.io/max-reclaims"] = str(request.max_reclaims)
        annotations["mlplatform.io/max-wait-minutes"] = f"{request.max_wait_minutes:g}"
    checkpoint = f"{offer.checkpoint_uri}/{team.name}/{name}"  # the team's identity writes under its own prefix
    env = [
        {"name": "MLPLATFORM_JOB_NAME", "value": name},
        {"name": "MLPLATFORM_CHECKPOINT_URI", "value": checkpoint},
        {"name": "MLPLATFORM_CHECKPOINT_INTERVAL_SECONDS", "value": str(CHECKPOINT_INTERVAL_SECONDS)},
        {"name": "MLPLATFORM_GPUS", "value": str(request.gpus)},
        *({"name": key, "value": value} for key, value in team.env),
    ]
    spec: dict[str, Any] = {
        "suspend": True,
        "backoffLimit": BACKOFF_LIMIT,
        "podFailurePolicy": {
            "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]
        },
        "parallelism": placement.nodes,
        "completions": placement.nodes,
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": name, **dict(team.pod_labels)}},
            "spec": {
                "serviceAccountName": offer.service_account,
                "restartPolicy": "Never",
                # The training namespace enforces Pod Security `restricted`: a non-root user, no privilege.
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": RUN_AS_USER,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "nodeSelector": {
                    "mlplatform.io/accelerator": pool.accelerator.lower(),
                    **_capacity_selector(placement),
                },
                "tolerations": [dict(t) for t in _TOLERATIONS],
                "containers": [
                    {
                        "name": "train",
                        "image": request.image,
                        "command": list(request.command),
                        "env": env,
                        "resources": {"limits": {GPU_RESOURCE: per_pod}},
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    }
                ],
            },
        },
    }
    if placement.nodes > 1:
        spec["completionMode"] = "Indexed"  # each pod gets JOB_COMPLETION_INDEX: its rank
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": team.namespace, "labels": labels, "annotations": annotations},
        "spec": spec,
    }


def dump(job: dict[str, Any]) -> str:
    """Stable JSON (kubectl applies JSON as it does YAML): sorted keys, two-space indent."""
    return json.dumps(job, indent=2, sort_keys=True) + "\n"
