"""The fallback controller in one cluster: a CronJob in kueue-system running fallback.py every two minutes.

Why a CronJob and not client logic or a Deployment: a job submitted with --fallback-to-on-demand must move while its
submitter's laptop is closed, so the client cannot do it; a two-minute poll is far inside the waits it acts on (the
10-minute waitForPodsReady timeout, a wait of an hour), holds no lease, keeps no state (the Job's annotations and the
Workload's status are the state) and costs one short pod every two minutes on the system nodes instead of a
standing one. Least privilege: it reads Workloads and reads and patches Jobs in the training teams' namespaces only
(a Role and its RoleBinding in each team's namespace), and reaches only the API server (kueue-system's
fence, components/training/__init__.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.images import image as platform_image
from components.serving_stack.addons import system_placement
from components.training import fallback

NAME = "mlplatform-training-fallback"
SCHEDULE = "*/2 * * * *"
SCRIPT = "fallback.py"
SCRIPT_DIR = "/etc/mlplatform"
USER_ID = 65534  # nobody: the namespace enforces Pod Security restricted
RULES: list[k8s.rbac.v1.PolicyRuleArgsDict] = [
    {"api_groups": ["kueue.x-k8s.io"], "resources": ["workloads"], "verbs": ["get", "list"]},
    {"api_groups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "patch"]},
]


def install(
    name: str, namespace: str, team_namespaces: Sequence[str], opts: pulumi.ResourceOptions
) -> k8s.batch.v1.CronJob:
    """ServiceAccount, a Role and RoleBinding per team namespace, the script's ConfigMap and the CronJob."""
    account = k8s.core.v1.ServiceAccount(f"{name}-fallback", metadata={"name": NAME, "namespace": namespace}, opts=opts)
    grants: list[pulumi.Resource] = []
    for team_namespace in team_namespaces:  # a Role and its binding where the jobs are, nowhere else
        role = k8s.rbac.v1.Role(
            f"{name}-fallback-{team_namespace}",
            metadata={"name": NAME, "namespace": team_namespace},
            rules=RULES,
            opts=opts,
        )
        grants.append(role)
        grants.append(
            k8s.rbac.v1.RoleBinding(
                f"{name}-fallback-{team_namespace}",
                metadata={"name": NAME, "namespace": team_namespace},
                role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
                subjects=[{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}],
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role])),
            )
        )
    script = k8s.core.v1.ConfigMap(
        f"{name}-fallback",
        metadata={"name": NAME, "namespace": namespace},
        data={SCRIPT: fallback.script()},
        opts=opts,
    )
    placement = system_placement()
    return k8s.batch.v1.CronJob(
        f"{name}-fallback",
        metadata={"name": NAME, "namespace": namespace},
        spec={
            "schedule": SCHEDULE,
            "concurrency_policy": "Forbid",
            "successful_jobs_history_limit": 1,
            "failed_jobs_history_limit": 1,
            "job_template": {
                "spec": {
                    "backoff_limit": 0,  # the next run is two minutes away
                    "active_deadline_seconds": 110,
                    "template": {
                        "spec": {
                            "service_account_name": NAME,
                            "restart_policy": "Never",
                            "node_selector": placement["nodeSelector"],
                            "tolerations": placement["tolerations"],
                            "security_context": {
                                "run_as_non_root": True,
                                "run_as_user": USER_ID,
                                "run_as_group": USER_ID,
                                "seccomp_profile": {"type": "RuntimeDefault"},
                            },
                            "containers": [
                                {
                                    "name": "fallback",
                                    "image": platform_image("python").ref,
                                    "command": ["python3", f"{SCRIPT_DIR}/{SCRIPT}"],
                                    "env": [{"name": fallback.NAMESPACES_ENV, "value": ",".join(team_namespaces)}],
                                    "resources": {
                                        "requests": {"cpu": "20m", "memory": "32Mi"},
                                        "limits": {"cpu": "200m", "memory": "64Mi"},
                                    },
                                    "security_context": {
                                        "allow_privilege_escalation": False,
                                        "read_only_root_filesystem": True,
                                        "capabilities": {"drop": ["ALL"]},
                                    },
                                    "volume_mounts": [{"name": "script", "mount_path": SCRIPT_DIR, "read_only": True}],
                                }
                            ],
                            "volumes": [{"name": "script", "config_map": {"name": NAME}}],
                        }
                    },
                }
            },
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[account, script, *grants])),
    )
