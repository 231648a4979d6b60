"""`doctor --live` on AWS: read-only calls with the caller's credentials that fill in the "have" column.

- Service Quotas GetServiceQuota for each quota the plan reaches (service and quota code from quotas.yaml),
  per region: the applied value, compared with what the plan needs. Usage by other workloads is not read.
- EC2 DescribeInstanceTypeOfferings by zone ID for each GPU pool's instance types, per region.
- Route 53 ListHostedZonesByName for the existing hosted zone the records go into.

Nothing is written. Tested against moto's server, which answers the offerings and the hosted zone, and Service
Quotas only for the `vpc` service code: the ec2 and eks quota calls have run only against their request shape
and moto's "not available" answer, which doctor reports as "not read" (check), not as a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from preflight.doctor.findings import Finding
from preflight.errors import InputError

ClientFactory = Callable[[str, str | None], Any]  # (service, region) -> a boto3 client


def boto3_clients() -> ClientFactory:
    """boto3 clients with the caller's default credential chain; an InputError when there is none."""
    try:
        import boto3  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - boto3 ships in requirements-dev.txt
        raise InputError("--live: boto3 is not installed (pip install boto3)") from None
    session = boto3.Session()
    if session.get_credentials() is None:
        raise InputError("--live: no AWS credentials found (set AWS_PROFILE or the AWS_* variables)")
    return lambda service, region: session.client(service, region_name=region)


def live_aws(findings: Sequence[Finding], clients: ClientFactory) -> list[Finding]:
    """The findings with AWS ones answered from the account; the others unchanged."""
    answered = []
    for finding in findings:
        ref = finding.ref
        if ref.get("cloud") == "aws" and ref.get("code") and ref.get("service"):
            answered.append(_quota(finding, clients))
        elif ref.get("check") == "offerings":
            answered.append(_offerings(finding, clients))
        elif ref.get("check") == "hosted-zone":
            answered.append(_hosted_zone(finding, clients))
        else:
            answered.append(finding)
    return answered


def _error(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or type(error).__name__)


def _quota(finding: Finding, clients: ClientFactory) -> Finding:
    ref = finding.ref
    client = clients("service-quotas", ref["region"])
    try:
        value, source = _applied_or_default(client, ref["service"], ref["code"])
    except Exception as error:  # any refusal is reported, not raised: the other checks still run
        command = (
            f"aws service-quotas get-service-quota --service-code {ref['service']} --quota-code {ref['code']} "
            f"--region {ref['region']}"
        )
        return replace(finding, have=f"not read ({_error(error)})", detail=f"ask by hand: {command}; {finding.detail}")
    have = f"{value:g} {source}"
    if value >= ref["amount"]:
        return replace(
            finding,
            have=have,
            verdict="ok",
            detail=f"the quota covers the plan if other workloads in {ref['region']} leave it room",
        )
    return replace(
        finding,
        have=have,
        verdict="block",
        detail=f"request {ref['amount']} (Service Quotas, {ref['service']} {ref['code']}, {ref['region']})",
    )


def _applied_or_default(client: Any, service: str, code: str) -> tuple[float, str]:
    """The applied value, or AWS's default where the quota was never changed (GetServiceQuota has none then)."""
    try:
        return float(client.get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]["Value"]), "applied"
    except Exception as error:
        if _error(error) != "NoSuchResourceException":
            raise
    answer = client.get_aws_default_service_quota(ServiceCode=service, QuotaCode=code)
    return float(answer["Quota"]["Value"]), "(AWS default)"


def _offerings(finding: Finding, clients: ClientFactory) -> Finding:
    ref = finding.ref
    client = clients("ec2", ref["region"])
    try:
        answer = client.describe_instance_type_offerings(
            LocationType="availability-zone-id", Filters=[{"Name": "instance-type", "Values": ref["types"]}]
        )
    except Exception as error:
        return replace(finding, have=f"not read ({_error(error)})", verdict="check")
    zones: dict[str, set[str]] = {}
    for offering in answer.get("InstanceTypeOfferings", []):
        zones.setdefault(offering["InstanceType"], set()).add(offering["Location"])
    everywhere = set.intersection(*(zones.get(t, set()) for t in ref["types"])) if ref["types"] else set()
    if not everywhere:
        return replace(
            finding,
            have=f"offered in no zone of {ref['region']}",
            verdict="block",
            detail="pick another instance type or region: the node group would have no subnet",
        )
    return replace(finding, have=f"offered in {', '.join(sorted(everywhere))}", verdict="ok")


def _hosted_zone(finding: Finding, clients: ClientFactory) -> Finding:
    zone = str(finding.ref.get("zone") or "")
    client = clients("route53", None)
    try:
        zones = client.list_hosted_zones_by_name(DNSName=zone, MaxItems="1")["HostedZones"]
    except Exception as error:
        return replace(finding, have=f"not read ({_error(error)})", verdict="check")
    public = [z for z in zones if z["Name"].rstrip(".") == zone and not z.get("Config", {}).get("PrivateZone")]
    if public:
        return replace(finding, have=f"exists ({public[0]['Id'].split('/')[-1]})", verdict="ok")
    return replace(
        finding,
        have="no such public zone",
        verdict="block",
        detail="create the zone (and delegate it from its parent), or set dns.createZone: true",
    )
