"""The sync job in the primary cluster: a namespace, a service account, the config files, and the CronJob.

The CronJob runs the official rclone image, pinned by tag and digest, as a non-root user with a read-only root
filesystem, on the system nodes. `concurrencyPolicy: Forbid` keeps it the one writer even when a run outlasts the
schedule; `activeDeadlineSeconds` ends a stuck run (its replicas stay unmarked until the next run completes them);
`backoffLimit` retries a failed pod twice before the next scheduled run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components import network_fence, pod_security
from components.images import image as platform_image
from components.model_sync.contract import CONFIG_DIR, NAMESPACE, SERVICE_ACCOUNT, TOKEN_DIR, Token
from components.model_sync.rclone import MANIFESTS
from components.serving_stack.addons import system_placement

USER_ID = 65532  # any non-root uid: the image needs none of its own (rclone writes only under HOME=/tmp)
ACTIVE_DEADLINE_SECONDS = 6 * 3600  # a first copy of large models to every replica; a stuck run ends here
BACKOFF_LIMIT = 2
STARTING_DEADLINE_SECONDS = 300  # a run missed by more than this (controller down) waits for the next slot
TOKEN_SECONDS = 3600  # projected tokens are refreshed by the kubelet before they expire
SCRIPT = "sync.sh"
FETCH_SCRIPT = "fetch.sh"  # step 1: the source's markers and signatures into MANIFESTS_DIR
VERIFY_SCRIPT = "model_signature.py"  # step 2 (with a public key): components/model_signature.py, `tree`
CONFIG = "rclone.conf"
MANIFESTS_DIR = "/var/run/model-sync/manifests"  # an emptyDir the three steps share
RESOURCES: k8s.core.v1.ResourceRequirementsArgsDict = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}
VERIFY_RESOURCES: k8s.core.v1.ResourceRequirementsArgsDict = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "128Mi"},
}
SECURITY_CONTEXT: k8s.core.v1.SecurityContextArgsDict = {
    "allow_privilege_escalation": False,
    "read_only_root_filesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
# rclone's memory: --transfers (4) x its buffer (16 MiB), plus multipart chunks (5 MiB x 4 per upload): < 512 MiB.


def deploy(
    parent: pulumi.Resource,
    name: str,
    provider: k8s.Provider,
    files: Mapping[str, pulumi.Input[str]],
    tokens: Sequence[Token],
    env: Mapping[str, pulumi.Input[str]],
    schedule: str,
    image: str,
    depends_on: Sequence[pulumi.Resource],
    public_key: str | None = None,
) -> k8s.batch.v1.CronJob:
    """Namespace, ServiceAccount, ConfigMap and CronJob on the primary cluster; the CronJob waits for the grants."""
    base = pulumi.ResourceOptions(parent=parent, provider=provider)
    # No istio-injection: a Job's pod must exit, a sidecar would keep it running. Restricted Pod Security: pod_spec.
    namespace = pod_security.namespace(f"{name}-namespace", NAMESPACE, pod_security.RESTRICTED, base)
    inside = pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(depends_on=[namespace]))
    # Default-deny both ways; out: DNS and HTTPS only (the buckets, STS and the other clouds' token endpoints).
    network_fence.install(f"{name}-fence", network_fence.Fence(NAMESPACE, egress=(network_fence.outside(443),)), inside)
    k8s.core.v1.ServiceAccount(
        f"{name}-service-account",
        metadata={"name": SERVICE_ACCOUNT, "namespace": NAMESPACE},
        automount_service_account_token=False,  # nor does its pod (pod_spec): the job reads buckets, not the API
        opts=inside,
    )
    config = k8s.core.v1.ConfigMap(
        f"{name}-config",
        metadata={"name": NAMESPACE, "namespace": NAMESPACE},
        data=dict(files),
        opts=inside,
    )
    spec: k8s.batch.v1.CronJobSpecArgsDict = {
        "schedule": schedule,
        "concurrency_policy": "Forbid",
        "starting_deadline_seconds": STARTING_DEADLINE_SECONDS,
        "successful_jobs_history_limit": 3,
        "failed_jobs_history_limit": 3,
        "job_template": {
            "spec": {
                "backoff_limit": BACKOFF_LIMIT,
                "active_deadline_seconds": ACTIVE_DEADLINE_SECONDS,
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": NAMESPACE}},
                    "spec": pod_spec(tokens, env, image, public_key),
                },
            }
        },
    }
    return k8s.batch.v1.CronJob(
        f"{name}-cronjob",
        metadata={"name": NAMESPACE, "namespace": NAMESPACE},
        spec=spec,
        opts=pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[config, *depends_on])),
    )


def pod_spec(
    tokens: Sequence[Token], env: Mapping[str, pulumi.Input[str]], image: str, public_key: str | None = None
) -> k8s.core.v1.PodSpecArgsDict:
    """rclone fetching the source's markers, then (with a public key) the signature check in the python image, then
    rclone running the sync script on what was verified; tokens projected per audience, config mounted read-only."""
    unique = {token.path: token for token in tokens}
    volumes: list[k8s.core.v1.VolumeArgsDict] = [
        {"name": "config", "config_map": {"name": NAMESPACE}},
        {"name": "tmp", "empty_dir": {"size_limit": "256Mi"}},
        {"name": "manifests", "empty_dir": {"size_limit": "64Mi"}},
    ]
    mounts: list[k8s.core.v1.VolumeMountArgsDict] = [
        {"name": "config", "mount_path": CONFIG_DIR, "read_only": True},
        {"name": "tmp", "mount_path": "/tmp"},
        {"name": "manifests", "mount_path": MANIFESTS_DIR},
    ]
    if unique:
        sources: list[k8s.core.v1.VolumeProjectionArgsDict] = [
            {
                "service_account_token": {
                    "path": token.path,
                    "audience": token.audience,
                    "expiration_seconds": TOKEN_SECONDS,
                }
            }
            for token in unique.values()
        ]
        volumes.append({"name": "tokens", "projected": {"sources": sources}})
        mounts.append({"name": "tokens", "mount_path": TOKEN_DIR, "read_only": True})
    variables: list[k8s.core.v1.EnvVarArgsDict] = [
        {"name": "RCLONE_CONFIG", "value": f"{CONFIG_DIR}/{CONFIG}"},
        {"name": "HOME", "value": "/tmp"},  # rclone's cache and temporary files
        {"name": MANIFESTS, "value": MANIFESTS_DIR},
    ]
    variables += [{"name": key, "value": value} for key, value in env.items()]
    placement = system_placement()
    return {
        "service_account_name": SERVICE_ACCOUNT,
        "automount_service_account_token": False,  # the job talks to no Kubernetes API, only to the buckets
        "restart_policy": "Never",  # a failed pod is a failed try; the Job makes a new one (backoffLimit)
        "node_selector": placement["nodeSelector"],
        "tolerations": placement["tolerations"],
        "security_context": {
            "run_as_non_root": True,
            "run_as_user": USER_ID,
            "run_as_group": USER_ID,
            "fs_group": USER_ID,  # the projected tokens are readable by the pod's group
            "seccomp_profile": {"type": "RuntimeDefault"},
        },
        "init_containers": init_containers(variables, mounts, image, public_key),
        "containers": [rclone_container("rclone", SCRIPT, variables, mounts, image)],
        "volumes": volumes,
    }


def rclone_container(
    name: str,
    script: str,
    env: list[k8s.core.v1.EnvVarArgsDict],
    mounts: list[k8s.core.v1.VolumeMountArgsDict],
    image: str,
) -> k8s.core.v1.ContainerArgsDict:
    return {
        "name": name,
        "image": image,
        "command": ["/bin/sh", f"{CONFIG_DIR}/{script}"],
        "env": env,
        "resources": RESOURCES,
        "security_context": SECURITY_CONTEXT,
        "volume_mounts": mounts,
    }


def init_containers(
    env: list[k8s.core.v1.EnvVarArgsDict],
    mounts: list[k8s.core.v1.VolumeMountArgsDict],
    image: str,
    public_key: str | None,
) -> list[k8s.core.v1.ContainerArgsDict]:
    """The source's markers (rclone), then their signatures (python, standard library only, no bucket access)."""
    found = [rclone_container("fetch-manifests", FETCH_SCRIPT, env, mounts, image)]
    if public_key is not None:
        found.append(
            {
                "name": "verify-manifests",
                "image": platform_image("python").ref,
                "command": ["python3", f"{CONFIG_DIR}/{VERIFY_SCRIPT}", "tree", public_key, MANIFESTS_DIR],
                "resources": VERIFY_RESOURCES,
                "security_context": SECURITY_CONTEXT,
                "volume_mounts": [
                    {"name": "config", "mount_path": CONFIG_DIR, "read_only": True},
                    {"name": "manifests", "mount_path": MANIFESTS_DIR},
                ],
            }
        )
    return found
