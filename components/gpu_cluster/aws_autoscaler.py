"""Spot first, on-demand when spot cannot be had: cluster-autoscaler with the priority expander on EKS.

Every managed node group's Auto Scaling group is found by the autoscaler through the tags EKS
puts on it (`k8s.io/cluster-autoscaler/enabled`, `k8s.io/cluster-autoscaler/<cluster>`). The
priority expander ranks the groups a pending pod fits: spot (and plain on-demand) GPU groups
first, fallback groups only when those cannot grow, anything else (the system group) last.

A group at zero nodes has no node to learn from, so each GPU group's ASG carries node-template
tags for its labels, its GPU taint and its GPU count: managed node groups do not copy their
labels and taints onto their ASG (cluster-autoscaler's AWS README, "Auto-Discovery Setup").

GPU nodes carry GPU_LABEL from the start (a node-group label, so kubelet registers with it): the
autoscaler treats a node with that label and no GPUs yet as one whose device plugin has not
reported them, not as a node that lacks GPUs (its AWS README, "Special note on GPU instances").
"""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.gpu_cluster.contract import GpuClusterArgs, GpuPool
from components.irsa import trust_policy
from components.scheduling import LABEL_ROLE

CHART = "cluster-autoscaler"
CHART_REPO = "https://kubernetes.github.io/autoscaler"
# The autoscaler should run the Kubernetes minor it scales, so the chart is picked by the cluster's
# minor: each version here is the newest chart whose appVersion is that minor, read from the chart
# repository's index (kubernetes/autoscaler, gh-pages index.yaml) and the tag's Chart.yaml; read
# 2026-12. No chart ships a 1.36 autoscaler yet (9.59.0, the newest, is 1.35.0), so no 1.36 entry:
# the stack config refuses a minor missing here for a stack with an AWS target.
CHART_VERSIONS: dict[str, str] = {
    "1.32": "9.46.6",  # appVersion 1.32.0
    "1.33": "9.51.0",  # appVersion 1.33.0
    "1.34": "9.53.0",  # appVersion 1.34.2
    "1.35": "9.59.0",  # appVersion 1.35.0
}
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
NODE_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
GPU_LABEL = "k8s.amazonaws.com/accelerator"  # the AWS provider's GPULabel (aws_cloud_provider.go)
# Its values: the AWS provider's availableGPUTypes where listed (same file, read 2026-12); it has
# no H100 entry, which only matters to --gpu-total limits, not to the label's effect.
GPU_TYPES: dict[str, str] = {
    "T4": "nvidia-tesla-t4",
    "A10G": "nvidia-a10g",
    "L4": "nvidia-l4",
    "A100": "nvidia-tesla-a100",
    "H100": "nvidia-h100",
}
GPU_RESOURCE = "nvidia.com/gpu"
PRIMARY_PRIORITY = 50  # spot GPU groups (and GPU groups that are on-demand by choice)
FALLBACK_PRIORITY = 10  # on-demand fallback groups
CATCH_ALL_PRIORITY = 1  # the priority expander skips groups no pattern matches: keep the system group
# Actions from the "Full Cluster Autoscaler Features Policy" of cluster-autoscaler's AWS README.
# Describe calls take no resource-level permissions, so they are allowed on "*".
DISCOVERY_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
)
SCALING_ACTIONS = ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup")


def chart_version(kubernetes_version: str) -> str:
    """The pinned chart for the cluster's minor; an unlisted minor is an error, not a silent mismatch."""
    try:
        return CHART_VERSIONS[kubernetes_version]
    except KeyError:
        known = ", ".join(sorted(CHART_VERSIONS))
        raise ValueError(
            f"no cluster-autoscaler chart pinned for Kubernetes {kubernetes_version}; known: {known}"
        ) from None


def aws_gpu_labels(pool: GpuPool) -> dict[str, str]:
    """The labels of a GPU group's nodes: the platform's, and the autoscaler's GPU label."""
    return {**pool.labels, GPU_LABEL: GPU_TYPES[pool.accelerator]}


def node_template_tags(pool: GpuPool, gpus_per_node: int) -> dict[str, str]:
    """The ASG tags that describe a node of this pool to the autoscaler before one exists."""
    tags = {f"{NODE_TEMPLATE}/label/{key}": value for key, value in aws_gpu_labels(pool).items()}
    for key, value, effect in pool.taints:  # the training taint too: a serving pod must not scale a training group
        tags[f"{NODE_TEMPLATE}/taint/{key}"] = f"{value}:{effect}"
    tags[f"{NODE_TEMPLATE}/resources/{GPU_RESOURCE}"] = str(gpus_per_node)
    return tags


def tag_node_templates(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    pool: GpuPool,
    gpus_per_node: int,
    asg_name: pulumi.Output[str],
) -> list[aws.autoscaling.Tag]:
    """One aws.autoscaling.Tag per template tag: EKS owns the ASG, so its tags are added one by one."""
    opts = args.target.child_options(parent)
    return [
        aws.autoscaling.Tag(
            f"{name}-{pool.name}-{_slug(key)}",
            autoscaling_group_name=asg_name,
            # Only the autoscaler reads these; instances get their labels and taint from EKS.
            tag={"key": key, "value": value, "propagate_at_launch": False},
            opts=opts,
        )
        for key, value in node_template_tags(pool, gpus_per_node).items()
    ]


def _slug(tag_key: str) -> str:
    return tag_key.removeprefix(f"{NODE_TEMPLATE}/").replace("/", "-")


def priority_tiers(groups: list[tuple[GpuPool, str]]) -> dict[str, list[str]]:
    """The priority expander's config: exact ASG-name patterns per priority, highest wins."""
    tiers: dict[str, list[str]] = {}
    for pool, asg_name in groups:
        priority = FALLBACK_PRIORITY if pool.fallback else PRIMARY_PRIORITY
        tiers.setdefault(str(priority), []).append(f"^{re.escape(asg_name)}$")
    tiers[str(CATCH_ALL_PRIORITY)] = [".*"]
    return tiers


def expander_priorities(groups: list[tuple[GpuPool, pulumi.Output[str]]]) -> pulumi.Output[dict[str, list[str]]]:
    pools = [pool for pool, _ in groups]
    return pulumi.Output.all(*[asg for _, asg in groups]).apply(
        lambda names: priority_tiers(list(zip(pools, names, strict=True)))
    )


def autoscaler_role(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    cluster_name: str,
    oidc_provider_arn: pulumi.Output[str],
    oidc_issuer: pulumi.Output[str],
) -> aws.iam.Role:
    """IRSA: only the autoscaler's service account may assume it, and it may scale only this cluster."""
    opts = args.target.child_options(parent)
    role = aws.iam.Role(
        f"{name}-autoscaler",
        description=f"cluster-autoscaler of EKS cluster {cluster_name}",
        assume_role_policy=pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
            lambda values: trust_policy(values[0], values[1], NAMESPACE, SERVICE_ACCOUNT)
        ),
        opts=opts,
    )
    aws.iam.RolePolicy(
        f"{name}-autoscaler",
        role=role.id,
        policy=_permissions(cluster_name, args.target.region),
        opts=opts,
    )
    return role


def _permissions(cluster_name: str, region: str) -> str:
    # Partition "aws": stacks/regions.py admits commercial regions only.
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Discover", "Effect": "Allow", "Action": list(DISCOVERY_ACTIONS), "Resource": "*"},
                {
                    # Labels and taints of managed node groups at zero nodes.
                    "Sid": "ReadNodeGroups",
                    "Effect": "Allow",
                    "Action": "eks:DescribeNodegroup",
                    "Resource": f"arn:aws:eks:{region}:*:nodegroup/{cluster_name}/*",
                },
                {
                    # EKS tags every managed node group's ASG k8s.io/cluster-autoscaler/<cluster>=owned.
                    "Sid": "ScaleThisClusterOnly",
                    "Effect": "Allow",
                    "Action": list(SCALING_ACTIONS),
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
                    },
                },
            ],
        }
    )


# How long the autoscaler waits for a new node to register before it deletes it and backs the group
# off. The AL2023 NVIDIA AMI ships the driver and its kernel modules prebuilt (docs.aws.amazon.com/
# eks/latest/userguide/ml-eks-optimized-ami.html), so nothing is installed at boot: AWS GPU nodes
# joined and ran pods in 4-6 min (github.com/kubernetes/autoscaler/issues/3464); with 5m a g4dn
# group timed out and left a running instance orphaned for hours (.../issues/6810); read 2026-12.
# 10m clears 6 with room and still tries the fallback 5 minutes before the default 15m when a spot
# node launches but never registers. Spot without capacity is not affected: the ASG's failed
# launch shows as a placeholder instance and backs the group off at once (the autoscaler's AWS
# provider, aws_cloud_provider.go).
MAX_NODE_PROVISION_TIME = "10m"


def chart_values(
    args: GpuClusterArgs,
    cluster_name: str,
    role_arn: pulumi.Output[str],
    priorities: pulumi.Output[dict[str, list[str]]],
) -> dict[str, Any]:
    """Values of the official chart (names checked in its values.yaml at the pinned version)."""
    return {
        "cloudProvider": "aws",
        "awsRegion": args.target.region,
        "autoDiscovery": {"clusterName": cluster_name},
        "rbac": {
            "serviceAccount": {
                "create": True,
                "name": SERVICE_ACCOUNT,
                "annotations": {"eks.amazonaws.com/role-arn": role_arn},
            }
        },
        "extraArgs": {
            "expander": "priority",
            "balance-similar-node-groups": True,  # spread a pool's nodes over its zones
            "skip-nodes-with-system-pods": False,  # kube-system pods must not pin an idle GPU node
            # A spot node that launched but never registers is given up on (and the fallback tried)
            # after this; launch errors from the ASG back the group off sooner still.
            "max-node-provision-time": MAX_NODE_PROVISION_TIME,
        },
        # With expander=priority the chart writes these into cluster-autoscaler-priority-expander.
        "expanderPriorities": priorities,
        "nodeSelector": {LABEL_ROLE: "system"},  # never on a GPU node it might scale away
    }


def install_autoscaler(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    values: dict[str, Any],
    provider: k8s.Provider,
    depends_on: list[pulumi.Resource],
) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        f"{name}-autoscaler",
        name=CHART,  # a fixed release name: one autoscaler per cluster
        chart=CHART,
        version=chart_version(args.kubernetes_version),
        repository_opts={"repo": CHART_REPO},
        namespace=NAMESPACE,
        values=values,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on),
    )
