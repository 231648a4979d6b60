"""One cloud target -> its provider and its components, wired through typed outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
from pulumi_azure_native import resources

from components import images
from components.audit import AuditTrail, AuditTrailArgs
from components.cluster_baseline import ClusterBaseline, ClusterBaselineArgs
from components.gcp_services import enable_services
from components.gpu_cluster import GpuCluster, GpuClusterArgs, GpuPool, SystemPool
from components.metadata_db import MetadataDb, MetadataDbArgs
from components.model_bucket import ModelBucket, ModelBucketArgs
from components.model_sync.contract import writer_role_path
from components.observability import Monitoring
from components.registry import Registry, RegistryArgs
from components.serving_stack import ModelSpec, ModelVersion, ServingStack, ServingStackArgs
from components.serving_stack.contract import BucketAccess, TlsSettings
from components.tags import azure_tags_transform, gcp_labels
from components.target import Target
from components.training import Training, TrainingArgs
from components.training.identity import TrainerAccess, role_pattern
from pricing.credits import GKE_FREE_TIER_LABEL
from stacks.auth_config import gateway_auth
from stacks.cold_starts import replica_cold_start
from stacks.config import StackConfig, TargetConfig
from stacks.observability_config import FleetPlan
from stacks.regions import AZURE_REGIONS_WITHOUT_ZONES
from stacks.serving_config import ModelConfig
from stacks.training_config import training_pools
from stacks.warm_spares import serving_warm_spares


def publishing_args(config: TargetConfig, stack: StackConfig) -> dict[str, Any]:
    """Who may write this target's bucket (stacks/publishing_config.py): the publishers where models are published
    (the sync's primary, or every bucket without a sync), the model sync's writer on a replica. An AWS replica's
    writer is named by its role path (every role under it, in any account: only this account's roles are granted
    anything on the bucket), so the bucket waits on nothing in ModelSync or the primary."""
    publishing = stack.publishing
    published = stack.model_sync is None or stack.model_sync.primary == config.name
    fields: dict[str, Any] = {
        "restrict_writes": bool(publishing.publishers),
        "publishers": publishing.publishers_for(config.cloud) if published else (),
        "lock_days": publishing.lock_days,
    }
    if publishing.publishers and not published and config.cloud == "aws":
        fields["sync_writers"] = [f"arn:aws:iam::*:role{writer_role_path(config.name)}*"]
    if config.cloud == "aws" and stack.training.pools_on(config.name):  # its trainers write checkpoints/ only
        fields["checkpoint_writers"] = (role_pattern(config.name),)
    return fields


# Where mlplatform:encryption's customer-managed keys are implemented (Azure's need a Key Vault: not yet).
CMK_CLOUDS = ("aws", "gcp")


class Footprint(pulumi.ComponentResource):
    """Everything the platform runs in one cloud region. Later components join here."""

    target: Target
    bucket: ModelBucket
    cluster: GpuCluster
    registry: Registry
    database: MetadataDb | None
    """None where mlplatform:costSavings.databases keeps the database on the primary target only."""
    serving: ServingStack
    serving_args: ServingStackArgs
    monitoring: Monitoring
    baseline: ClusterBaseline
    training: Training | None
    """Kueue and the training teams' namespaces, where the target has training pools (stacks/training_config.py)."""
    audit: AuditTrail | None

    def __init__(
        self,
        config: TargetConfig,
        stack: StackConfig,
        tags: Mapping[str, str],
        network: str,
        fleet: FleetPlan,
        tls: TlsSettings | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`tls`: HTTPS on the gateway, from stacks/tls.py (which owns the TLS wiring); None without global DNS."""
        if config.cloud == "azure":
            # azure-native has no provider default tags: tag every azure resource below here.
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transforms=[azure_tags_transform(tags)]))
        placement = {"cloud": config.cloud, "region": config.region}
        super().__init__("mlplatform:platform:Footprint", config.name, placement, opts)
        self.target = _target(self, config, tags, keep=stack.environment.protect_stateful)

        env = stack.environment
        self.bucket = ModelBucket(
            f"{config.name}-models",
            ModelBucketArgs(
                target=self.target,
                noncurrent_version_days=stack.noncurrent_version_days,
                force_destroy=env.force_destroy_buckets,
                retain=env.protect_stateful,
                zone_redundant=env.zone_redundant_storage,
                **publishing_args(config, stack),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        clusters = cluster_args(self.target, stack, network)
        self.cluster = GpuCluster(config.name, clusters, pulumi.ResourceOptions(parent=self))
        self.audit = _audit_trail(self, config, stack, self.bucket, self.cluster)
        self.registry = Registry(
            f"{config.name}-images",
            RegistryArgs(
                target=self.target,
                puller=self.cluster.node_identity,
                keep_images=stack.registry.keep_images,
                untagged_days=stack.registry.untagged_days,
                acr_sku=stack.registry.acr_sku,
                zone_redundant=stack.registry.zone_redundant,
                retain=env.protect_stateful,
                manage_scanning=stack.registry.manage_scanning,
                mirror_upstreams=images.upstreams() if stack.mirror_images else (),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        database = stack.database
        self.database = None
        if stack.cost.has_database(config.name):  # mlplatform:costSavings.databases
            self.database = MetadataDb(
                f"{config.name}-metadata",
                MetadataDbArgs(
                    target=self.target,
                    network=self.cluster.network,
                    version=database.version,
                    tier=database.tiers[config.cloud],
                    storage_gb=database.storage_gb,
                    backup_days=database.backup_days,
                    high_availability=database.high_availability,
                    deletion_protection=env.protect_stateful,
                    geo_redundant_backup=config.cloud == "azure" and database.geo_backup_for(config.region),
                    tags=tags,
                    maintenance_window=env.maintenance_window,
                    customer_managed_key=stack.encryption.customer_managed_keys and config.cloud in CMK_CLOUDS,
                ),
                pulumi.ResourceOptions(parent=self),
            )
        # Monitoring's Helm values go into the ServingStack's kube-prometheus-stack; its objects follow the add-ons.
        self.monitoring = Monitoring(
            f"{config.name}-monitoring",
            fleet.monitoring_args(self.target, self.cluster.k8s_provider, clusters, self.registry.mirrors),
            pulumi.ResourceOptions(parent=self),
        )
        self.serving_args = ServingStackArgs(
            target=self.target,
            image_mirrors=self.registry.mirrors,
            k8s_provider=self.cluster.k8s_provider,
            cluster_name=self.cluster.cluster_name,
            identity=self.cluster.identity,
            bucket=BucketAccess(
                serving_uri=self.bucket.serving_uri,
                bucket_name=self.bucket.bucket_name,
                resource_id=self.bucket.resource_id,
                encryption_key_arn=self.bucket.encryption_key_arn,
            ),
            models=tuple(_model_spec(model, config, stack) for model in stack.models),
            cold_start_budget_seconds=stack.cold_start_budget_seconds,
            needs_device_plugin=config.cloud in ("aws", "azure"),
            tls=tls,
            monitoring_values=self.monitoring.prometheus_values,
            mesh_config=self.monitoring.mesh_config,
            triton_trace_args=self.monitoring.triton_trace_args,
            model_public_key=stack.publishing.public_key,
            triton_backends=stack.publishing.backends,
            warm_spares=serving_warm_spares(stack.cluster.gpu_pools, config.name, config.cloud),
            auth=gateway_auth(stack.auth, _guarded_hosts(config.name, stack)),
            request_limits=stack.gateway,
        )
        self.serving = ServingStack(f"{config.name}-serving", self.serving_args, pulumi.ResourceOptions(parent=self))
        self.monitoring.install(self.serving.addons)
        self.training = None
        pools = training_pools(stack.training, config.name, config.cloud)
        if pools:
            args = TrainingArgs(
                config.cloud,
                self.cluster.k8s_provider,
                pools,
                stack.training.teams,
                self.registry.mirrors,
                TrainerAccess(self.target, self.cluster.identity, self.serving_args.bucket),
                after=[self.serving],
            )
            self.training = Training(f"{config.name}-training", args, pulumi.ResourceOptions(parent=self))
        self.baseline = ClusterBaseline(
            f"{config.name}-baseline",
            ClusterBaselineArgs(
                cloud=config.cloud,
                k8s_provider=self.cluster.k8s_provider,
                namespaces=self.serving.namespaces,
                gateway_namespace=self.serving.addons.gateway_namespace,
                monitoring_namespace=self.serving.addons.monitoring_namespace,
                self_fenced=self.training.namespaces if self.training else {},
                image_prefixes=(self.registry.image_prefix, *self.registry.mirrors.values(), *images.upstreams()),
                enforce=env.name == "prod",  # dev only reports what prod would refuse
                kyverno_replicas=3 if env.name == "prod" else 1,
                after=[self.serving],
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs(
            {
                "gatewayAddress": self.serving.gateway_address,
                "bucketUri": self.bucket.uri,
                "clusterName": self.cluster.cluster_name,
                "imagePrefix": self.registry.image_prefix,
                "databaseHost": self.database.host if self.database else None,
            }
        )


def _audit_trail(
    parent: Footprint, config: TargetConfig, stack: StackConfig, bucket: ModelBucket, cluster: GpuCluster
) -> AuditTrail | None:
    """The target's audit trail (stacks/audit_config.py); None where the stack turns it off (dev by default)."""
    if not stack.audit.enabled:
        return None
    first_in_project = next(t for t in stack.targets if t.gcp_project == config.gcp_project).name == config.name
    env = stack.environment
    args = AuditTrailArgs(
        target=parent.target,
        retention_days=stack.audit.retention_days,
        bucket_name=bucket.bucket_name,
        bucket_resource_id=bucket.resource_id,
        cluster_name=cluster.cluster_name,
        cluster_resource_id=cluster.resource_id,
        manage_project_audit_config=config.cloud == "gcp" and first_in_project,
        retain=env.protect_stateful,
        force_destroy=env.force_destroy_buckets,
    )
    return AuditTrail(f"{config.name}-audit", args, pulumi.ResourceOptions(parent=parent))


def _guarded_hosts(target: str, stack: StackConfig) -> tuple[str, ...]:
    """Hosts the gateway lets through without a caller's token: the central metrics host, which its own
    AuthorizationPolicy guards with the remote-write token (components/observability/central.py)."""
    if stack.dns is None or target != stack.observability.central:
        return ()
    return (f"{stack.observability.record_name}.{stack.dns.zone}",)


def _target(parent: pulumi.Resource, config: TargetConfig, tags: Mapping[str, str], *, keep: bool) -> Target:
    """The target's explicit provider, carrying the required tags wherever the provider can.

    keep protects and retains Azure's resource group: deleting or replacing the group would delete
    the databases and buckets in it. The group gets no lock of its own (the stateful resources do):
    a group lock is inherited by everything in it and blocks every replace Pulumi makes there.
    """
    opts = pulumi.ResourceOptions(parent=parent)
    if config.cloud == "aws":
        provider: pulumi.ProviderResource = aws.Provider(
            config.name, region=config.region, default_tags={"tags": dict(tags)}, opts=opts
        )
        return Target(config.name, "aws", config.region, provider)
    if config.cloud == "gcp":
        provider = gcp.Provider(
            config.name,
            project=config.gcp_project,
            region=config.region,
            default_labels=gcp_labels(tags),
            opts=opts,
        )
        project = config.gcp_project or ""
        apis = enable_services(parent, config.name, project, provider)  # before anything else there
        return Target(config.name, "gcp", config.region, provider, gcp_project=project, prerequisites=apis)
    provider = azure_native.Provider(
        config.name, location=config.region, subscription_id=config.azure_subscription_id, opts=opts
    )
    group = resources.ResourceGroup(
        f"{config.name}-rg",
        location=config.region,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, protect=keep, retain_on_delete=keep),
    )
    return Target(config.name, "azure", config.region, provider, azure_resource_group=group.name)


def cluster_args(target: Target, stack: StackConfig, cidr: str) -> GpuClusterArgs:
    """The stack's cluster config as this target's GpuClusterArgs.

    Each spot pool is followed by its on-demand fallback (min 0), which the autoscaler uses
    only when no spot pool can grow.
    """
    env, cluster, cloud = stack.environment, stack.cluster, target.cloud
    pools: list[GpuPool] = []
    for pool in (*cluster.gpu_pools, *stack.training.pools):  # training pools: the same machinery
        if not pool.runs_on(target.name):
            continue
        training = pool in stack.training.pools  # its nodes carry the training taint (components/scheduling.py)
        machine_types = pool.machine_types[cloud]
        pools.append(
            GpuPool(
                name=pool.name,
                accelerator=pool.accelerator,
                machine_types=machine_types,
                min_nodes=pool.min_nodes + pool.warm_spares,  # spares are kept nodes (stacks/warm_spares.py)
                max_nodes=pool.max_nodes,
                spot=pool.spot,
                spot_max_price=pool.spot_max_price,
                on_demand_reason=pool.on_demand_reason,
                training=training,
            )
        )
        if pool.spot:
            pools.append(
                GpuPool(
                    name=pool.fallback_name,
                    accelerator=pool.accelerator,
                    machine_types=machine_types,
                    min_nodes=0,
                    max_nodes=pool.fallback_max_nodes,
                    spot=False,
                    fallback=True,
                    training=training,
                )
            )
    system = cluster.system_pool
    return GpuClusterArgs(
        target=target,
        kubernetes_version=cluster.kubernetes_version,
        system_pool=SystemPool(
            system.machine_types[cloud], system.min_nodes, system.max_nodes, spot=stack.cost.spot_system(cloud)
        ),
        gpu_pools=tuple(pools),
        network_cidr=cidr,
        zones=env.zones if zoned(target) else 0,
        nat_per_zone=env.nat_per_zone,
        public_nodes=stack.cost.public_nodes and cloud == "aws",
        regional=env.regional_control_plane,
        deletion_protection=env.protect_clusters,
        control_plane_logs=env.control_plane_logs or stack.audit.enabled,
        control_plane_log_days=stack.audit.retention_days,
        customer_managed_key=stack.encryption.customer_managed_keys and cloud in CMK_CLOUDS,
        api_allowed_cidrs=cluster.api_allowed_cidrs,
        local_accounts=env.local_accounts,
        access=stack.eks_access,
        maintenance_window=env.maintenance_window,
        gke_image_cache_disk=stack.image_cache.gke_disk_image if cloud == "gcp" else None,
        eks_image_snapshot=stack.image_cache.eks_snapshot(target.region) if cloud == "aws" else None,
        cluster_labels=(GKE_FREE_TIER_LABEL,) if stack.cost.gke_free_tier and cloud == "gcp" else (),
    )


def zoned(target: Target) -> bool:
    """Whether the region has availability zones (a few Azure regions have none)."""
    return not (target.cloud == "azure" and target.region in AZURE_REGIONS_WITHOUT_ZONES)


def network_cidr(index: int) -> str:
    """A /16 per target, distinct across the stack, so target networks could be peered later."""
    return f"10.{16 + index}.0.0/16"


def _model_spec(model: ModelConfig, config: TargetConfig, stack: StackConfig) -> ModelSpec:
    cached = stack.image_cache.cached(config.cloud, config.region)
    pools = stack.cluster.gpu_pools
    start = replica_cold_start(model, config.name, config.cloud, pools, image_cached=cached, warm=True)
    new_node = replica_cold_start(model, config.name, config.cloud, pools, image_cached=cached)
    versions = [model.stable, *([model.canary] if model.canary else [])]
    return ModelSpec(
        name=model.name,
        versions=tuple(ModelVersion(v.name, v.path, v.weight) for v in versions),
        accelerator=model.accelerator,
        gpus_per_replica=model.gpus_per_replica,
        min_replicas=model.min_replicas,
        max_replicas=model.max_replicas,
        on_demand_floor=model.on_demand_floor,
        team=model.team,
        cold_start_seconds=start.total_seconds if start else None,
        new_node_seconds=new_node.total_seconds if new_node and new_node != start else None,
        routing=model.routing,
    )
