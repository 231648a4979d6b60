"""The ServingStack contract: in-cluster and cloud-neutral, one per footprint.

Only the model reader's identity differs per cloud (identity_<cloud>.py): the Kubernetes
service account's annotation or label, and the cloud-side grant that may only read the
footprint's bucket.

The data types every module of the component shares live here, and only here: this module creates no
resource and imports none of the component's other modules, so they never import each other in a circle
(and `typing.get_type_hints(ServingStackArgs)` resolves every field).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.gpu_cluster.contract import WorkloadIdentity
from components.rclone import Remote
from components.target import Target

NAMESPACE = "serving"
SERVICE_ACCOUNT = "triton"
HEALTH_PATH = "/v2/health/ready"  # Triton's readiness endpoint, served through the gateway
VERSION_HEADER = "x-model-version"  # ab and blueGreen routing: a caller asks for one served version by name
READER_REMOTE = "models"  # the rclone remote of the footprint's bucket in the model pods (an environment-safe name)
TLS_SECRET_NAME = "global-host-tls"  # the Gateway's credentialName; cert-manager writes the certificate there (tls.py)

_HOST = re.compile(r"^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class ModelVersion:
    """One served version of a model: its own Deployment and a share of the traffic."""

    name: str  # a DNS label, e.g. "v1"
    path: str  # the model repository under the bucket's serving_uri, e.g. "fraud-detection/v1"
    weight: int  # percent of the model's traffic; a model's versions add up to 100


@dataclass(frozen=True)
class ModelSpec:
    name: str  # a DNS label, also the Triton model name
    versions: tuple[ModelVersion, ...]  # the first is stable, a second one the canary
    accelerator: str  # the GPU pools it runs on (their mlplatform.io/accelerator label)
    gpus_per_replica: int = 1
    min_replicas: int = 1  # per version
    max_replicas: int = 4  # per version
    on_demand_floor: int = 0  # stable replicas that always run on on-demand GPU nodes
    team: str = "ml"  # whose cost it is: the pods' mlplatform.io/team label (components/observability/rules/cost.yaml)
    cold_start_seconds: int | None = None
    """How long a replica takes to serve on a new GPU node of this target (components/cold_start.py); None: not
    worked out. Written on the model's Deployments, where the policy pack judges it against the budget."""
    new_node_seconds: int | None = None
    """With warm spares, cold_start_seconds is on a spare; this is a replica's start on a new node (a first rollout's
    wait, preflight timeline). None: no spares, cold_start_seconds is already on a new node."""
    routing: str = "canary"
    """canary: by weight only; ab and blueGreen: also by the caller's VERSION_HEADER (traffic.py); blueGreen's
    weights are 0 or 100 (stacks/promotion_config.py checks it)."""

    @property
    def stable(self) -> ModelVersion:
        return self.versions[0]

    @property
    def canary(self) -> ModelVersion | None:
        return self.versions[1] if len(self.versions) > 1 else None


@dataclass(frozen=True)
class WarmSpare:
    """Spot nodes of one GPU pool kept Ready and holding the Triton image (warm_spares.py): `count` placeholder pods,
    each taking a node's GPU at a priority below every model pod's, so a replica preempts one and starts at once."""

    pool: str  # the pool's mlplatform.io/pool label
    accelerator: str
    count: int
    gpus_per_node: int = 1


@dataclass(frozen=True)
class BucketAccess:
    """The footprint's ModelBucket, as the model reader's grant needs it."""

    serving_uri: pulumi.Output[str]  # s3://B, gs://B, as://A/C
    bucket_name: pulumi.Output[str]  # S3/GCS bucket, Azure container
    resource_id: pulumi.Output[str]  # S3 ARN, GCS bucket, Azure storage account id
    encryption_key_arn: pulumi.Output[str] | None = None  # AWS: the bucket's KMS key (kms:Decrypt)


@dataclass(frozen=True)
class HttpsServer:
    """The gateway's HTTPS server: the certificate's names and the Secret (in the gateway's namespace) holding it."""

    hosts: tuple[str, ...]
    credential_name: str


@dataclass(frozen=True)
class TlsSettings:
    """HTTPS on a ServingStack's gateway (the field `tls` of ServingStackArgs).

    The certificate itself is issued by `tls.issue_certificate`, after GlobalDns has its zone and the DNS
    account's role; the Gateway only needs the names and the Secret's name, both known up front.
    """

    hosts: tuple[str, ...]  # the names the certificate carries: the global host, e.g. api.ml.example.com

    def __post_init__(self) -> None:
        check_hosts(self.hosts)

    @property
    def server(self) -> HttpsServer:
        """What traffic.gateway needs for its HTTPS server."""
        return HttpsServer(hosts=self.hosts, credential_name=TLS_SECRET_NAME)


def check_hosts(hosts: Sequence[str]) -> None:
    if not hosts:
        raise ValueError("TLS needs at least one host name")
    for host in hosts:
        if not _HOST.match(host):
            raise ValueError(f"TLS host {host!r}: not a lowercase DNS name")


@dataclass(frozen=True)
class JwtIssuer:
    """An identity provider the gateway trusts: tokens signed with a key from `jwks_uri`, for one of `audiences`."""

    issuer: str
    jwks_uri: str
    audiences: tuple[str, ...]


CALLER_HEADER = "x-mlplatform-caller"  # RequestAuthentication's outputClaimToHeaders target for the caller claim


@dataclass(frozen=True)
class CallerRateLimit:
    """A token bucket per caller at each gateway pod: `burst` requests at once, refilled at `requests_per_second`
    (may be fractional, as mlplatform:auth allows). ratelimit.py turns it into Envoy's local rate limit."""

    requests_per_second: float
    burst: int
    caller_header: str = CALLER_HEADER

    def __post_init__(self) -> None:
        if not self.requests_per_second > 0 or self.burst <= 0:
            raise ValueError(f"rate limit needs positive requestsPerSecond and burst, got {self}")

    @property
    def tokens_per_fill(self) -> int:
        """Whole tokens per refill (Envoy's field is an integer): the rate rounded, at least one."""
        return max(1, round(self.requests_per_second))

    @property
    def fill_interval_ms(self) -> int:
        """The refill period that makes tokens_per_fill a refill of exactly the configured rate (2.5/s: 2 per
        800 ms; 0.5/s: 1 per 2000 ms). About a second or more for any rate, above Envoy's 50 ms floor."""
        return round(self.tokens_per_fill / self.requests_per_second * 1000)

    @property
    def retry_after_seconds(self) -> int:
        """A refused caller has tokens again at the next refill, at most one interval away."""
        return max(1, math.ceil(self.fill_interval_ms / 1000))


@dataclass(frozen=True)
class ModelCallers:
    """Who may call one model: a verified token with any listed subject, group or scope (none listed: nobody).
    `rate_limit`: the model's own per-caller bucket, in place of the stack's (None: the stack's)."""

    model: str
    subjects: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    rate_limit: CallerRateLimit | None = None


MIB = 1024 * 1024
MAX_HEADERS_KIB = 8192  # Envoy's ceiling for max_request_headers_kb
MAX_BODY_BYTES = 2**32 - 1  # the buffer filter's max_request_bytes is a uint32


@dataclass(frozen=True)
class RequestLimits:
    """What one request may carry through the gateway (the field `request_limits` of ServingStackArgs;
    request_limits.py): a body over `max_body_bytes` gets 413, headers over `max_headers_kib` get 431, before
    anything reaches a model. Defaults sized for KServe V2 JSON: 16 MiB carries a batch of eight 224x224x3 FP32
    images as JSON numbers (about 1.8 MB each); 32 KiB of headers carries any identity provider's token."""

    max_body_bytes: int = 16 * MIB
    max_headers_kib: int = 32

    def __post_init__(self) -> None:
        if not 0 < self.max_body_bytes <= MAX_BODY_BYTES:
            raise ValueError(f"max_body_bytes must be in 1..{MAX_BODY_BYTES}, got {self.max_body_bytes}")
        if not 0 < self.max_headers_kib <= MAX_HEADERS_KIB:
            raise ValueError(f"max_headers_kib must be in 1..{MAX_HEADERS_KIB}, got {self.max_headers_kib}")


@dataclass(frozen=True)
class GatewayAuth:
    """Authentication and authorisation at the ingress gateway (the field `auth` of ServingStackArgs; gateway_auth.py).

    Every request needs a token from one of `issuers` that a model's `callers` entry admits, except the health
    path and the `open_hosts` (hosts guarded by a check of their own, such as the central metrics host)."""

    issuers: tuple[JwtIssuer, ...]
    callers: tuple[ModelCallers, ...]
    caller_claim: str = "sub"
    claim_header: str = CALLER_HEADER  # the verified `caller_claim`, for the per-caller rate limit
    groups_claim: str = "groups"
    scopes_claim: str = "scope"
    open_hosts: tuple[str, ...] = ()
    rate_limit: CallerRateLimit | None = None  # None: no per-caller limit at the gateway

    def __post_init__(self) -> None:
        if not self.issuers:
            raise ValueError("gateway authentication needs at least one issuer")
        for issuer in self.issuers:
            if not issuer.audiences:
                raise ValueError(f"issuer {issuer.issuer}: at least one audience is needed")


@dataclass(frozen=True)
class ServingStackArgs:
    target: Target
    k8s_provider: k8s.Provider
    cluster_name: pulumi.Output[str]
    identity: WorkloadIdentity
    bucket: BucketAccess
    models: tuple[ModelSpec, ...]
    triton_image: str | None = None
    """None: the pinned default in triton.py."""
    image_mirrors: Mapping[str, pulumi.Output[str] | str] = field(default_factory=dict)
    """Upstream registry host -> pull-through prefix in the footprint's registry (`mlplatform:mirrorImages`): the
    stack's own images and its charts' images from a mirrored upstream are pulled through it (components/images.py)."""
    needs_device_plugin: bool = False
    """EKS's AL2023 NVIDIA AMI and AKS's GPU nodes have the driver but not the Kubernetes device
    plugin (AWS: "Install Kubernetes device plugin for GPUs"; AKS: "Use GPUs on AKS"); GKE deploys its own."""
    drain_seconds: int = 60
    """How long a stopping pod keeps serving in-flight requests before it is killed."""
    tls: TlsSettings | None = None
    """HTTPS for the global host on the gateway (with GlobalDns); the certificate is issued after it."""
    auth: GatewayAuth | None = None
    """Who may call which model through the gateway; None: anyone (dev only: the policy pack refuses it in prod)."""
    request_limits: RequestLimits = field(default_factory=RequestLimits)
    """Body and header size ceilings at the gateway, with or without auth."""
    monitoring_values: Mapping[str, Any] = field(default_factory=dict)
    """kube-prometheus-stack values merged over addons.monitoring_values: what the footprint's observability needs
    (external labels, remote write, Grafana on the central footprint; components/observability/values.py)."""
    model_public_key: str | None = None
    """The publishers' Ed25519 public key (base64): a pod loads a version only if its manifest's signature verifies
    (triton.py, verify-model). None: no signature check (dev without `mlplatform:modelPublishing`)."""
    cold_start_budget_seconds: int | None = None
    """The stack's cold-start budget (`mlplatform:coldStartBudgetSeconds`), written beside each model's figure."""
    triton_backends: tuple[str, ...] | None = None
    """The only Triton backends the model pods may load (triton.py, --backend-directory); None: every backend the
    image ships, the Python backend included."""
    warm_spares: tuple[WarmSpare, ...] = ()
    """Warm spare nodes per spot GPU pool on this target (`warmSpares`); empty: none, no PriorityClass either."""
    mesh_config: Mapping[str, Any] = field(default_factory=dict)
    """istiod `meshConfig` keys merged over addons.istiod_values': the footprint's tracing and access-log providers
    (components/observability/mesh_tracing.py)."""
    triton_trace_args: tuple[str, ...] = ()
    """Triton's --trace-config flags (components/observability/mesh_tracing.py); empty: Triton traces nothing."""


@dataclass(frozen=True)
class ReaderIdentity:
    """What identity_<cloud>.py hands the model server: how its pods become the bucket reader."""

    remote: pulumi.Output[Remote]
    """The footprint's bucket as rclone reads it with this identity (remote READER_REMOTE): the pods' init step
    waits there for a version's marker before Triton loads it (triton.py)."""
    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment the model server needs to use the identity (e.g. AWS_REGION)."""
    resources: list[pulumi.Resource] = field(default_factory=list)
    """Cloud-side resources the pods should wait for (the role, the binding)."""


@dataclass(frozen=True)
class Addons:
    """What addons.py installed, as the model workloads need it."""

    gateway_address: pulumi.Output[str]
    gateway_namespace: str  # where the Istio ingress gateway runs (allowed in by the NetworkPolicy)
    gateway_selector: dict[str, str]  # the labels an Istio Gateway uses to select that gateway's pods
    monitoring_namespace: str  # where Prometheus runs (allowed to scrape port 8002)
    prometheus_url: str  # in-cluster URL KEDA queries, e.g. http://...svc:9090
    pod_monitor_labels: dict[str, str]  # labels a PodMonitor needs for this Prometheus to select it
    ready: list[pulumi.Resource] = field(default_factory=list)
    """Releases that bring the CRDs and webhooks the model objects need: wait for them."""
