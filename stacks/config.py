"""The stack config as typed, frozen dataclasses.

Every value arrives the way the Pulumi engine hands it to a program: a mapping of
``project:key`` to a string (structured values JSON-encoded). The same parser therefore
serves `pulumi up` and the offline preflight, and every error names the key it is about,
so a bad stack file fails before any resource is made.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from components.cold_start import DEFAULT_BUDGET_SECONDS as DEFAULT_COLD_START_BUDGET
from components.gpu_cluster.contract import ClusterAccess
from components.kubernetes_support import DEFAULT_VERSION as DEFAULT_KUBERNETES_VERSION
from components.maintenance import MaintenanceWindow
from components.target import Cloud
from stacks.access_config import parse_eks_access
from stacks.alerting_config import AlertingConfig, parse_alerting
from stacks.audit_config import AuditConfig, parse_audit
from stacks.auth_config import DISABLED as AUTH_DISABLED
from stacks.auth_config import AuthConfig, parse_auth
from stacks.cluster_config import ClusterConfig, ClusterDefaults, parse_cluster
from stacks.cost_config import DEV_COST, PROD_COST, CostConfig, CostDefaults, parse_cost
from stacks.data_config import DatabaseConfig, DataDefaults, RegistryConfig, parse_database, parse_registry
from stacks.dns_config import MAX_PROD_FAILOVER_SECONDS, DnsConfig, DnsDefaults, check_zone_names, parse_dns
from stacks.encryption_config import EncryptionConfig, parse_encryption
from stacks.gateway_config import DEFAULT as GATEWAY_DEFAULT
from stacks.gateway_config import RequestLimits, parse_gateway
from stacks.gpu_zone_config import check_gcp_gpu_zones
from stacks.image_cache_config import ImageCacheConfig, parse_image_cache
from stacks.observability_config import ObservabilityConfig, parse_observability
from stacks.promotion_config import DEFAULT as DEFAULT_PROMOTION
from stacks.promotion_config import parse_promotion
from stacks.publishing_config import PublishingConfig, parse_publishing
from stacks.regions import REGIONS
from stacks.serving_config import ModelConfig, ServingDefaults, parse_models
from stacks.sync_config import SyncConfig, parse_sync
from stacks.training_config import TrainingConfig, parse_teams, parse_training
from stacks.validate import ConfigError, boolean, integer, kind, string

PROJECT = "mlplatform"
CLOUDS: tuple[Cloud, ...] = ("aws", "gcp", "azure")


@dataclass(frozen=True)
class EnvironmentProfile:
    """What an environment means, decided once: dev is cheap, prod is highly available."""

    name: str
    protect_stateful: bool  # protect + retain buckets, keys, databases
    force_destroy_buckets: bool  # let `pulumi destroy` empty a bucket
    noncurrent_version_days: int  # how long overwritten model files stay recoverable
    zone_redundant_storage: bool  # ZRS on Azure (S3 and GCS regional buckets span zones already)
    zones: int  # availability zones a cluster's nodes span
    nat_per_zone: bool  # AWS: a NAT gateway per zone, so one zone's loss keeps egress
    regional_control_plane: bool  # GKE: regional (three control-plane replicas) vs zonal
    protect_clusters: bool  # deletion protection on clusters (GKE, AKS uptime SLA tier)
    control_plane_logs: bool  # EKS control-plane logs to CloudWatch
    local_accounts: bool  # AKS local accounts; off means Entra ID only
    cluster: ClusterDefaults
    data: DataDefaults
    serving: ServingDefaults
    dns: DnsDefaults
    maintenance_window: MaintenanceWindow | None = None
    """When GKE and Cloud SQL may upgrade or restart by themselves (UTC); None: whenever they choose."""
    cost: CostDefaults = PROD_COST
    """Which cost savings the environment takes by default or allows (stacks/cost_config.py)."""


# Prod: weekend nights UTC, 8 hours on Saturday and Sunday (64 hours in any 32 days, over GKE's 48);
# Cloud SQL takes its hour at the start of Saturday's.
PROD_MAINTENANCE = MaintenanceWindow(days=("SA", "SU"), start_hour=2, hours=8)


PROFILES: dict[str, EnvironmentProfile] = {
    "dev": EnvironmentProfile(
        name="dev",
        protect_stateful=False,
        force_destroy_buckets=True,
        noncurrent_version_days=7,
        zone_redundant_storage=False,
        zones=2,
        nat_per_zone=False,
        regional_control_plane=False,
        protect_clusters=False,
        control_plane_logs=False,
        local_accounts=True,
        cluster=ClusterDefaults(system_min_nodes=1, system_max_nodes=2, open_api_allowed=True),
        data=DataDefaults(environment="dev", acr_sku="Basic", highly_available=False),
        serving=ServingDefaults(min_replicas=1, on_demand_floor=0, least_min_replicas=0),
        dns=DnsDefaults(
            required=False, health_check_interval=30, failure_threshold=3, ttl=60, max_failover_seconds=None
        ),
        cost=DEV_COST,
    ),
    "prod": EnvironmentProfile(
        name="prod",
        protect_stateful=True,
        force_destroy_buckets=False,
        noncurrent_version_days=30,
        zone_redundant_storage=True,
        zones=3,
        nat_per_zone=True,
        regional_control_plane=True,
        protect_clusters=True,
        control_plane_logs=True,
        local_accounts=False,
        cluster=ClusterDefaults(system_min_nodes=2, system_max_nodes=4, open_api_allowed=False),
        data=DataDefaults(environment="prod", acr_sku="Premium", highly_available=True),
        serving=ServingDefaults(min_replicas=2, on_demand_floor=1, least_min_replicas=2),
        dns=DnsDefaults(
            required=True,
            health_check_interval=10,
            failure_threshold=2,
            ttl=20,
            max_failover_seconds=MAX_PROD_FAILOVER_SECONDS,
        ),
        maintenance_window=PROD_MAINTENANCE,
    ),
}


@dataclass(frozen=True)
class TargetConfig:
    """One cloud target: a cloud and a region, with what that cloud needs to address it."""

    name: str
    cloud: Cloud
    region: str
    gcp_project: str | None = None
    azure_subscription_id: str | None = None


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    environment: EnvironmentProfile
    owner: str
    cost_center: str
    targets: tuple[TargetConfig, ...]
    noncurrent_version_days: int
    cluster: ClusterConfig
    registry: RegistryConfig
    database: DatabaseConfig
    models: tuple[ModelConfig, ...]
    dns: DnsConfig | None
    observability: ObservabilityConfig
    model_sync: SyncConfig | None = None
    """None: no model sync (one target, or turned off)."""
    alerting: AlertingConfig = dataclasses.field(default_factory=AlertingConfig)
    """Alertmanager's receivers and routes; its secrets stay in their own (secret) config keys."""
    eks_access: tuple[ClusterAccess, ...] = ()
    """The IAM roles every EKS cluster gives an access entry (stacks/access_config.py)."""
    auth: AuthConfig = AUTH_DISABLED
    """Who may call which model through the gateways, and how fast (stacks/auth_config.py); off only in dev."""
    publishing: PublishingConfig = dataclasses.field(default_factory=PublishingConfig)
    """Who may publish models, the key their manifests are signed with, the Triton backends (publishing_config.py)."""
    gateway: RequestLimits = GATEWAY_DEFAULT
    """What one request may carry through every gateway (stacks/gateway_config.py)."""
    mirror_images: bool = False
    """Pull public images through each target's registry where its cloud caches that upstream (components/images.py)."""
    audit: AuditConfig = dataclasses.field(default_factory=AuditConfig)
    """Control-plane and model-bucket audit logs and their retention (stacks/audit_config.py); always on in prod."""
    encryption: EncryptionConfig = dataclasses.field(default_factory=EncryptionConfig)
    """Customer-managed keys for Kubernetes Secrets and the databases (stacks/encryption_config.py)."""
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    """Training pools and Kueue in every cluster that has one (stacks/training_config.py); none by default."""
    cold_start_budget_seconds: int = DEFAULT_COLD_START_BUDGET
    """How long a GPU replica may take to serve on a new node (components/cold_start.py; the policy pack judges it)."""
    image_cache: ImageCacheConfig = dataclasses.field(default_factory=ImageCacheConfig)
    """Where new GPU nodes already hold the Triton image, so a start skips its pull (stacks/image_cache_config.py)."""
    cost: CostConfig = dataclasses.field(default_factory=CostConfig)
    """The cost savings the stack chooses, each with what it gives up (stacks/cost_config.py, docs/COST.md)."""


@dataclass(frozen=True)
class KeySpec:
    """A top-level config key: its type for Pulumi.yaml, whether a stack must set it, and what it is for (told
    when a required key is missing)."""

    type: Literal["string", "integer", "boolean", "array", "object"]
    description: str
    required: bool = False
    default: Any = None
    """The value when a stack leaves the key out; Pulumi.yaml declares the same default."""


# Scalar keys are declared in Pulumi.yaml too (a test keeps both in step); `targets` is a
# list of objects, which Pulumi.yaml's schema cannot express, so it is declared only here.
KEYS: dict[str, KeySpec] = {
    "environment": KeySpec("string", "Environment profile: dev (cheap) or prod (highly available).", True),
    "owner": KeySpec("string", "Team or person that owns the stack (the `owner` tag).", True),
    "costCenter": KeySpec("string", "Cost center billed for the stack (the `cost-center` tag).", True),
    "noncurrentVersionDays": KeySpec(
        "integer",
        "Days an overwritten model file stays recoverable; 0: the environment's default (7 dev, 30 prod).",
        default=0,
    ),
    "targets": KeySpec("object", "Cloud targets: a list of {cloud, region, name?, project?, subscriptionId?}.", True),
    "kubernetesVersion": KeySpec(
        "string",
        "Kubernetes minor version of every cluster; must be in standard support on every cloud of the stack.",
        default=DEFAULT_KUBERNETES_VERSION,
    ),
    "apiAllowedCidrs": KeySpec(
        "array", "CIDRs that may reach the Kubernetes API endpoints (required in prod).", default=[]
    ),
    "systemPool": KeySpec("object", "System node pool: {minNodes, maxNodes, machineTypes: {aws, gcp, azure}}."),
    "gpuPools": KeySpec("object", "GPU node pools: a list of {name, accelerator, minNodes, maxNodes, spot, ...}."),
    "trainingPools": KeySpec("object", "Training GPU pools (spot, from zero; Kueue queues): as gpuPools, minNodes 0."),
    "trainingTeams": KeySpec("object", "Training teams, a namespace and queues each: names or {name, gpus} maps."),
    "registry": KeySpec("object", "Image registry: {keepImages, untaggedDays, acrSku}."),
    "mirrorImages": KeySpec(
        "boolean",
        "Pull public images through each target's registry (pull-through caches) where its cloud can cache them.",
        default=False,
    ),
    "models": KeySpec("object", "Served models: a list of {name, accelerator, stable, canary?, replicas, floor}."),
    "promotion": KeySpec(
        "object", "Canary bounds, every model's default: {maxErrorRatio, maxP99Seconds, minRequests, window, steps}."
    ),
    "dns": KeySpec("object", "Global DNS: {zone, mode, ttl, healthCheckInterval, failureThreshold, ...}."),
    "observability": KeySpec(
        "object",
        "Monitoring, logs and traces: {central (a target name), retentionDays, recordName, logRetentionDays, "
        "logVolumeGiB, traceRetentionDays, traceVolumeGiB, traceSamplingPercent, traceKeepPercent, tritonTraceRate}.",
    ),
    "alerting": KeySpec("object", "Alert routing: {receivers: [{name, kind, secret, ...}], routes: {critical, ...}}."),
    "modelSync": KeySpec("object", "Model sync from the primary's bucket to the others: {primary, schedule, enabled}."),
    "modelPublishing": KeySpec("object", "Model integrity: {publicKey, publishers: {aws, gcp, azure}, backends, ...}."),
    "eksAccess": KeySpec("object", "EKS API access: IAM role ARNs {deployRole, previewRole, operatorRoles, creator}."),
    "auth": KeySpec("object", "Callers (prod requires it): {issuers: [{issuer, jwksUri, audiences}], models, ...}."),
    "gateway": KeySpec("object", "Request limits at every gateway: {maxRequestBodyMiB, maxRequestHeadersKiB}."),
    "encryption": KeySpec("object", "Customer-managed keys: {customerManagedKeys} (Kubernetes Secrets, databases)."),
    "audit": KeySpec("object", "Audit trail: {enabled (always in prod), retentionDays (one value every cloud takes)}."),
    "database": KeySpec(
        "object", "Metadata database: {version, tiers: {aws, gcp, azure}, storageGb, backupDays, geoRedundantBackup}."
    ),
    "imageCache": KeySpec("object", "The Triton image cached on new GPU nodes: {gkeDiskImage} (a GKE disk image)."),
    "coldStartBudgetSeconds": KeySpec(
        "integer",
        "Seconds a GPU replica may take to serve on a new node; the policy pack refuses more (advisory in dev).",
        default=DEFAULT_COLD_START_BUDGET,
    ),
    "costSavings": KeySpec(
        "object", "Cost savings: {gkeFreeTier, databases: primary|every-target, spotSystemNodes, publicNodes}."
    ),
}  # fmt: skip

TARGET_KEYS = {"cloud", "region", "name", "project", "subscriptionId"}
_TARGET_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# A GCP target's Cloud SQL instance is `<name>-metadata`, which GCP caps at 40 (components/metadata_db/gcp.py).
GCP_TARGET_NAME_MAX = 31
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,63}$")


def parse_stack_config(
    raw: Mapping[str, Any], stack: str, project: str = PROJECT, today: date | None = None
) -> StackConfig:
    """Validate the engine's config mapping (``project:key`` -> string) into a StackConfig.

    `today` (UTC by default) is the day dated facts are judged on, such as whether the
    Kubernetes version is in standard support; tests pass a fixed day.
    """
    today = today or datetime.now(UTC).date()
    prefix = f"{project}:"
    values: dict[str, Any] = {}
    unknown: list[str] = []  # a receiver's secret key, or a typo (judged once `alerting` is read)
    for full_key, text in raw.items():
        if not full_key.startswith(prefix):
            continue  # provider namespaces (aws:, gcp:, ...) are not ours to judge
        key = full_key[len(prefix) :]
        spec = KEYS.get(key)
        if spec is None:
            unknown.append(key)
            continue
        values[key] = _decode(full_key, spec, text)
    for key, spec in KEYS.items():
        if spec.required and key not in values:
            raise ConfigError(f"{prefix}{key}", f"missing; it is required: {spec.description}")
        if spec.default is not None:
            values.setdefault(key, spec.default)

    env_name = string(f"{prefix}environment", values["environment"])
    if env_name not in PROFILES:
        expected = " or ".join(PROFILES)
        raise ConfigError(f"{prefix}environment", f"unknown environment {env_name!r} (expected {expected})")
    profile = PROFILES[env_name]
    alerting = parse_alerting(f"{prefix}alerting", values.get("alerting"), env_name, unknown, reserved=KEYS)
    for key in unknown:
        if key not in alerting.secret_keys:
            raise ConfigError(f"{prefix}{key}", f"unknown key (known: {', '.join(sorted(KEYS))})")

    days = values.get("noncurrentVersionDays") or profile.noncurrent_version_days
    if days < 1 or days > 3650:
        raise ConfigError(
            f"{prefix}noncurrentVersionDays", f"must be between 1 and 3650 (or 0 for the default), got {days}"
        )

    targets = _targets(f"{prefix}targets", values["targets"])
    target_clouds = [(t.name, t.cloud) for t in targets]
    cluster = parse_cluster(prefix, values, profile.cluster, target_clouds, today)
    placed = [(t.name, t.cloud, t.region) for t in targets]
    teams = parse_teams(f"{prefix}trainingTeams", values.get("trainingTeams"))
    training = parse_training(
        f"{prefix}trainingPools", values.get("trainingPools"), cluster.gpu_pools, target_clouds, teams
    )
    check_gcp_gpu_zones(f"{prefix}targets", placed, (*cluster.gpu_pools, *training.pools), profile.zones)
    dns = parse_dns(f"{prefix}dns", values.get("dns"), profile.dns, [(t.name, t.cloud, t.region) for t in targets])
    pools = cluster.gpu_pools
    promotion = parse_promotion(f"{prefix}promotion", values.get("promotion"), DEFAULT_PROMOTION)
    models = parse_models(f"{prefix}models", values.get("models", []), profile.serving, pools, target_clouds, promotion)
    model_sync = parse_sync(f"{prefix}modelSync", values.get("modelSync"), [t.name for t in targets])
    config = StackConfig(
        project=project,
        stack=stack,
        environment=profile,
        owner=_tag_value(f"{prefix}owner", values["owner"]),
        cost_center=_tag_value(f"{prefix}costCenter", values["costCenter"]),
        targets=targets,
        noncurrent_version_days=days,
        cluster=cluster,
        registry=parse_registry(f"{prefix}registry", values.get("registry", {}), profile.data),
        mirror_images=boolean(f"{prefix}mirrorImages", values.get("mirrorImages", False)),
        database=parse_database(
            f"{prefix}database",
            values.get("database", {}),
            profile.data,
            [(t.name, t.cloud, t.region) for t in targets],
        ),
        models=models,
        dns=dns,
        observability=parse_observability(
            f"{prefix}observability", values.get("observability"), [t.name for t in targets], dns
        ),
        model_sync=model_sync,
        publishing=parse_publishing(
            f"{prefix}modelPublishing",
            values.get("modelPublishing"),
            env_name,
            target_clouds,
            [model_sync.primary] if model_sync is not None else [t.name for t in targets],
        ),
        alerting=alerting,
        eks_access=parse_eks_access(
            f"{prefix}eksAccess",
            values.get("eksAccess"),
            required=profile.name == "prod" and any(t.cloud == "aws" for t in targets),
        ),
        auth=parse_auth(f"{prefix}auth", values.get("auth"), profile.name, [m.name for m in models]),
        gateway=parse_gateway(f"{prefix}gateway", values.get("gateway")),
        audit=parse_audit(f"{prefix}audit", values.get("audit"), profile.name, [t.cloud for t in targets]),
        encryption=parse_encryption(f"{prefix}encryption", values.get("encryption")),
        training=training,
        image_cache=parse_image_cache(f"{prefix}imageCache", values.get("imageCache")),
        cold_start_budget_seconds=integer(
            f"{prefix}coldStartBudgetSeconds", values["coldStartBudgetSeconds"], 30, 3600
        ),
        cost=parse_cost(
            f"{prefix}costSavings",
            values.get("costSavings"),
            profile.cost,
            target_clouds,
            model_sync.primary if model_sync is not None else targets[0].name,
            profile.regional_control_plane,
        ),
    )
    check_zone_names(prefix, [t.name for t in targets], dns, config.observability.record_name)
    return config


def _decode(key: str, spec: KeySpec, text: Any) -> Any:
    """Turn the engine's string into the declared type; YAML scalars may arrive typed."""
    if spec.type == "string":
        return string(key, text)
    if spec.type == "integer":
        if isinstance(text, bool):
            raise ConfigError(key, f"expected an integer, got {text!r}")
        if isinstance(text, int):
            return text
        if isinstance(text, str) and re.fullmatch(r"-?[0-9]+", text.strip()):
            return int(text)
        raise ConfigError(key, f"expected an integer, got {text!r}")
    if spec.type == "boolean":
        if isinstance(text, bool):
            return text
        if isinstance(text, str) and text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ConfigError(key, f"expected true or false, got {text!r}")
    if isinstance(text, str):  # array or object: JSON from the engine
        try:
            return json.loads(text, parse_constant=lambda word: _not_finite(key, word))
        except json.JSONDecodeError:
            raise ConfigError(key, "expected a structured value (a YAML list or map), got a plain string") from None
    return text


def _not_finite(key: str, word: str) -> Any:
    """Python's JSON reader takes NaN and Infinity, which JSON (and the Pulumi CLI) does not: refuse them."""
    raise ConfigError(key, f"holds {word}, which is not a number a stack can use")


def _tag_value(key: str, value: Any) -> str:
    text = string(key, value)
    if not _TAG_VALUE.fullmatch(text):
        raise ConfigError(key, f"{text!r} cannot be a tag on every cloud (1-63 letters, digits, spaces and _.:/=+@-)")
    return text


def _targets(key: str, value: Any) -> tuple[TargetConfig, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, f"expected a list of targets, got {kind(value)}")
    if not value:
        raise ConfigError(key, "must list at least one target")
    targets = tuple(_target(f"{key}[{i}]", item) for i, item in enumerate(value))
    seen: dict[str, int] = {}
    for i, target in enumerate(targets):
        if target.name in seen:
            raise ConfigError(
                f"{key}[{i}].name",
                f"target name {target.name!r} is already used by {key}[{seen[target.name]}]",
            )
        seen[target.name] = i
    return targets


def _target(key: str, item: Any) -> TargetConfig:
    if not isinstance(item, dict):
        raise ConfigError(key, f"expected a map with cloud and region, got {kind(item)}")
    for field in item:
        if field not in TARGET_KEYS:
            raise ConfigError(f"{key}.{field}", f"unknown key (known: {', '.join(sorted(TARGET_KEYS))})")
    if "cloud" not in item:
        raise ConfigError(f"{key}.cloud", "missing; expected one of aws, gcp, azure")
    cloud = string(f"{key}.cloud", item["cloud"])
    if cloud not in CLOUDS:
        raise ConfigError(f"{key}.cloud", f"unknown cloud {cloud!r} (expected one of aws, gcp, azure)")
    if "region" not in item:
        raise ConfigError(f"{key}.region", f"missing; every {cloud} target needs a region")
    region = string(f"{key}.region", item["region"])
    if region not in REGIONS[cloud]:
        raise ConfigError(f"{key}.region", f"unknown {cloud} region {region!r}")

    name = string(f"{key}.name", item.get("name", f"{cloud}-{region}"))
    if not _TARGET_NAME.fullmatch(name):
        raise ConfigError(f"{key}.name", f"{name!r} must be 3-32 lowercase letters, digits or '-'")
    if cloud == "gcp" and len(name) > GCP_TARGET_NAME_MAX:
        raise ConfigError(
            f"{key}.name", f"{name!r}: a gcp target's name has at most {GCP_TARGET_NAME_MAX} characters (Cloud SQL)"
        )

    gcp_project = item.get("project")
    if cloud == "gcp":
        if gcp_project is None:
            raise ConfigError(f"{key}.project", "missing; a gcp target needs its project id")
        gcp_project = string(f"{key}.project", gcp_project)
        if not _GCP_PROJECT.fullmatch(gcp_project):
            raise ConfigError(f"{key}.project", f"{gcp_project!r} is not a valid GCP project id")
    elif gcp_project is not None:
        raise ConfigError(f"{key}.project", f"only gcp targets take a project, not {cloud}")

    subscription = item.get("subscriptionId")
    if subscription is not None:
        if cloud != "azure":
            raise ConfigError(f"{key}.subscriptionId", f"only azure targets take a subscriptionId, not {cloud}")
        subscription = string(f"{key}.subscriptionId", subscription)
        if not _UUID.fullmatch(subscription):
            raise ConfigError(f"{key}.subscriptionId", f"{subscription!r} is not a subscription id (a UUID)")

    return TargetConfig(
        name=name,
        cloud=cloud,
        region=region,
        gcp_project=gcp_project,
        azure_subscription_id=subscription,
    )
