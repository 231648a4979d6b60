"""Plausible AWS outputs: generated bucket names, ARNs, ids; EC2 ids, IAM roles, EKS (pulumi-eks)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from preflight.mock_tables.context import ACCOUNT_ID, InvokeTable, MockContext, Outputs, OutputTable

DEFAULT_REGION = "us-east-1"


def _s3_bucket(ctx: MockContext) -> Outputs:
    bucket = ctx.inputs.get("bucket") or ctx.auto_name()
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "region": ctx.region}


def _kms_key(ctx: MockContext) -> Outputs:
    key_id = ctx.uuid()
    return {"keyId": key_id, "arn": f"arn:aws:kms:{ctx.region}:{ACCOUNT_ID}:key/{key_id}"}


def _ec2(prefix: str, arn_kind: str | None) -> Callable[[MockContext], Outputs]:
    """EC2 ids: the type's prefix and 17 hex digits (vpc-0123..., subnet-..., rtb-...)."""

    def outputs(ctx: MockContext) -> Outputs:
        resource_id = f"{prefix}-{ctx.digest(17)}"
        arn = {"arn": f"arn:aws:ec2:{ctx.region}:{ACCOUNT_ID}:{arn_kind}/{resource_id}"} if arn_kind else {}
        return {"id": resource_id, **arn}

    return outputs


def _launch_template(ctx: MockContext) -> Outputs:
    """A new template is at version 1; EKS node groups name the version they use."""
    template_id = f"lt-{ctx.digest(17)}"
    arn = f"arn:aws:ec2:{ctx.region}:{ACCOUNT_ID}:launch-template/{template_id}"
    return {"id": template_id, "arn": arn, "latestVersion": 1, "defaultVersion": 1}


def _eip(ctx: MockContext) -> Outputs:
    allocation = f"eipalloc-{ctx.digest(17)}"
    public_ip = f"198.51.100.{int(ctx.digest(4), 16) % 254 + 1}"  # a documentation range
    return {"id": allocation, "allocationId": allocation, "publicIp": public_ip, "domain": "vpc"}


def _iam_role(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("name") or ctx.auto_name(64)
    return {"name": name, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}", "uniqueId": f"AROA{ctx.digest(17).upper()}"}


def _iam_oidc_provider(ctx: MockContext) -> Outputs:
    """An IAM OIDC identity provider is named by its URL without the scheme, path and trailing slash kept."""
    name = str(ctx.inputs.get("url", "")).removeprefix("https://")
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{name}"}


def _role_policy(ctx: MockContext) -> Outputs:
    """An inline role policy's id is ROLE:POLICY."""
    name = ctx.inputs.get("name") or ctx.auto_name(128)
    return {"id": f"{ctx.inputs.get('role')}:{name}", "name": name}


def _security_group(ctx: MockContext) -> Outputs:
    group_id = f"sg-{ctx.digest(17)}"
    name = ctx.inputs.get("name") or ctx.auto_name(255)
    return {
        "id": group_id,
        "arn": f"arn:aws:ec2:{ctx.region}:{ACCOUNT_ID}:security-group/{group_id}",
        "name": name,
        "ownerId": ACCOUNT_ID,
    }


def _security_group_rule(ctx: MockContext) -> Outputs:
    rule_id = f"sgr-{ctx.digest(17)}"
    arn = f"arn:aws:ec2:{ctx.region}:{ACCOUNT_ID}:security-group-rule/{rule_id}"
    return {"id": rule_id, "securityGroupRuleId": rule_id, "arn": arn}


def _rds_named(arn_kind: str) -> Callable[[MockContext], Outputs]:
    """RDS subnet and parameter groups: auto-named in lowercase, as RDS stores them."""

    def outputs(ctx: MockContext) -> Outputs:
        name = str(ctx.inputs.get("name") or ctx.auto_name(255)).lower()
        return {"id": name, "name": name, "arn": f"arn:aws:rds:{ctx.region}:{ACCOUNT_ID}:{arn_kind}:{name}"}

    return outputs


def _rds_instance(ctx: MockContext) -> Outputs:
    """An RDS instance's endpoint is <identifier>.<account-region hash>.<region>.rds.amazonaws.com."""
    identifier = str(ctx.inputs.get("identifier") or ctx.auto_name(63)).lower()
    port = int(ctx.inputs.get("port") or 5432)
    address = f"{identifier}.c{ctx.digest(11)}.{ctx.region}.rds.amazonaws.com"
    resource_id = f"db-{ctx.digest(26).upper()}"
    return {
        "id": resource_id,
        "resourceId": resource_id,
        "identifier": identifier,
        "arn": f"arn:aws:rds:{ctx.region}:{ACCOUNT_ID}:db:{identifier}",
        "address": address,
        "port": port,
        "endpoint": f"{address}:{port}",
    }


def _ecr_template(ctx: MockContext) -> Outputs:
    return {"id": ctx.inputs.get("prefix"), "registryId": ACCOUNT_ID}


def _ecr_registry_setting(ctx: MockContext) -> Outputs:
    """Registry-wide ECR settings: one per account and region, with the account as id."""
    return {"id": ACCOUNT_ID, "registryId": ACCOUNT_ID}


def _plain_references(ctx: MockContext) -> Outputs:
    """Resource references among a component's inputs, as their URNs.

    A remote component (pulumi-eks) answers with its outputs, but the recorder echoes the
    inputs back; an echoed reference would make the SDK read that resource back from the
    engine, which mocks cannot.
    """
    return {key: value for key, value in ctx.inputs.items() if isinstance(value, str) and value.startswith("urn:")}


def _eks_cluster(ctx: MockContext) -> Outputs:
    """pulumi-eks Cluster: only its plain outputs; those typed as resources (eksCluster, core,
    instanceRoles, the security groups) cannot be read back under mocks and stay unknown."""
    name = str(ctx.inputs.get("name") or ctx.auto_name(100))
    issuer_id = ctx.digest(32).upper()
    issuer = f"oidc.eks.{ctx.region}.amazonaws.com/id/{issuer_id}"
    endpoint = f"https://{issuer_id}.gr7.{ctx.region}.eks.amazonaws.com"
    kubeconfig = _kubeconfig(name, endpoint, ctx.digest(40))
    security_group = f"sg-{ctx.digest(17)}"  # the one EKS creates; managed nodes use it
    return {
        **_plain_references(ctx),
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "oidcProviderArn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{issuer}",
        "oidcProviderUrl": f"https://{issuer}",
        "oidcIssuer": issuer,
        "clusterSecurityGroupId": security_group,
        "nodeSecurityGroupId": security_group,
        "defaultNodeGroupAsgName": "",
    }


def _kubeconfig(cluster_name: str, endpoint: str, ca_seed: str) -> dict[str, Any]:
    """The shape pulumi-eks writes: one cluster, a token from `aws eks get-token`."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubernetes", "cluster": {"server": endpoint, "certificate-authority-data": ca_seed}}],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "current-context": "aws",
        "users": [
            {
                "name": "aws",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
                    }
                },
            }
        ],
    }


def _eks_managed_node_group(ctx: MockContext) -> Outputs:
    """pulumi-eks ManagedNodeGroup: its nodeGroup output is a resource reference, left unknown."""
    return {**_plain_references(ctx), "placementGroupName": ""}


def _route53_zone_outputs(zone_id: str, name: str, seed: str) -> Outputs:
    """A public hosted zone: id Z plus 13 characters, and its delegation set's four name servers."""
    n = int(seed[:6], 16)
    servers = [f"ns-{(n + i * 512) % 2048}.awsdns-{(n + i) % 64:02d}.{tld}" for i, tld in enumerate(_AWSDNS_TLDS)]
    return {
        "id": zone_id,
        "zoneId": zone_id,
        "name": name,
        "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
        "nameServers": servers,
        "primaryNameServer": servers[0],
    }


_AWSDNS_TLDS = ("com", "net", "org", "co.uk")


def _route53_zone(ctx: MockContext) -> Outputs:
    name = str(ctx.inputs.get("name") or ctx.name).rstrip(".")
    return _route53_zone_outputs(f"Z{ctx.digest(13).upper()}", name, ctx.digest(6))


def _route53_health_check(ctx: MockContext) -> Outputs:
    """Health check ids are UUIDs; the ARN has neither region nor account."""
    check_id = ctx.uuid()
    return {"id": check_id, "arn": f"arn:aws:route53:::healthcheck/{check_id}"}


def _route53_record(ctx: MockContext) -> Outputs:
    """The provider's record id is ZONE_NAME_TYPE[_SET], and fqdn the name as Route 53 stores it."""
    name = str(ctx.inputs.get("name", "")).rstrip(".").lower()
    parts = [ctx.inputs.get("zoneId"), name, ctx.inputs.get("type"), ctx.inputs.get("setIdentifier")]
    return {"id": "_".join(str(part) for part in parts if part), "fqdn": name}


def generic(ctx: MockContext) -> Outputs:
    service = ctx.type.split(":")[1].split("/")[0]
    return {"arn": f"arn:aws:{service}:{ctx.region}:{ACCOUNT_ID}:{ctx.name}"}


def _caller_identity(args: dict[str, Any]) -> Outputs:
    return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preflight", "userId": "preflight"}


def _default_tags(args: dict[str, Any]) -> Outputs:
    """The provider's default tags; an invoke's mock is not told which provider asks, so none."""
    return {"id": "default", "tags": {}}


@functools.cache
def _zone_offerings(region: str) -> dict[str, frozenset[str]]:
    """Instance types per zone ID, as EC2's DescribeInstanceTypeOfferings (location type
    availability-zone-id) answered when moto recorded it: moto ships that answer per region
    (moto/ec2/resources/instance_type_offerings/availability-zone-id/<region>.json.gz, moto 5.2.5,
    pinned in requirements.txt for this). Empty for a region moto did not record."""
    spec = importlib.util.find_spec("moto")
    if spec is None or spec.origin is None:
        return {}
    path = Path(spec.origin).parent / "ec2/resources/instance_type_offerings/availability-zone-id" / f"{region}.json.gz"
    if not path.is_file():
        return {}
    zones: dict[str, set[str]] = {}
    for offering in json.loads(gzip.decompress(path.read_bytes())):
        zones.setdefault(offering["Location"], set()).add(offering["InstanceType"])
    return {zone: frozenset(types) for zone, types in zones.items()}


def _zone_ids(region: str) -> list[str]:
    """The region's zone IDs as recorded by moto, or four made-up ones (us-east-1 -> use1-az1...)."""
    recorded = sorted(_zone_offerings(region))
    if recorded:
        return recorded
    parts = region.split("-")
    short = f"{parts[0]}{parts[1][:1]}{parts[2]}" if len(parts) == 3 else region
    return [f"{short}-az{i}" for i in range(1, 5)]


def _availability_zones(args: dict[str, Any]) -> Outputs:
    """Zone names are lettered per account: here the letters start at a region-dependent zone ID,
    so a name never gives its ID away (as in a real account)."""
    region = str(args.get("region") or DEFAULT_REGION)
    zone_ids = [zone for zone in _zone_ids(region) if zone not in (args.get("excludeZoneIds") or [])]
    shift = int(hashlib.sha1(region.encode()).hexdigest(), 16) % len(zone_ids)
    lettered = zone_ids[shift:] + zone_ids[:shift]
    names = {zone: f"{region}{chr(ord('a') + i)}" for i, zone in enumerate(lettered)}
    return {
        "id": region,
        "names": [names[zone] for zone in zone_ids],
        "zoneIds": zone_ids,
        "groupNames": [region] * len(zone_ids),
    }


def _instance_type_offerings(args: dict[str, Any]) -> Outputs:
    """Offerings by zone ID of the instance types the `instance-type` filter names. A region moto
    did not record offers every asked-for type in every zone."""
    region = str(args.get("region") or DEFAULT_REGION)
    asked = [v for f in args.get("filters") or [] if f.get("name") == "instance-type" for v in f.get("values", [])]
    offered = _zone_offerings(region) or {zone: frozenset(asked) for zone in _zone_ids(region)}
    pairs = [(kind, zone) for zone in sorted(offered) for kind in asked if kind in offered[zone]]
    return {
        "id": region,
        "instanceTypes": [kind for kind, _ in pairs],
        "locations": [zone for _, zone in pairs],
        "locationTypes": ["availability-zone-id"] * len(pairs),
    }


def _eks_addon_version(args: dict[str, Any]) -> Outputs:
    """An add-on version string as EKS writes them (v<upstream>-eksbuild.<n>); made up."""
    name, minor = str(args.get("addonName")), str(args.get("kubernetesVersion"))
    return {
        "id": name,
        "addonName": name,
        "kubernetesVersion": minor,
        "version": f"v1.0.0-eksbuild.{minor.split('.')[-1]}",
    }


def _eks_node_group(args: dict[str, Any]) -> Outputs:
    """A managed node group's Auto Scaling group is named eks-<node group>-<uuid> by EKS."""
    cluster, group = args.get("clusterName"), args.get("nodeGroupName")
    h = hashlib.sha1(f"{cluster}/{group}".encode()).hexdigest()
    uuid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return {
        "id": f"{cluster}:{group}",
        "clusterName": cluster,
        "nodeGroupName": group,
        "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{uuid}"}], "remoteAccessSecurityGroupId": ""}],
    }


def _route53_get_zone(args: dict[str, Any]) -> Outputs:
    """An existing public zone looked up by name: the same id for the same name on every run."""
    name = str(args.get("name") or "example.com").rstrip(".")
    seed = hashlib.sha1(name.encode()).hexdigest()
    return {**_route53_zone_outputs(f"Z{seed[:13].upper()}", name, seed), "privateZone": False}


OUTPUTS: OutputTable = {
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:kms/key:Key": _kms_key,
    "aws:ec2/vpc:Vpc": _ec2("vpc", "vpc"),
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:ec2/subnet:Subnet": _ec2("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat", "natgateway"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _ec2("rtbassoc", None),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _ec2("vpce", "vpc-endpoint"),
    "aws:ec2/eip:Eip": _eip,
    "aws:iam/role:Role": _iam_role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _iam_oidc_provider,
    "eks:index:Cluster": _eks_cluster,
    "eks:index:ManagedNodeGroup": _eks_managed_node_group,
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _security_group_rule,
    "aws:rds/subnetGroup:SubnetGroup": _rds_named("subgrp"),
    "aws:rds/parameterGroup:ParameterGroup": _rds_named("pg"),
    "aws:rds/instance:Instance": _rds_instance,
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": _ecr_template,
    "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": _ecr_registry_setting,
    "aws:route53/zone:Zone": _route53_zone,
    "aws:route53/healthCheck:HealthCheck": _route53_health_check,
    "aws:route53/record:Record": _route53_record,
}
INVOKES: InvokeTable = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": _instance_type_offerings,
    "aws:eks/getAddonVersion:getAddonVersion": _eks_addon_version,
    "aws:eks/getNodeGroup:getNodeGroup": _eks_node_group,
    "aws:index/getDefaultTags:getDefaultTags": _default_tags,
    "aws:route53/getZone:getZone": _route53_get_zone,
}
