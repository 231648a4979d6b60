"""Price a plan from the shipped price table: per target and in total, at idle and at peak.

Each priced resource type has one rule here that turns the resource's planned inputs into
monthly line items. Node pools are read with the policy pack's pool reader, so the spot rules
and the prices agree on what a pool is. A price the table lacks becomes an unpriced line,
listed in the report and never counted as zero without saying so; so is a resource of a type with
no rule here, unless preflight/cost_coverage.py says why it costs nothing by itself. That holds for
every resource of every graph: one outside any target (a hand-written graph, a stack-wide resource)
is priced at its cloud's default region (the cloud read from its type), with its provider's region
when the graph names one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from components.machine_catalog import CATALOG, gpus_priced_apart
from preflight.cost_coverage import no_charge_reason, unpriced_reason
from preflight.cost_model import STACK_WIDE, Assumptions, CostReport, LineItem, RightSizing, TargetCost
from preflight.cost_opencost import opencost_items
from preflight.cost_telemetry import telemetry_items
from preflight.extended_support import in_extended_support
from preflight.node_pools import NodePool, pools_of
from preflight.plan import FOOTPRINT_TYPE, Plan, PlannedResource
from pricing.credits import GKE_FREE_TIER_LABEL
from pricing.pricer import Pricer, catalog_hourly
from pricing.table import PriceTable, load_price_table

_MACHINES = {(m.cloud, m.name): m for m in CATALOG}
LOAD_BALANCER = "load balancer (the ingress gateway's Service)"
_HEALTH_CHECK_OPTIONS = ("HTTPS", "string matching", "fast interval", "latency measurement")


class TargetPricer(Pricer):
    """One target's prices as the report's line items, at the report's assumptions."""

    def __init__(
        self,
        table: PriceTable,
        assumptions: Assumptions,
        target: str,
        cloud: str,
        region: str,
        today: date | None = None,
    ) -> None:
        super().__init__(table, cloud, region, assumptions.hours_per_month)
        self.assumptions = assumptions
        self.target = target
        self.today = today or datetime.now(UTC).date()  # the day dated prices (extended support) apply to

    def fixed(
        self, resource: PlannedResource, what: str, amount: float | None, key: str, kind: str | None = None
    ) -> LineItem:
        """A line that costs the same at idle and at peak; `kind` names what a resource type would not."""
        if amount is None:
            return self.missing(resource, what, key)
        return LineItem(self.target, kind or resource.type, resource.name, what, amount, amount, amount, amount)

    def missing(self, resource: PlannedResource, what: str, key: str) -> LineItem:
        reason = f"no price for {self.cloud}/{key} in pricing/data/prices.yaml"
        return LineItem(self.target, resource.type, resource.name, what, 0.0, 0.0, 0.0, 0.0, unpriced=reason)

    def unknown(self, resource: PlannedResource) -> LineItem:
        """A resource that may cost something and has no price rule: listed, not counted as zero."""
        what = f"{resource.type} {resource.name}"
        reason = unpriced_reason(resource.type)
        return LineItem(self.target, resource.type, resource.name, what, 0.0, 0.0, 0.0, 0.0, unpriced=reason)


# --- node pools ---------------------------------------------------------------------------------------


def _accelerators_per_node(resource: PlannedResource) -> list[tuple[str, float]]:
    """GKE N1 pools pay for their attached GPUs apart from the machine."""
    node_config = resource.inputs.get("nodeConfig") or {}
    return [(str(a.get("type")), float(a.get("count", 1))) for a in node_config.get("guestAccelerators") or []]


def node_hourly(p: TargetPricer, pool: NodePool, resource: PlannedResource, *, spot: bool) -> tuple[float | None, str]:
    """One node's price per hour (machine, plus attached GPUs on GCP N1), and the key that was missing."""
    machine = pool.machine_types[0] if pool.machine_types else ""
    price = p.hourly("machine", machine, spot=spot)
    if price is None:
        return None, f"machine/{machine or '(no machine type)'}"
    if gpus_priced_apart(pool.cloud, machine):
        for accelerator, count in _accelerators_per_node(resource):
            gpu = p.hourly("accelerator", accelerator, spot=spot)
            if gpu is None:
                return None, f"accelerator/{accelerator}"
            price += gpu * count
    return price, ""


def _pool_items(p: TargetPricer, resource: PlannedResource) -> list[LineItem]:
    items = []
    hours = p.assumptions.hours_per_month
    for pool in pools_of(resource.type, resource.inputs, resource.name):
        capacity = "spot" if pool.spot else "on-demand"
        what = f"pool {pool.name}: {', '.join(pool.machine_types)} x {pool.min_size:g} to {pool.max_size:g} {capacity}"
        on_demand, missing = node_hourly(p, pool, resource, spot=False)
        actual, missing_spot = node_hourly(p, pool, resource, spot=True) if pool.spot else (on_demand, missing)
        if on_demand is None or actual is None:
            items.append(p.missing(resource, what, missing or missing_spot))
            continue
        items.append(
            LineItem(
                p.target,
                resource.type,
                resource.name,
                what,
                idle=actual * pool.min_size * hours,
                peak=actual * pool.max_size * hours,
                on_demand_idle=on_demand * pool.min_size * hours,
                on_demand_peak=on_demand * pool.max_size * hours,
                spot=pool.spot,
                gpu=pool.gpu,
            )
        )
    return items


# --- everything else, one rule per resource type -------------------------------------------------------------


def _control_plane(name: Callable[[PlannedResource], str]) -> Callable[[TargetPricer, PlannedResource], list[LineItem]]:
    """The control-plane fee; at the extended-support rate where the cluster pays for it on the day priced."""

    def rule(p: TargetPricer, resource: PlannedResource) -> list[LineItem]:
        extended = in_extended_support(resource.type, resource.inputs, p.today)
        key = name(resource)
        fee = p.monthly("control-plane", key)
        if extended is not None:
            _, kind, extended_key = extended.support.price.split("/")
            what = f"control plane ({extended_key}): {extended.describe()}"
            # GKE's credit still pays the standard fee; the extended-support surcharge is another SKU it skips.
            line = p.fixed(resource, what, p.monthly(kind, extended_key), f"{kind}/{extended_key}")
            return [line, *_free_tier(p, resource, fee)]
        return [p.fixed(resource, f"control plane ({key})", fee, f"control-plane/{key}"), *_free_tier(p, resource, fee)]

    return rule


def _free_tier(p: TargetPricer, resource: PlannedResource, fee: float | None) -> list[LineItem]:
    """GKE's free tier credit, where the stack declares it for this zonal cluster (its GKE_FREE_TIER_LABEL): it pays
    the standard fee up to the credit. A regional cluster's fee and the extended-support surcharge take none."""
    label, value = GKE_FREE_TIER_LABEL
    if resource.type != _GKE or (resource.inputs.get("resourceLabels") or {}).get(label) != value or fee is None:
        return []
    if _regional(resource):
        return []
    credit = p.monthly("credit", "gke-free-tier")
    amount = None if credit is None else -min(credit, fee)
    what = "GKE free tier credit (declared: mlplatform:costSavings)"
    return [p.fixed(resource, what, amount, "credit/gke-free-tier")]


_GKE = "gcp:container/cluster:Cluster"


def _regional(resource: PlannedResource) -> bool:
    """A GKE cluster is zonal where its location is a zone (us-central1-a), regional where it is a region."""
    location = str(resource.inputs.get("location", ""))
    return location.count("-") < 2


def _aks_tier(resource: PlannedResource) -> str:
    return f"aks-{str((resource.inputs.get('sku') or {}).get('tier') or 'Free').lower()}"


@dataclass(frozen=True)
class _NatContext:
    """What a target's NAT charge depends on besides the gateway: how many share the data, how many nodes use them
    (Cloud NAT bills per VM-hour up to its cap), and whether an S3 gateway endpoint carries the model pulls."""

    gateways: int
    nodes_idle: float = 0.0
    nodes_peak: float = 0.0
    s3_gateway: bool = False
    public_nodes: bool = False
    """AWS: node subnets hand out public IPv4 addresses (mlplatform:costSavings.publicNodes): one per node."""


def _nat(p: TargetPricer, resource: PlannedResource, nat: _NatContext) -> list[LineItem]:
    gb = p.assumptions.nat_data_gb - (p.assumptions.nat_model_gb if nat.s3_gateway else 0.0)
    data = p.monthly("nat-gateway", "data", gb / max(nat.gateways, 1))
    bypass = f"; {p.assumptions.nat_model_gb:g} GB of model pulls through the S3 gateway endpoint"
    bypass = bypass if nat.s3_gateway else ""
    what = f"NAT gateway and the {gb / max(nat.gateways, 1):g} GB it processes{bypass}"
    per_vm = p.hourly("nat-gateway", "vm-hour")
    if p.cloud != "gcp" or per_vm is None:
        hourly = p.monthly("nat-gateway", "hour")
        total = None if hourly is None or data is None else hourly + data
        return [p.fixed(resource, what, total, "nat-gateway/hour")]
    # Cloud NAT: per VM-hour for the VMs using the gateway, capped at the per-gateway figure (gcp-nat).
    cap = p.hourly("nat-gateway", "hour")
    if cap is None or data is None:
        return [p.missing(resource, what, "nat-gateway/hour")]
    hours = p.assumptions.hours_per_month
    idle = min(per_vm * nat.nodes_idle / max(nat.gateways, 1), cap) * hours + data
    peak = min(per_vm * nat.nodes_peak / max(nat.gateways, 1), cap) * hours + data
    what = f"{what} ({nat.nodes_idle:g} to {nat.nodes_peak:g} VMs)"
    return [LineItem(p.target, resource.type, resource.name, what, idle, peak, idle, peak)]


def _nat_context(members: list[PlannedResource]) -> _NatContext:
    pools = [pool for r in members for pool in pools_of(r.type, r.inputs, r.name)]
    s3 = any(
        r.type == "aws:ec2/vpcEndpoint:VpcEndpoint"
        and r.inputs.get("vpcEndpointType") == "Gateway"
        and str(r.inputs.get("serviceName", "")).endswith(".s3")
        for r in members
    )
    return _NatContext(
        gateways=sum(1 for r in members if r.type in _NAT_TYPES),
        nodes_idle=sum(pool.min_size for pool in pools),
        nodes_peak=sum(pool.max_size for pool in pools),
        s3_gateway=s3,
        public_nodes=any(r.type == "aws:ec2/subnet:Subnet" and r.inputs.get("mapPublicIpOnLaunch") for r in members),
    )


def _node_addresses(p: TargetPricer, footprint: PlannedResource, nat: _NatContext) -> list[LineItem]:
    """Public nodes pay for their own public IPv4 address, idle and peak as their pools scale."""
    if not nat.public_nodes:
        return []
    hourly = p.hourly("public-ipv4", "address")
    what = f"public IPv4 address per node ({nat.nodes_idle:g} to {nat.nodes_peak:g} nodes)"
    if hourly is None:
        return [p.missing(footprint, what, "public-ipv4/address")]
    hours = p.assumptions.hours_per_month
    idle, peak = hourly * nat.nodes_idle * hours, hourly * nat.nodes_peak * hours
    return [LineItem(p.target, "aws:ec2/subnet:Subnet", footprint.name, what, idle, peak, idle, peak)]


def _load_balancer(p: TargetPricer, resource: PlannedResource) -> list[LineItem]:
    """The Istio ingress gateway's Service of type LoadBalancer: one L4 load balancer per cluster."""
    if resource.inputs.get("chart") != "gateway":
        return []
    if p.cloud == "aws":
        base = p.monthly("load-balancer", "nlb")
        units = p.monthly("load-balancer", "nlb-lcu", p.assumptions.load_balancer_capacity_units)
        total = None if base is None or units is None else base + units
        return [p.fixed(resource, "network load balancer (ingress gateway)", total, "load-balancer/nlb", LOAD_BALANCER)]
    key = "forwarding-rule" if p.cloud == "gcp" else "standard"
    amount = p.monthly("load-balancer", key)
    return [p.fixed(resource, "load balancer (ingress gateway)", amount, f"load-balancer/{key}", LOAD_BALANCER)]


@dataclass(frozen=True)
class _Database:
    """Where one cloud's PostgreSQL resource keeps what is priced, and how its compute is priced."""

    label: str  # before the tier in the line: "Cloud SQL db-custom-2-7680"
    tier: tuple[str, ...]  # input path of the instance class, SKU or tier
    ha: tuple[str, ...]  # input path of the setting that adds a standby (priced as a second copy)
    ha_values: frozenset[object]  # its values that mean a standby
    ha_word: str
    storage: tuple[str, ...]  # input path of the storage size in GB
    default_storage_gb: float  # the provider's default when the input is not set
    storage_key: str  # the database-storage price
    compute: Callable[[str], list[tuple[str, float]] | None]  # tier -> (database price, quantity); None: unknown


def _per_instance(tier: str) -> list[tuple[str, float]]:
    """Priced per instance by its class or SKU (RDS, Flexible Server)."""
    return [(tier, 1)]


def _custom_machine(tier: str) -> list[tuple[str, float]] | None:
    """Cloud SQL's db-custom-<vCPUs>-<MiB> tiers, priced per vCPU and per GB of memory."""
    parts = tier.split("-")
    if len(parts) != 4 or parts[:2] != ["db", "custom"]:
        return None
    return [("vcpu", float(parts[2])), ("memory-gb", float(parts[3]) / 1024)]


_DATABASES: dict[str, _Database] = {
    "aws:rds/instance:Instance": _Database(
        label="",
        tier=("instanceClass",),
        ha=("multiAz",),
        ha_values=frozenset({True}),
        ha_word=" Multi-AZ",
        storage=("allocatedStorage",),
        default_storage_gb=20,
        storage_key="gp3",
        compute=_per_instance,
    ),
    "gcp:sql/databaseInstance:DatabaseInstance": _Database(
        label="Cloud SQL ",
        tier=("settings", "tier"),
        ha=("settings", "availabilityType"),
        ha_values=frozenset({"REGIONAL"}),
        ha_word=" HA",
        storage=("settings", "diskSize"),
        default_storage_gb=10,
        storage_key="ssd",
        compute=_custom_machine,
    ),
    "azure-native:dbforpostgresql:Server": _Database(
        label="Flexible Server ",
        tier=("sku", "name"),
        ha=("highAvailability", "mode"),
        ha_values=frozenset({"ZoneRedundant", "SameZone"}),
        ha_word=" HA",
        storage=("storage", "storageSizeGB"),
        default_storage_gb=32,
        storage_key="premium-ssd",
        compute=_per_instance,
    ),
}


def _input(inputs: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = inputs
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _database(p: TargetPricer, resource: PlannedResource) -> list[LineItem]:
    """Compute and storage, twice with a standby (Multi-AZ, REGIONAL, zone-redundant or same-zone HA)."""
    shape = _DATABASES[resource.type]
    tier = str(_input(resource.inputs, shape.tier))
    compute = shape.compute(tier)
    if compute is None:
        return [p.missing(resource, f"{shape.label}{tier}", f"database/{tier}")]
    copies = 2 if _input(resource.inputs, shape.ha) in shape.ha_values else 1
    size = float(_input(resource.inputs, shape.storage) or shape.default_storage_gb)
    amounts = [p.monthly("database", key, quantity * copies) for key, quantity in compute]
    amounts.append(p.monthly("database-storage", shape.storage_key, size * copies))
    total = None if None in amounts else sum(amount for amount in amounts if amount is not None)
    what = f"{shape.label}{tier}{shape.ha_word if copies == 2 else ''}, {size:g} GB"
    return [p.fixed(resource, what, total, f"database/{compute[0][0]}")]


def _bucket(key: Callable[[PlannedResource], str]) -> Callable[[TargetPricer, PlannedResource], list[LineItem]]:
    def rule(p: TargetPricer, resource: PlannedResource) -> list[LineItem]:
        name = key(resource)
        amount = p.monthly("object-storage", name, p.assumptions.model_storage_gb)
        what = f"{p.assumptions.model_storage_gb:g} GB of models ({name})"
        return [p.fixed(resource, what, amount, f"object-storage/{name}")]

    return rule


def _blob_class(resource: PlannedResource) -> str:
    redundancy = str((resource.inputs.get("sku") or {}).get("name", "")).removeprefix("Standard_").lower()
    return f"blob-hot-{redundancy}"


def _registry_storage(name: str) -> Callable[[TargetPricer, PlannedResource], list[LineItem]]:
    def rule(p: TargetPricer, resource: PlannedResource) -> list[LineItem]:
        amount = p.monthly("registry", name, p.assumptions.registry_storage_gb)
        return [p.fixed(resource, f"{p.assumptions.registry_storage_gb:g} GB of images", amount, f"registry/{name}")]

    return rule


def _acr(p: TargetPricer, resource: PlannedResource) -> list[LineItem]:
    key = f"acr-{str((resource.inputs.get('sku') or {}).get('name', 'Basic')).lower()}"
    return [p.fixed(resource, f"registry tier ({key})", p.monthly("registry", key), f"registry/{key}")]


def _health_check(p: TargetPricer, resource: PlannedResource, endpoint_cloud: str) -> list[LineItem]:
    inputs = resource.inputs
    options = [
        str(inputs.get("type", "")).startswith("HTTPS"),
        str(inputs.get("type", "")).endswith("STR_MATCH"),
        inputs.get("requestInterval") == 10,
        bool(inputs.get("measureLatency")),
    ]
    where = "aws" if endpoint_cloud == "aws" else "non-aws"
    base = p.monthly("dns", f"health-check-{where}", cloud="aws")
    extra = p.monthly("dns", f"health-check-option-{where}", sum(options), cloud="aws")
    total = None if base is None or extra is None else base + extra
    chosen = [name for name, on in zip(_HEALTH_CHECK_OPTIONS, options, strict=True) if on]
    endpoint = "an AWS" if where == "aws" else "a non-AWS"
    what = f"health check of {endpoint} endpoint + {', '.join(chosen) or 'no options'}"
    return [p.fixed(resource, what, total, f"dns/health-check-{where}")]


_RULES: dict[str, Callable[[TargetPricer, PlannedResource], list[LineItem]]] = {
    "eks:index:Cluster": _control_plane(lambda _: "eks"),
    "gcp:container/cluster:Cluster": _control_plane(lambda _: "gke"),
    "azure-native:containerservice:ManagedCluster": _control_plane(_aks_tier),
    "kubernetes:helm.sh/v3:Release": _load_balancer,
    **dict.fromkeys(_DATABASES, _database),
    "aws:s3/bucket:Bucket": _bucket(lambda _: "s3-standard"),
    "gcp:storage/bucket:Bucket": _bucket(lambda _: "standard-regional"),
    "azure-native:storage:StorageAccount": _bucket(_blob_class),
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": _registry_storage("ecr"),
    "gcp:artifactregistry/repository:Repository": _registry_storage("artifact-registry"),
    "azure-native:containerregistry:Registry": _acr,
    "aws:kms/key:Key": lambda p, r: [p.fixed(r, "KMS key", p.monthly("kms", "key"), "kms/key")],
    "gcp:kms/cryptoKey:CryptoKey": lambda p, r: [
        p.fixed(r, "Cloud KMS key version", p.monthly("kms", "key"), "kms/key")
    ],
    "aws:ec2/eip:Eip": lambda p, r: [
        p.fixed(r, "public IPv4 address", p.monthly("public-ipv4", "address"), "public-ipv4/address")
    ],
    "azure-native:privatedns:PrivateZone": lambda p, r: [
        p.fixed(r, "private DNS zone", p.monthly("dns", "private-zone"), "dns/private-zone")
    ],
}


# --- the whole plan -------------------------------------------------------------------------------------------


def price_plan(
    plan: Plan, table: PriceTable | None = None, assumptions: Assumptions | None = None, today: date | None = None
) -> CostReport:
    """`today` (UTC by default) decides which clusters are in paid extended Kubernetes support."""
    table = table or load_price_table()
    assumptions = assumptions or Assumptions(hours_per_month=table.hours_per_month)
    footprints = {r.name: r for r in plan.of_type(FOOTPRINT_TYPE)}
    groups = plan.by_target()
    targets = []
    for name in sorted(n for n in groups if n is not None):
        cloud = str(footprints[name].inputs.get("cloud"))
        region = str(footprints[name].inputs.get("region"))
        pricer = TargetPricer(table, assumptions, name, cloud, region, today)
        items = _target_items(plan, pricer, groups[name])
        targets.append(TargetCost(name, cloud, region, tuple(items), tuple(sorted(pricer.at_default_region))))
    pricers = _StackWidePricers(plan, table, assumptions, today)
    shared = _stack_wide_items(plan, pricers, footprints, groups.get(None, []))
    if shared:
        targets.append(TargetCost(STACK_WIDE, "aws", "global", tuple(shared), pricers.estimated_regions()))
    return CostReport(
        project=plan.project,
        stack=plan.stack,
        currency=table.currency,
        prices_read=table.sources_read(),
        assumptions=assumptions,
        targets=tuple(targets),
        right_sizing=tuple(right_size(plan, table, assumptions)),
    )


_NAT_TYPES = ("aws:ec2/natGateway:NatGateway", "gcp:compute/routerNat:RouterNat")


def _resource_items(p: TargetPricer, resource: PlannedResource, nat: _NatContext) -> list[LineItem]:
    """A resource's lines: by its type's rule, as node pools, or one unpriced line when it may cost something."""
    if resource.type in _NAT_TYPES:
        return _nat(p, resource, nat)
    items = _RULES[resource.type](p, resource) if resource.type in _RULES else []
    items += _pool_items(p, resource)
    if items or resource.type in _RULES or no_charge_reason(resource.type, resource.inputs) is not None:
        return items
    if not resource.custom:
        return []  # a component: its children are priced one by one
    return [p.unknown(resource)]


def _target_items(plan: Plan, p: TargetPricer, members: list[PlannedResource]) -> list[LineItem]:
    items: list[LineItem] = []
    nat = _nat_context(members)
    for resource in members:
        items += _resource_items(p, resource, nat)
    footprint = next(r for r in members if r.type == FOOTPRINT_TYPE)
    items += _node_addresses(p, footprint, nat)
    items += telemetry_items(p, members)  # logs and traces (preflight/cost_telemetry.py)
    items += opencost_items(p, members)  # OpenCost's pod (preflight/cost_opencost.py)
    egress = p.monthly("egress", "internet", p.assumptions.egress_gb)
    what = f"{p.assumptions.egress_gb:g} GB internet egress"
    items.append(p.fixed(footprint, what, egress, "egress/internet", "internet egress (assumed traffic)"))
    return items


# The cloud a resource type belongs to, by its provider package (eks: pulumi-eks, on AWS).
_TYPE_CLOUDS = {"aws": "aws", "eks": "aws", "gcp": "gcp", "azure-native": "azure"}


class _StackWidePricers:
    """Pricers for resources outside any target: per cloud (from the type) and region (from the provider)."""

    def __init__(self, plan: Plan, table: PriceTable, assumptions: Assumptions, today: date | None) -> None:
        self.plan, self.table, self.assumptions, self.today = plan, table, assumptions, today
        self.pricers: dict[tuple[str, str], TargetPricer] = {}

    def for_resource(self, resource: PlannedResource) -> TargetPricer:
        cloud = _TYPE_CLOUDS.get(resource.type.split(":", 1)[0], "aws")
        return self.at(cloud, _provider_region(self.plan, resource) or self.table.default_regions.get(cloud, ""))

    def at(self, cloud: str, region: str) -> TargetPricer:
        key = (cloud, region)
        if key not in self.pricers:
            self.pricers[key] = TargetPricer(self.table, self.assumptions, STACK_WIDE, cloud, region, self.today)
        return self.pricers[key]

    def estimated_regions(self) -> tuple[str, ...]:
        return tuple(sorted({key for p in self.pricers.values() for key in p.at_default_region}))


def _provider_region(plan: Plan, resource: PlannedResource) -> str | None:
    """The region the resource's provider names (aws region, gcp region, azure location), if the graph has it."""
    reference = resource.provider or ""
    # A provider reference is its URN, or `URN::id` as the engine writes it.
    provider = plan.get(reference) or plan.get(reference.rsplit("::", 1)[0]) if reference else None
    if provider is None:
        return None
    region = provider.inputs.get("region") or provider.inputs.get("location")
    return str(region) if region else None


def _stack_wide_items(
    plan: Plan, pricers: _StackWidePricers, footprints: Mapping[str, PlannedResource], members: list[PlannedResource]
) -> list[LineItem]:
    items: list[LineItem] = []
    records = []
    p = pricers.at("aws", pricers.table.default_regions.get("aws", "us-east-1"))  # Route 53 is global
    nat = _nat_context(members)
    for resource in members:
        if resource.type == "aws:route53/healthCheck:HealthCheck":
            items += _health_check(p, resource, _endpoint_cloud(plan, resource, footprints))
        elif resource.type == "aws:route53/zone:Zone":
            items.append(p.fixed(resource, "hosted zone", p.monthly("dns", "hosted-zone"), "dns/hosted-zone"))
        elif resource.type == "aws:route53/record:Record":
            records.append(resource)
        else:
            items += _resource_items(pricers.for_resource(resource), resource, nat)
    routed = [r for r in records if r.inputs.get("setIdentifier")]
    if routed:
        kind = _query_kind(routed[0].inputs)
        queries = p.monthly("dns", f"queries-{kind}", p.assumptions.dns_queries_millions)
        what = f"{p.assumptions.dns_queries_millions:g} million {kind} DNS queries"
        items.append(p.fixed(routed[0], what, queries, f"dns/queries-{kind}"))
    return items


def _query_kind(inputs: Mapping[str, Any]) -> str:
    if inputs.get("latencyRoutingPolicies"):
        return "latency"
    if inputs.get("geolocationRoutingPolicies"):
        return "geo"
    return "standard"


def _endpoint_cloud(plan: Plan, check: PlannedResource, footprints: Mapping[str, PlannedResource]) -> str:
    """The cloud of the target a health check probes (via what it depends on); unknown counts as non-AWS."""
    for dependency in check.dependencies:
        other = plan.get(dependency)
        target = plan.target_of(other) if other else None
        if target is not None and target in footprints:
            return str(footprints[target].inputs.get("cloud"))
    return "unknown"


# --- right-sizing ------------------------------------------------------------------------------------------------


def right_size(plan: Plan, table: PriceTable, assumptions: Assumptions) -> list[RightSizing]:
    """For each GPU pool, the cheapest catalogued machine with the same accelerator and GPU count, if cheaper."""
    findings = []
    footprints = {r.name: r for r in plan.of_type(FOOTPRINT_TYPE)}
    for resource in plan.resources:
        target = plan.target_of(resource)
        if target is None or target not in footprints:
            continue
        cloud, region = str(footprints[target].inputs["cloud"]), str(footprints[target].inputs["region"])
        p = TargetPricer(table, assumptions, target, cloud, region)
        for pool in pools_of(resource.type, resource.inputs, resource.name):
            finding = _cheaper_machine(p, pool)
            if finding:
                findings.append(finding)
    return findings


def _cheaper_machine(p: TargetPricer, pool: NodePool) -> RightSizing | None:
    current = _MACHINES.get((pool.cloud, pool.machine_types[0])) if pool.gpu and pool.machine_types else None
    price = catalog_hourly(p, current, spot=pool.spot) if current else None
    if current is None or price is None:
        return None
    shape = (current.cloud, current.accelerator, current.gpus)
    same_gpus = [c for c in CATALOG if (c.cloud, c.accelerator, c.gpus) == shape]
    alternatives = [
        (candidate_price, candidate)
        for candidate in same_gpus
        if (candidate_price := catalog_hourly(p, candidate, spot=pool.spot)) is not None and candidate_price < price
    ]
    if not alternatives:
        return None
    cheaper_price, cheaper = min(alternatives, key=lambda pair: pair[0])
    hours = p.assumptions.hours_per_month
    return RightSizing(
        target=p.target,
        pool=pool.name,
        machine_type=current.name,
        cheaper=cheaper.name,
        accelerator=f"{current.gpus} x {current.accelerator}",
        detail=(
            f"{current.name}: {current.vcpus} vCPU, {current.memory_gib:g} GiB; "
            f"{cheaper.name}: {cheaper.vcpus} vCPU, {cheaper.memory_gib:g} GiB"
        ),
        saving_idle=(price - cheaper_price) * pool.min_size * hours,
        saving_peak=(price - cheaper_price) * pool.max_size * hours,
    )
