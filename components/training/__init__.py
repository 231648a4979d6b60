"""Training: Kueue and the training namespace in one cluster, over the training pools GpuCluster builds.

What it makes (on the cluster's kubernetes provider, after the serving stack):
- the `kueue-system` namespace (Pod Security restricted: the chart's manager runs as non-root with a read-only root
  file system and every capability dropped) and the official Kueue chart, pinned (kueue.py);
- per training pool a spot and an on-demand ResourceFlavor, the Cohort `training` holding the capacity no team is
  guaranteed, and per team a ClusterQueue trying spot first with the team's guaranteed quota (kueue.py);
- per team a namespace `train-<team>` (restricted) with the team's LocalQueue `<team>` and the `trainer` service
  account jobs run as (one team, `ml`, unless the stack lists its teams), federated to a cloud identity that writes
  the team's checkpoints under `checkpoints/<team>/` of the target's bucket and nothing else (identity.py);
- each namespace fenced like the baseline's (components/network_fence.py): default deny, then what it needs.
Nothing here is per job: `mlplatform jobs submit` (the client) renders the Job for the LocalQueue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import images, network_fence, pod_security
from components.network_fence import GKE_METADATA, Fence, Peer, Rule, outside
from components.target import Cloud
from components.training import fallback_controller, identity, kueue
from components.training.identity import SERVICE_ACCOUNT, TrainerAccess
from components.training.kueue import TrainingPool, TrainingTeam

DEFAULT_TEAMS = (TrainingTeam("ml"),)


def team_namespace(team: str) -> str:
    """A team's namespace; the prefix keeps a team named like a platform namespace (monitoring) apart from it."""
    return f"train-{team}"


API_SERVER = outside(443)  # the manager watches and writes through the API server


@dataclass(frozen=True)
class TrainingArgs:
    cloud: Cloud
    k8s_provider: k8s.Provider
    pools: tuple[TrainingPool, ...]
    teams: tuple[TrainingTeam, ...]
    """One namespace, LocalQueue and ClusterQueue each, with the GPUs it is guaranteed; all share the Cohort."""
    image_mirrors: images.Mirrors
    access: TrainerAccess
    """The target, the cluster's workload identity and the bucket: each team's identity writes its checkpoints."""
    """Kueue's image pulls through the target's registry where it mirrors registry.k8s.io (components/images.py)."""
    after: Sequence[pulumi.Resource] = ()
    """What must exist first (the serving stack: its add-ons include the device plugin GPU requests need)."""


def manager_fence() -> Fence:
    """Kueue's namespace: the API server calls its webhooks and visibility API; it calls the API server."""
    return Fence(kueue.NAMESPACE, ingress=(outside(kueue.WEBHOOK_PORT, kueue.VISIBILITY_PORT),), egress=(API_SERVER,))


def team_fence(cloud: Cloud, namespace: str) -> Fence:
    """A team's namespace: pods of one job talk to each other (distributed training) and write checkpoints to the
    bucket over HTTPS; on GKE they reach the metadata server for Workload Identity's tokens. Teams do not reach
    each other."""
    same = Rule((Peer(namespace=namespace),))
    egress = (same, outside(443), *(GKE_METADATA if cloud == "gcp" else ()))
    return Fence(namespace, ingress=(same,), egress=egress)


def _custom(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest as CustomResource's arguments (the plan records them back as the manifest)."""
    return {
        "api_version": manifest["apiVersion"],
        "kind": manifest["kind"],
        "metadata": manifest["metadata"],
        "spec": manifest["spec"],
    }


class Training(pulumi.ComponentResource):
    """Kueue, its queues and the training namespace in one cluster."""

    def __init__(self, name: str, args: TrainingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:training:Training", name, None, opts)
        inside = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=list(args.after))
        system = pod_security.namespace(f"{name}-ns-kueue", kueue.NAMESPACE, pod_security.RESTRICTED, inside)
        after_system = pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[system]))
        network_fence.install(f"{name}-kueue-fence", manager_fence(), after_system)
        release = k8s.helm.v3.Release(
            f"{name}-kueue",
            name="kueue",
            chart=kueue.CHART,
            version=kueue.VERSION,
            namespace=kueue.NAMESPACE,
            create_namespace=False,
            values={**kueue.chart_values(), **images.chart_values(kueue.CHART, kueue.VERSION, args.image_mirrors)},
            opts=after_system,
        )
        after_chart = pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[release]))
        flavors = [
            k8s.apiextensions.CustomResource(
                f"{name}-flavor-{kueue.flavor_name(pool, spot)}",
                **_custom(kueue.resource_flavor(pool, spot)),
                opts=after_chart,
            )
            for pool in args.pools
            for spot in (True, False)
        ]
        self._made: list[pulumi.Resource] = []
        self.identities: dict[str, identity.TrainerIdentity] = {}
        """Each team's cloud identity: its jobs' pods carry its labels and environment (the trainingOffers output)."""
        shared = k8s.apiextensions.CustomResource(
            f"{name}-cohort",
            **_custom(kueue.cohort(args.pools, args.teams)),
            opts=pulumi.ResourceOptions.merge(after_chart, pulumi.ResourceOptions(depends_on=flavors)),
        )
        for team in args.teams:
            self._team(f"{name}-{team.name}", args, team.name, shared, inside)
        # After the teams' namespaces (its RoleBindings live there) and Kueue's CRDs (the Workloads it reads).
        fallback_controller.install(
            name,
            kueue.NAMESPACE,
            [team_namespace(team.name) for team in args.teams],
            pulumi.ResourceOptions.merge(after_chart, pulumi.ResourceOptions(depends_on=list(self._made))),
        )
        self.namespaces: dict[str, pod_security.Level] = {
            kueue.NAMESPACE: pod_security.RESTRICTED,
            **{team_namespace(team.name): pod_security.RESTRICTED for team in args.teams},
        }
        """What Kyverno's policies cover here as well (ClusterBaselineArgs.self_fenced): images and Pod Security."""
        self.register_outputs({"teams": [team.name for team in args.teams]})

    def _team(
        self, name: str, args: TrainingArgs, team: str, shared: pulumi.Resource, inside: pulumi.ResourceOptions
    ) -> None:
        """The team's namespace, fence, service account, ClusterQueue and LocalQueue."""
        namespace = team_namespace(team)
        made = pod_security.namespace(f"{name}-ns", namespace, pod_security.RESTRICTED, inside)
        self._made.append(made)
        after_namespace = pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[made]))
        network_fence.install(f"{name}-fence", team_fence(args.cloud, namespace), after_namespace)
        trainer = identity.bind(self, name, args.access, team, namespace)
        self.identities[team] = trainer
        k8s.core.v1.ServiceAccount(
            f"{name}-trainer",
            metadata={
                "name": SERVICE_ACCOUNT,
                "namespace": namespace,
                "annotations": dict(trainer.service_account_annotations),
            },
            opts=pulumi.ResourceOptions.merge(
                after_namespace, pulumi.ResourceOptions(depends_on=list(trainer.resources))
            ),
        )
        queue = k8s.apiextensions.CustomResource(
            f"{name}-cluster-queue",
            **_custom(kueue.cluster_queue(args.pools, args.teams, team, namespace)),
            opts=pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[shared])),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-local-queue",
            **_custom(kueue.local_queue(team, namespace)),
            opts=pulumi.ResourceOptions.merge(after_namespace, pulumi.ResourceOptions(depends_on=[queue])),
        )
