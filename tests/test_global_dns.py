"""GlobalDns on Route 53: a health check and a name per target, and each routing mode's record set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pytest

from components.global_dns import DnsEndpoint, GlobalDns, GlobalDnsArgs, RoutingMode
from components.global_dns.route53 import address_record_type, check_args
from preflight.mock_outputs import MockContext, invoke_result, plausible_outputs
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from tests.helpers import every, only, program_plan

ZONE = "ml.example.com"
GLOBAL_HOST = f"api.{ZONE}"
HEALTH_PATH = "/v2/health/ready"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
RECORD = "aws:route53/record:Record"
ZONE_TYPE = "aws:route53/zone:Zone"
MODES: tuple[RoutingMode, ...] = ("latency", "weighted", "geo", "failover")
PRIMARY = "aws-us-east-1"
GEO_DEFAULT = "aws-us-east-1"


@dataclass(frozen=True)
class Spec:
    """An endpoint before the program runs (its address becomes an Output inside the program)."""

    target: str
    cloud: str
    region: str
    address: str
    latency_region: str
    weight: int
    continents: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    @property
    def is_ip(self) -> bool:
        return self.address[0].isdigit()


# Two AWS targets in two regions (NLB host names) and two IP gateways (GKE, AKS); a weight of
# zero next to non-zero ones; countries inside another target's continent (CA in NA, GB in EU).
SPECS = (
    Spec("aws-us-east-1", "aws", "us-east-1", "k8s-istio-0123456789abcdef.elb.us-east-1.amazonaws.com", "us-east-1", 50,
         continents=("NA",)),
    Spec("gcp-us-central1", "gcp", "us-central1", "203.0.113.10", "us-east-2", 30, ("SA",), countries=("CA",)),
    Spec("azure-swedencentral", "azure", "swedencentral", "203.0.113.20", "eu-north-1", 20, continents=("EU",)),
    Spec("aws-eu-west-1", "aws", "eu-west-1", "k8s-istio-fedcba9876543210.elb.eu-west-1.amazonaws.com", "eu-west-1", 0,
         countries=("GB", "IE")),
)  # fmt: skip


def endpoint(spec: Spec, address: str | None = None) -> DnsEndpoint:
    return DnsEndpoint(
        target=spec.target,
        cloud=spec.cloud,
        region=spec.region,
        address=pulumi.Output.from_input(address or spec.address),
        health_path=HEALTH_PATH,
        latency_region=spec.latency_region,
        weight=spec.weight,
        continents=spec.continents,
        countries=spec.countries,
    )


def dns_args(mode: RoutingMode, endpoints: tuple[DnsEndpoint, ...], **overrides: Any) -> GlobalDnsArgs:
    values: dict[str, Any] = {
        "provider": cast(pulumi.ProviderResource, None),
        "zone_name": ZONE,
        "create_zone": False,
        "mode": mode,
        "endpoints": endpoints,
        "ttl": 30,
        "health_check_interval": 10,
        "failure_threshold": 2,
        "primary": PRIMARY if mode == "failover" else None,
        "geo_default": GEO_DEFAULT if mode == "geo" else None,
        **overrides,
    }
    return GlobalDnsArgs(**values)


def dns_program(mode: RoutingMode, count: int, *, addresses: dict[str, str] | None = None, **overrides: Any) -> Plan:
    """One GlobalDns over the first `count` endpoints, on an explicit us-east-1 provider."""

    def program() -> None:
        provider = aws.Provider("dns", region="us-east-1")
        endpoints = tuple(endpoint(spec, (addresses or {}).get(spec.target)) for spec in SPECS[:count])
        dns = GlobalDns("global", dns_args(mode, endpoints, provider=provider, **overrides))
        pulumi.export("globalHost", dns.global_host)
        pulumi.export("zoneId", dns.zone_id)
        pulumi.export("targetHosts", dns.target_hosts)

    return program_plan(program)


@dataclass(frozen=True)
class Routed:
    mode: RoutingMode
    specs: tuple[Spec, ...]
    plan: Plan


Synthesized = Callable[[RoutingMode, int], Routed]
SIZES = (2, 3, 4)


@pytest.fixture(scope="module")
def synthesized() -> Synthesized:
    """Each (mode, size) is synthesized once for the whole module, whichever tests ask for it."""
    cache: dict[tuple[RoutingMode, int], Routed] = {}

    def get(mode: RoutingMode, count: int) -> Routed:
        if (mode, count) not in cache:
            cache[mode, count] = Routed(mode, SPECS[:count], dns_program(mode, count))
        return cache[mode, count]

    return get


@pytest.fixture(params=[(mode, n) for mode in MODES for n in SIZES], ids=lambda p: f"{p[0]}-{p[1]}")
def routed(request: pytest.FixtureRequest, synthesized: Synthesized) -> Routed:
    return synthesized(*request.param)


# --- helpers reading the plan ---


def mock_id(plan: Plan, resource: PlannedResource) -> str:
    """The id the mock gave a resource (ids derive from the URN), as the records received it."""
    provider = plan.get(resource.provider) if resource.provider else None
    context = MockContext(
        resource.urn, resource.type, resource.name, resource.inputs, provider.inputs if provider else {}
    )
    return plausible_outputs(context)[0]


def health_checks(plan: Plan) -> dict[str, PlannedResource]:
    return {check.inputs["tags"]["Target"]: check for check in plan.of_type(HEALTH_CHECK)}


def records_named(plan: Plan, name: str) -> list[PlannedResource]:
    return [record for record in plan.of_type(RECORD) if record.inputs["name"] == name]


def host(target: str) -> str:
    return f"{target}.{ZONE}"


def assert_tied_to_health_check(plan: Plan, record: PlannedResource, target: str) -> None:
    """A routing record answers with the target's own name only while the target's check passes."""
    check = health_checks(plan)[target]
    assert record.inputs["type"] == "CNAME"
    assert record.inputs["records"] == [host(target)]
    assert record.inputs["healthCheckId"] == mock_id(plan, check)
    assert check.urn in record.dependencies


# --- health checks ---


def test_one_https_health_check_per_target(routed: Routed) -> None:
    checks = health_checks(routed.plan)
    assert sorted(checks) == sorted(spec.target for spec in routed.specs)
    for spec in routed.specs:
        check = checks[spec.target].inputs
        assert check["type"] == "HTTPS"
        assert check["port"] == 443
        assert check["resourcePath"] == HEALTH_PATH
        assert check["requestInterval"] == 10
        assert check["failureThreshold"] == 2
        assert check["measureLatency"] is True
        assert check["enableSni"] is True
        assert check["referenceName"] == spec.target and len(check["referenceName"]) <= 27
        if spec.is_ip:  # probed at the IP as a client of api.<zone> would ask (Host header and SNI)
            assert check["ipAddress"] == spec.address
            assert check["fqdn"] == GLOBAL_HOST
        else:  # the NLB's name, resolved by Route 53 each interval
            assert check.get("ipAddress") is None
            assert check["fqdn"] == spec.address


def test_health_check_settings_follow_the_args() -> None:
    plan = dns_program("weighted", 2, health_check_interval=30, failure_threshold=5, ttl=120)
    for check in every(plan, HEALTH_CHECK):
        assert (check.inputs["requestInterval"], check.inputs["failureThreshold"]) == (30, 5)
    assert {record.inputs["ttl"] for record in plan.of_type(RECORD)} == {120}


# --- each target's own name ---


def test_each_target_has_its_own_name_of_the_right_type(routed: Routed) -> None:
    for spec in routed.specs:
        (record,) = records_named(routed.plan, host(spec.target))
        assert record.inputs["type"] == ("A" if spec.is_ip else "CNAME")
        assert record.inputs["records"] == [spec.address]
        assert record.inputs["ttl"] == 30
        assert "setIdentifier" not in record.inputs and "healthCheckId" not in record.inputs
    assert routed.plan.outputs["targetHosts"] == {spec.target: host(spec.target) for spec in routed.specs}
    assert routed.plan.outputs["globalHost"] == GLOBAL_HOST


# --- the routing set, per mode ---


@pytest.mark.parametrize("count", SIZES)
def test_latency_gives_each_target_its_region(synthesized: Synthesized, count: int) -> None:
    routed = synthesized("latency", count)
    records = records_named(routed.plan, GLOBAL_HOST)
    assert len(records) == len(routed.specs)
    by_target = {record.inputs["setIdentifier"]: record for record in records}
    for spec in routed.specs:
        record = by_target[spec.target]
        assert_tied_to_health_check(routed.plan, record, spec.target)
        assert record.inputs["latencyRoutingPolicies"] == [{"region": spec.latency_region}]
        assert record.inputs["ttl"] == 30


@pytest.mark.parametrize("count", SIZES)
def test_weighted_gives_each_target_its_weight(synthesized: Synthesized, count: int) -> None:
    routed = synthesized("weighted", count)
    records = records_named(routed.plan, GLOBAL_HOST)
    assert len(records) == len(routed.specs)
    by_target = {record.inputs["setIdentifier"]: record for record in records}
    for spec in routed.specs:
        assert_tied_to_health_check(routed.plan, by_target[spec.target], spec.target)
        assert by_target[spec.target].inputs["weightedRoutingPolicies"] == [{"weight": spec.weight}]


@pytest.mark.parametrize("count", SIZES)
def test_geo_routes_each_location_and_a_default(synthesized: Synthesized, count: int) -> None:
    routed = synthesized("geo", count)
    records = records_named(routed.plan, GLOBAL_HOST)
    expected = {
        f"{spec.target}-{code.lower()}": (spec.target, {kind: code})
        for spec in routed.specs
        for kind, codes in (("continent", spec.continents), ("country", spec.countries))
        for code in codes
    }
    expected["default"] = (GEO_DEFAULT, {"country": "*"})
    assert sorted(record.inputs["setIdentifier"] for record in records) == sorted(expected)
    for record in records:
        target, location = expected[record.inputs["setIdentifier"]]
        assert_tied_to_health_check(routed.plan, record, target)
        assert record.inputs["geolocationRoutingPolicies"] == [location]


@pytest.mark.parametrize("count", SIZES)
def test_failover_is_a_primary_and_an_alias_to_the_weighted_rest(synthesized: Synthesized, count: int) -> None:
    routed = synthesized("failover", count)
    plan = routed.plan
    records = {
        record.inputs["failoverRoutingPolicies"][0]["type"]: record for record in records_named(plan, GLOBAL_HOST)
    }
    assert sorted(records) == ["PRIMARY", "SECONDARY"]

    primary = records["PRIMARY"]
    assert_tied_to_health_check(plan, primary, PRIMARY)
    assert primary.inputs["setIdentifier"] == PRIMARY

    standby = records_named(plan, f"api-secondary.{ZONE}")
    others = [spec.target for spec in routed.specs if spec.target != PRIMARY]
    assert sorted(record.inputs["setIdentifier"] for record in standby) == sorted(others)
    for record in standby:
        assert_tied_to_health_check(plan, record, record.inputs["setIdentifier"])
        assert record.inputs["weightedRoutingPolicies"] == [{"weight": 1}]

    secondary = records["SECONDARY"]
    assert secondary.inputs["type"] == "CNAME"  # an alias takes the type of the records it points at
    alias = secondary.inputs["aliases"]
    assert alias == [
        {"name": f"api-secondary.{ZONE}", "zoneId": primary.inputs["zoneId"], "evaluateTargetHealth": True}
    ]
    assert "ttl" not in secondary.inputs and "records" not in secondary.inputs
    assert "healthCheckId" not in secondary.inputs  # its health is the standby set's
    assert {record.urn for record in standby} <= set(secondary.dependencies)  # Route 53 needs the target first


def test_routing_records_per_mode_and_size(routed: Routed) -> None:
    """Records at api.<zone>: one per target (geo: per location plus the default; failover: two)."""
    count = len(routed.specs)
    locations = sum(len(spec.continents) + len(spec.countries) for spec in routed.specs)
    expected = {"latency": count, "weighted": count, "geo": locations + 1, "failover": 2}[routed.mode]
    assert len(records_named(routed.plan, GLOBAL_HOST)) == expected
    assert len(routed.plan.of_type(HEALTH_CHECK)) == count


# --- the zone, the provider, the parent ---


def test_existing_zone_is_looked_up_by_name(routed: Routed) -> None:
    zone_id = invoke_result("aws:route53/getZone:getZone", {"name": ZONE, "privateZone": False})["zoneId"]
    assert zone_id.startswith("Z") and len(zone_id) == 14
    assert not routed.plan.of_type(ZONE_TYPE)
    assert {record.inputs["zoneId"] for record in routed.plan.of_type(RECORD)} == {zone_id}
    assert routed.plan.outputs["zoneId"] == zone_id


def test_new_zone_is_created_and_holds_every_record() -> None:
    plan = dns_program("latency", 2, create_zone=True)
    zone = only(plan, ZONE_TYPE)
    assert zone.inputs["name"] == ZONE
    zone_id = mock_id(plan, zone)
    assert zone_id.startswith("Z") and len(zone_id) == 14 and zone_id[1:].isalnum()
    assert {record.inputs["zoneId"] for record in plan.of_type(RECORD)} == {zone_id}
    assert all(zone.urn in record.dependencies for record in every(plan, RECORD))


def test_every_resource_is_a_child_of_the_component_on_its_provider(routed: Routed) -> None:
    plan = routed.plan
    component = only(plan, "mlplatform:dns:GlobalDns")
    provider = only(plan, "pulumi:providers:aws")
    children = [r for r in plan.resources if r.parent == component.urn]
    assert children and {r.type for r in children} <= {HEALTH_CHECK, RECORD, ZONE_TYPE}
    assert all(r.provider == provider.urn for r in children)
    assert len(children) == len(plan.resources) - 3  # everything but the stack, the provider and the component


# --- addresses and bad arguments ---


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.7", "A"),
        ("k8s-istio-0123.elb.us-east-1.amazonaws.com", "CNAME"),
        ("gateway.example.com.", "CNAME"),
    ],
)
def test_record_type_follows_the_address(address: str, expected: str) -> None:
    assert address_record_type("t", address) == expected


@pytest.mark.parametrize("address", ["2001:db8::1", "not a host", "", "203.0.113"])
def test_an_address_dns_cannot_name_is_refused_with_the_target(address: str) -> None:
    with pytest.raises(ValueError, match="target gcp-x: gateway address"):
        address_record_type("gcp-x", address)


def test_a_bad_gateway_address_fails_the_deployment() -> None:
    with pytest.raises(ProgramError, match="target gcp-us-central1: gateway address"):
        dns_program("latency", 2, addresses={"gcp-us-central1": "2001:db8::10"})


def unresolved(spec: Spec, **changes: Any) -> DnsEndpoint:
    """An endpoint for argument checks, which never read the address."""
    values = {**spec.__dict__, **changes}
    return DnsEndpoint(
        target=values["target"],
        cloud=values["cloud"],
        region=values["region"],
        address=cast(pulumi.Output[str], None),
        health_path=HEALTH_PATH,
        latency_region=values["latency_region"],
        weight=values["weight"],
        continents=values["continents"],
        countries=values["countries"],
    )


TWO = (unresolved(SPECS[0]), unresolved(SPECS[1]))


@pytest.mark.parametrize(
    ("mode", "endpoints", "overrides", "message"),
    [
        ("latency", (TWO[0], unresolved(SPECS[1], latency_region="us-east-1")), {}, "both map to us-east-1"),
        ("latency", (TWO[0], unresolved(SPECS[1], latency_region="")), {}, "no AWS latency region"),
        ("weighted", (unresolved(SPECS[0], weight=0), unresolved(SPECS[1], weight=0)), {}, "all weights are zero"),
        ("weighted", (TWO[0], unresolved(SPECS[1], weight=256)), {}, "weight 256"),
        ("failover", TWO, {"primary": "aws-mars-1"}, "primary 'aws-mars-1' is not a target"),
        ("failover", TWO[:1], {}, "needs a second target"),
        ("geo", TWO, {"geo_default": None}, "default None is not a target"),
        ("geo", (TWO[0], unresolved(SPECS[1], continents=("NA",))), {}, "continent NA goes to both"),
        ("geo", (TWO[0], unresolved(SPECS[1], continents=("XX",))), {}, "unknown continent code 'XX'"),
        ("geo", (TWO[0], unresolved(SPECS[1], countries=("usa",))), {}, "unknown country code 'usa'"),
        ("latency", (TWO[0], TWO[0]), {}, "name a target twice"),
        ("latency", TWO, {"health_check_interval": 20}, "10 or 30"),
        ("latency", TWO, {"failure_threshold": 11}, "1 to 10"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(
    mode: RoutingMode, endpoints: tuple[DnsEndpoint, ...], overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        check_args(dns_args(mode, endpoints, **overrides))
    assert "\n" not in str(raised.value)


def test_good_arguments_pass() -> None:
    """A country inside another target's continent is legal; so is one zero weight among others."""
    endpoints = tuple(unresolved(spec) for spec in SPECS)
    for mode in MODES:
        check_args(dns_args(mode, endpoints))
