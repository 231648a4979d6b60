"""GlobalDns in the shipped stacks, and the edges between clouds that the design allows."""

from __future__ import annotations

from preflight.edges import cross_target_edges, in_global_dns
from preflight.plan import Plan

GLOBAL_DNS = "mlplatform:dns:GlobalDns"


def test_the_only_edges_between_targets_lead_into_global_dns(stack_plan: Plan) -> None:
    assert cross_target_edges(stack_plan) == []


def test_global_dns_reads_every_gateway_in_prod(prod_plan: Plan) -> None:
    read_from: set[str | None] = set()
    for resource in prod_plan.resources:
        if in_global_dns(prod_plan, resource):
            for dependency in resource.dependencies:
                other = prod_plan.get(dependency)
                if other is not None:
                    read_from.add(prod_plan.target_of(other))
    assert read_from - {None} == set(prod_plan.outputs["targets"])


def test_a_health_check_and_a_record_per_target_and_a_bounded_failover(prod_plan: Plan) -> None:
    assert len(prod_plan.of_type(GLOBAL_DNS)) == 1
    checks = prod_plan.of_type("aws:route53/healthCheck:HealthCheck")
    assert len(checks) == len(prod_plan.outputs["targets"])
    for check in checks:
        inputs = check.inputs
        assert (inputs["type"], inputs["port"], inputs["resourcePath"]) == ("HTTPS", 443, "/v2/health/ready")
        assert (inputs["requestInterval"], inputs["failureThreshold"], inputs["measureLatency"]) == (10, 2, True)
    records = prod_plan.of_type("aws:route53/record:Record")
    routing = [r for r in records if r.inputs["name"].startswith("api.")]
    assert len(routing) == len(checks)
    assert all(r.inputs["type"] == "CNAME" and r.inputs.get("healthCheckId") for r in routing)
    assert prod_plan.outputs["failoverSeconds"] == 50 <= 60
    assert prod_plan.outputs["globalUrl"] == "https://api.ml.example.com"


def test_dev_runs_without_global_dns(dev_plan: Plan) -> None:
    assert dev_plan.of_type(GLOBAL_DNS) == []
    assert "failoverSeconds" not in dev_plan.outputs


def test_each_routing_record_waits_for_the_target_name_it_points_at(prod_plan: Plan) -> None:
    """A CNAME made before its target's record would answer NXDOMAIN, and resolvers cache that."""
    records = prod_plan.of_type("aws:route53/record:Record")
    by_name = {r.inputs["name"]: r for r in records}
    routing = [r for r in records if r.inputs["name"].startswith("api.")]
    assert routing
    for record in routing:
        (target_host,) = record.inputs["records"]
        assert by_name[target_host].urn in record.dependencies
