"""Prerequisites: what must be true of the account before `pulumi up`, read from the plan's resources.

- GCP: every API the plan's resource types call, and whether the program enables it (a gcp.projects.Service
  in the plan for that project) or the project must already have it on.
- Azure: the resource providers the plan's resource types belong to. The program registers none of them.
- AWS: the service-linked roles EKS, its managed node groups, Auto Scaling, spot, load balancers and RDS use.
- The Route 53 hosted zone the records go into, unless the program creates it (dns.createZone).
- The Kubernetes API's allowed networks: documentation ranges (RFC 5737) mean no real address can reach it.
- Each cluster's Kubernetes minor in standard support (components/data/kubernetes_support.yaml).
- GPU machine types offered in the zones a GKE cluster's nodes go to (components/gpu_cluster/gcp_zones.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import date

from components import machine_catalog
from components.gpu_cluster import gcp_zones
from components.kubernetes_support import load_support_table
from preflight.doctor.findings import OFFLINE, STACK_WIDE, Finding, Verdict
from preflight.doctor.targets import TargetInfo, targets_of
from preflight.node_pools import pools_of
from preflight.plan import Plan, PlannedResource
from preflight.support_warnings import CLUSTER_VERSIONS, cluster_versions, kubernetes_support_warnings

SECTION = "prerequisite"

# GCP resource type module -> the API its calls go to.
GCP_APIS: dict[str, str] = {
    "compute": "compute.googleapis.com",
    "container": "container.googleapis.com",
    "sql": "sqladmin.googleapis.com",
    "servicenetworking": "servicenetworking.googleapis.com",
    "artifactregistry": "artifactregistry.googleapis.com",
    "iam": "iam.googleapis.com",
    "serviceaccount": "iam.googleapis.com",
    "projects": "cloudresourcemanager.googleapis.com",
    "storage": "storage.googleapis.com",
    "logging": "logging.googleapis.com",
    "kms": "cloudkms.googleapis.com",
}
# On in every new project (cloud.google.com/service-usage/docs/enabled-service, read 2026-12): Service Usage is
# what enables the others, so it must be on before the program can turn anything on; Cloud Logging is on too.
GCP_ON_BY_DEFAULT = frozenset({"serviceusage.googleapis.com", "storage.googleapis.com", "logging.googleapis.com"})
GCP_SERVICE_TYPE = "gcp:projects/service:Service"

# azure-native module -> resource provider namespace (learn.microsoft.com/azure/azure-resource-manager/management/
# azure-services-resource-providers, read 2026-12). AKS also makes scale sets, disks and load balancers in its node
# resource group: Microsoft.Compute and Microsoft.Network are needed with Microsoft.ContainerService.
AZURE_PROVIDERS: dict[str, tuple[str, ...]] = {
    "containerservice": ("Microsoft.ContainerService", "Microsoft.Compute", "Microsoft.Network"),
    "dbforpostgresql": ("Microsoft.DBforPostgreSQL",),
    "network": ("Microsoft.Network",),
    "privatedns": ("Microsoft.Network",),
    "storage": ("Microsoft.Storage",),
    "containerregistry": ("Microsoft.ContainerRegistry",),
    "managedidentity": ("Microsoft.ManagedIdentity",),
    "authorization": ("Microsoft.Authorization",),
    "resources": ("Microsoft.Resources",),
    "monitor": ("Microsoft.Insights",),
    "operationalinsights": ("Microsoft.OperationalInsights",),
}
# Registered in every subscription (the same page): nothing to do.
AZURE_ALWAYS_REGISTERED = frozenset({"Microsoft.Authorization", "Microsoft.Resources"})

# AWS resource type -> the service-linked roles it needs and the service that creates them on first use when the
# caller may iam:CreateServiceLinkedRole (docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html,
# read 2026-12). EC2 makes AWSServiceRoleForEC2Spot by itself only for spot requests from the console; through the API
# the role must already exist (docs.aws.amazon.com/AWSEC2/latest/UserGuide/
# service-linked-roles-spot-instance-requests.html, read 2026-12).
AWS_SERVICE_LINKED_ROLES: dict[str, tuple[tuple[str, str], ...]] = {
    "eks:index:Cluster": (("AWSServiceRoleForAmazonEKS", "eks.amazonaws.com"),),
    "eks:index:ManagedNodeGroup": (
        ("AWSServiceRoleForAmazonEKSNodegroup", "eks-nodegroup.amazonaws.com"),
        ("AWSServiceRoleForAutoScaling", "autoscaling.amazonaws.com"),
    ),
    "aws:rds/instance:Instance": (("AWSServiceRoleForRDS", "rds.amazonaws.com"),),
    "aws:ec2/natGateway:NatGateway": (),
}
AWS_SPOT_ROLE = ("AWSServiceRoleForEC2Spot", "spot.amazonaws.com")
# A LoadBalancer Service on EKS makes a load balancer, whose role Elastic Load Balancing makes on first use.
AWS_ELB_ROLE = ("AWSServiceRoleForElasticLoadBalancing", "elasticloadbalancing.amazonaws.com")

# RFC 5737: addresses for documentation; no real client has one.
DOCUMENTATION_RANGES = tuple(ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))


def prerequisite_findings(plan: Plan, today: date) -> list[Finding]:
    return [
        *_gcp_apis(plan),
        *_azure_providers(plan),
        *_aws_service_linked_roles(plan),
        *_hosted_zone(plan),
        *_api_allowed_networks(plan),
        *_kubernetes_support(plan, today),
        *_gpu_zones(plan),
    ]


def _target(plan: Plan, resource: PlannedResource) -> str:
    return plan.target_of(resource) or STACK_WIDE


def _where(targets: set[str]) -> str:
    """The targets a finding is about; stack-wide only when no target is."""
    return ", ".join(sorted(targets - {STACK_WIDE})) or STACK_WIDE


def _gcp_apis(plan: Plan) -> list[Finding]:
    enabled = {(str(r.inputs.get("project")), str(r.inputs.get("service"))): r for r in plan.of_type(GCP_SERVICE_TYPE)}
    needed: dict[tuple[str, str], set[str]] = {}
    targets: dict[tuple[str, str], set[str]] = {}
    for resource in plan.resources:
        provider, _, rest = resource.type.partition(":")
        if provider != "gcp" or not resource.custom or resource.type == GCP_SERVICE_TYPE:
            continue
        api = GCP_APIS.get(rest.split("/")[0])
        key = (_gcp_project(plan, resource), api or f"(no API known for {resource.type})")
        needed.setdefault(key, set()).add(resource.type)
        targets.setdefault(key, set()).add(_target(plan, resource))
    findings = []
    for (project, api), types in sorted(needed.items()):
        target = _where(targets[(project, api)])
        used_by = ", ".join(sorted(types))
        if api.startswith("(no API"):
            findings.append(
                Finding(
                    target,
                    SECTION,
                    "GCP API",
                    api,
                    OFFLINE,
                    "block",
                    f"add the type's API to preflight/doctor/prerequisites.py GCP_APIS ({used_by})",
                )
            )
        elif (project, api) in enabled:
            findings.append(Finding(target, SECTION, f"API {api}", f"on in {project}", "enabled by the program", "ok"))
        elif api in GCP_ON_BY_DEFAULT:
            findings.append(Finding(target, SECTION, f"API {api}", f"on in {project}", "on by default", "ok"))
        else:
            findings.append(
                Finding(
                    target,
                    SECTION,
                    f"API {api}",
                    f"on in {project}",
                    OFFLINE,
                    "check",
                    f"the program does not enable it: gcloud services enable {api} --project {project} "
                    f"(used by {used_by})",
                )
            )
    return findings


def _gcp_project(plan: Plan, resource: PlannedResource) -> str:
    """The resource's own project input, else its provider's: the project whose APIs its calls need."""
    provider = plan.get(resource.provider) if resource.provider else None
    project = resource.inputs.get("project") or (provider.inputs.get("project") if provider else None)
    return str(project or "(the provider's default project)")


def _azure_providers(plan: Plan) -> list[Finding]:
    needed: dict[str, set[str]] = {}
    targets: dict[str, set[str]] = {}
    for resource in plan.resources:
        provider, _, rest = resource.type.partition(":")
        if provider != "azure-native" or not resource.custom:
            continue
        module = rest.split(":")[0]
        for namespace in AZURE_PROVIDERS.get(module, (f"(no provider known for {resource.type})",)):
            needed.setdefault(namespace, set()).add(resource.type)
            targets.setdefault(namespace, set()).add(_target(plan, resource))
    findings = []
    for namespace, types in sorted(needed.items()):
        target = _where(targets[namespace])
        used_by = ", ".join(sorted(types))
        if namespace.startswith("(no provider"):
            findings.append(
                Finding(
                    target,
                    SECTION,
                    "Azure resource provider",
                    namespace,
                    OFFLINE,
                    "block",
                    "add the module to preflight/doctor/prerequisites.py AZURE_PROVIDERS",
                )
            )
        elif namespace in AZURE_ALWAYS_REGISTERED:
            findings.append(Finding(target, SECTION, f"provider {namespace}", "registered", "always registered", "ok"))
        else:
            findings.append(
                Finding(
                    target,
                    SECTION,
                    f"provider {namespace}",
                    "registered",
                    OFFLINE,
                    "check",
                    f"the program registers no provider: az provider register --namespace {namespace} "
                    f"(used by {used_by})",
                )
            )
    return findings


def _aws_service_linked_roles(plan: Plan) -> list[Finding]:
    roles: dict[str, tuple[str, set[str]]] = {}

    def need(role: tuple[str, str], why: str) -> None:
        roles.setdefault(role[0], (role[1], set()))[1].add(why)

    for resource in plan.resources:
        for role in AWS_SERVICE_LINKED_ROLES.get(resource.type, ()):
            need(role, resource.type)
        if any(pool.spot for pool in pools_of(resource.type, resource.inputs, resource.name) if pool.cloud == "aws"):
            need(AWS_SPOT_ROLE, "spot node groups")
        if resource.type == "eks:index:Cluster":
            need(AWS_ELB_ROLE, "the gateways' LoadBalancer Services")
    return [
        Finding(
            STACK_WIDE,
            SECTION,
            f"AWS role {name}",
            "exists or creatable",
            OFFLINE,
            "check",
            f"made on first use if the deploy identity may iam:CreateServiceLinkedRole; else once per account: "
            f"aws iam create-service-linked-role --aws-service-name {service} (for {', '.join(sorted(why))})",
            cloud="aws",
        )
        for name, (service, why) in sorted(roles.items())
    ]


def _hosted_zone(plan: Plan) -> list[Finding]:
    records = plan.of_type("aws:route53/record:Record")
    if not records:
        return []
    zones = plan.of_type("aws:route53/zone:Zone")
    if zones:
        return [
            Finding(
                STACK_WIDE,
                SECTION,
                "Route 53 hosted zone",
                str(z.inputs.get("name")),
                "created by the program",
                "ok",
                "delegate the zone from its parent after the first deploy",
                cloud="aws",
            )
            for z in zones
        ]
    zone = _common_suffix(str(r.inputs.get("name") or "") for r in records)
    return [
        Finding(
            STACK_WIDE,
            SECTION,
            "Route 53 hosted zone",
            f"{zone or '(the dns zone)'} exists",
            OFFLINE,
            "check",
            "the program looks the zone up by name (dns.createZone is off): create it, or set createZone: true",
            cloud="aws",
            ref={"check": "hosted-zone", "zone": zone},
        )
    ]


def _common_suffix(names: Iterable[str]) -> str:
    """The zone the record names share: their common suffix, or one name's parent when there is only one."""
    split = [name.rstrip(".").split(".") for name in set(names) if name]
    if not split:
        return ""
    if len(split) == 1:
        return ".".join(split[0][1:]) if len(split[0]) > 2 else ""
    common: list[str] = []
    for labels in zip(*(reversed(parts) for parts in split), strict=False):
        if len(set(labels)) != 1:
            break
        common.append(labels[0])
    return ".".join(reversed(common)) if len(common) >= 2 else ""


def _allowed_networks(resource: PlannedResource) -> list[str]:
    inputs = resource.inputs
    if resource.type == "eks:index:Cluster":
        return [str(c) for c in inputs.get("publicAccessCidrs") or []]
    if resource.type == "gcp:container/cluster:Cluster":
        blocks = (inputs.get("masterAuthorizedNetworksConfig") or {}).get("cidrBlocks") or []
        return [str(b.get("cidrBlock")) for b in blocks if isinstance(b, dict)]
    if resource.type == "azure-native:containerservice:ManagedCluster":
        return [str(c) for c in (inputs.get("apiServerAccessProfile") or {}).get("authorizedIPRanges") or []]
    return []


def _api_allowed_networks(plan: Plan) -> list[Finding]:
    findings = []
    for resource in plan.resources:
        if resource.type not in CLUSTER_VERSIONS:
            continue
        networks = _allowed_networks(resource)
        listed = ", ".join(networks) or "any address"
        documentation = [net for net in networks if _is_documentation(net)]
        if documentation:
            findings.append(
                Finding(
                    _target(plan, resource),
                    SECTION,
                    "Kubernetes API allowed networks",
                    listed,
                    f"{', '.join(documentation)} are documentation ranges (RFC 5737)",
                    "warn",
                    "no real address is in them: list the networks `pulumi up` and your operators "
                    "run from in mlplatform:apiAllowedCidrs, or the deploy cannot reach the cluster",
                )
            )
        else:
            findings.append(
                Finding(
                    _target(plan, resource),
                    SECTION,
                    "Kubernetes API allowed networks",
                    listed,
                    OFFLINE,
                    "check",
                    "the address `pulumi up` runs from must be in one of them",
                )
            )
    return findings


def _is_documentation(network: str) -> bool:
    try:
        parsed = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False
    return any(parsed.version == doc.version and parsed.subnet_of(doc) for doc in DOCUMENTATION_RANGES)  # type: ignore[arg-type]


def _kubernetes_support(plan: Plan, today: date) -> list[Finding]:
    warned = {warning.urn: warning.message for warning in kubernetes_support_warnings(plan, today)}
    table = load_support_table()
    findings = []
    for resource, _, version, _, window in cluster_versions(plan, table):
        have = f"until {window.standard_end.isoformat()}" if window else "not in the support table"
        if resource.urn in warned:
            verdict: Verdict = "block" if window is None or window.days_left(today) <= 0 else "warn"
            findings.append(
                Finding(
                    _target(plan, resource),
                    SECTION,
                    f"Kubernetes {version or '?'} support",
                    "in standard support",
                    have,
                    verdict,
                    warned[resource.urn],
                )
            )
        else:
            findings.append(
                Finding(
                    _target(plan, resource), SECTION, f"Kubernetes {version} support", "in standard support", have, "ok"
                )
            )
    return findings


def _gpu_zones(plan: Plan) -> list[Finding]:
    """GKE from the shipped zone table; EKS zones are looked up by the program, AKS's are the account's to check."""
    findings = []
    targets = targets_of(plan)
    clusters = plan.of_type("gcp:container/cluster:Cluster")
    cluster_zones = list(clusters[0].inputs.get("nodeLocations") or []) if len(clusters) == 1 else []
    for resource in plan.resources:
        target = targets.get(plan.target_of(resource) or "")
        if target is None:
            continue
        for pool in pools_of(resource.type, resource.inputs, resource.name):
            if not pool.gpu:
                continue
            item = f"{', '.join(pool.machine_types)} offered (pool {pool.name})"
            if pool.cloud == "gcp":
                zones = list(resource.inputs.get("nodeLocations") or []) or cluster_zones
                findings.append(_gke_offered(target, pool.machine_types, zones, item))
            elif pool.cloud == "aws":
                findings.append(
                    Finding(
                        target.name,
                        SECTION,
                        item,
                        "a zone of the cluster's",
                        "looked up at deploy",
                        "ok",
                        "the program asks EC2 (DescribeInstanceTypeOfferings by zone ID), puts the group only "
                        "in zones that offer it, and fails the deploy when none does",
                        ref={"check": "offerings", "region": target.region, "types": list(pool.machine_types)},
                    )
                )
            else:
                command = f"az vm list-skus --location {target.region} --size {pool.machine_types[0]} --output table"
                findings.append(
                    Finding(
                        target.name,
                        SECTION,
                        item,
                        f"{target.region}, the pool's zones",
                        OFFLINE,
                        "check",
                        f"{command} (no restrictions, the zones listed)",
                    )
                )
    return findings


def _gke_offered(target: TargetInfo, machine_types: tuple[str, ...], zones: list[str], item: str) -> Finding:
    machine = machine_catalog.machine("gcp", machine_types[0]) if machine_types else None
    accelerator = machine.accelerator if machine else None
    if accelerator is None or not zones:
        return Finding(target.name, SECTION, item, ", ".join(zones) or "the cluster's zones", OFFLINE, "check")
    offered = gcp_zones.zones_offering(target.region, accelerator)
    missing = [zone for zone in zones if zone not in offered]
    source = f"{gcp_zones.SOURCE}, read {gcp_zones.TABLE_READ:%Y-%m}"
    if missing:
        return Finding(
            target.name,
            SECTION,
            item,
            ", ".join(zones),
            f"no {accelerator} in {', '.join(missing)}",
            "block",
            f"GKE cannot place the pool's nodes there ({source})",
        )
    return Finding(
        target.name, SECTION, item, ", ".join(zones), f"offered (zone table read {gcp_zones.TABLE_READ:%Y-%m})", "ok"
    )
