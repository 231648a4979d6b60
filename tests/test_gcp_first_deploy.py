"""What a first `pulumi up` on a fresh GCP project needs, seen in the plan: the APIs on before
anything else, grants that wait for what they name, labels where the provider cannot put them,
maintenance windows in prod, and regions that can hold the GPU pools."""

from __future__ import annotations

from typing import Any

import pytest

from preflight.plan import Plan, PlannedResource
from stacks.config import ConfigError, parse_stack_config
from tests.helpers import every
from tests.test_config import GOOD, engine_config, publishing_for

SERVICE = "gcp:projects/service:Service"
CLUSTER = "gcp:container/cluster:Cluster"
# The APIs a new project lacks (issue 15, checked against the Service Usage docs, 2026-12).
NEEDED = {
    "compute.googleapis.com",
    "container.googleapis.com",
    "sqladmin.googleapis.com",
    "servicenetworking.googleapis.com",
    "artifactregistry.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "containerscanning.googleapis.com",
    "storage.googleapis.com",  # the model bucket (Cloud Storage JSON API)
    "serviceusage.googleapis.com",  # the API that enables the others
    "cloudkms.googleapis.com",  # customer-managed keys (mlplatform:encryption); enabling it costs nothing
}


def gcp_resources(plan: Plan) -> list[PlannedResource]:
    return [r for r in plan.resources if r.custom and r.type.startswith("gcp:") and r.type != SERVICE]


def services_by_api(plan: Plan) -> dict[str, PlannedResource]:
    return {r.inputs["service"]: r for r in plan.of_type(SERVICE)}


def test_every_api_a_new_project_lacks_is_enabled_and_left_on_at_destroy(stack_plan: Plan) -> None:
    services = services_by_api(stack_plan)
    assert set(services) == NEEDED
    project = stack_plan.of_type(CLUSTER)[0].inputs["project"]
    for api, service in services.items():
        assert service.inputs["project"] == project, api
        assert service.inputs["disableOnDestroy"] is False, api  # other stacks and teams use them


def test_every_gcp_resource_waits_for_the_apis(stack_plan: Plan) -> None:
    """An API that is still off fails the create; so everything depends on every Service."""
    services = {s.urn for s in stack_plan.of_type(SERVICE)}
    resources = gcp_resources(stack_plan)
    assert len(resources) > 20
    for resource in resources:
        missing = services - set(resource.dependencies)
        assert not missing, f"{resource.type} {resource.name} does not wait for {sorted(missing)}"


@pytest.mark.parametrize(
    ("type_token", "api"),
    [
        (CLUSTER, "container.googleapis.com"),
        ("gcp:compute/network:Network", "compute.googleapis.com"),
        ("gcp:sql/databaseInstance:DatabaseInstance", "sqladmin.googleapis.com"),
        ("gcp:servicenetworking/connection:Connection", "servicenetworking.googleapis.com"),
        ("gcp:artifactregistry/repository:Repository", "artifactregistry.googleapis.com"),
        ("gcp:serviceaccount/account:Account", "iam.googleapis.com"),
        ("gcp:projects/iAMMember:IAMMember", "cloudresourcemanager.googleapis.com"),
    ],
)
def test_each_resource_waits_for_its_own_api(prod_every_database_plan: Plan, type_token: str, api: str) -> None:
    plan = prod_every_database_plan  # prod with a database on the GCP target too (costSavings.databases: every-target)
    service = services_by_api(plan)[api]
    for resource in every(plan, type_token):
        assert service.urn in resource.dependencies, resource.name


def test_grants_to_the_workload_pool_wait_for_the_cluster_that_makes_the_pool(stack_plan: Plan) -> None:
    """'Identity Pool does not exist' otherwise, on a project that never had a Workload Identity cluster."""
    [cluster] = stack_plan.of_type(CLUSTER)
    pool = cluster.inputs["workloadIdentityConfig"]["workloadPool"]
    grants = [
        r
        for r in stack_plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if f"/workloadIdentityPools/{pool}/" in r.inputs["member"]
    ]
    assert grants  # Triton's read grants at least
    for grant in grants:
        assert cluster.urn in grant.dependencies, grant.name


def test_prod_has_maintenance_windows_on_the_cluster_and_cloud_sql_and_dev_none(
    dev_plan: Plan, prod_plan: Plan, prod_every_database_plan: Plan
) -> None:
    [dev_cluster], [prod_cluster] = dev_plan.of_type(CLUSTER), prod_plan.of_type(CLUSTER)
    assert "maintenancePolicy" not in dev_cluster.inputs
    window = prod_cluster.inputs["maintenancePolicy"]["recurringWindow"]
    assert window["recurrence"] == "FREQ=WEEKLY;BYDAY=SA,SU"
    assert (window["startTime"], window["endTime"]) == ("2026-01-10T02:00:00Z", "2026-01-10T10:00:00Z")
    [prod_sql] = prod_every_database_plan.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    for dev_sql in dev_plan.of_type("gcp:sql/databaseInstance:DatabaseInstance"):  # dev: a database on the primary only
        assert "maintenanceWindow" not in dev_sql.inputs["settings"]
    assert prod_sql.inputs["settings"]["maintenanceWindow"] == {"day": 6, "hour": 2, "updateTrack": "stable"}


def test_prod_gpu_node_pools_upgrade_without_a_surge_node(prod_plan: Plan) -> None:
    gpu = [p for p in prod_plan.of_type("gcp:container/nodePool:NodePool") if p.inputs["name"] != "system"]
    assert gpu
    for pool in gpu:
        assert pool.inputs["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 0, "maxUnavailable": 1}


def parse(region: str, pools: list[dict[str, Any]], environment: str = "prod", aws: bool = False) -> None:
    targets = [{"cloud": "gcp", "region": region, "project": "ml-test-123"}]
    targets += [{"cloud": "aws", "region": "eu-west-1"}] if aws else []
    values = {**GOOD, "environment": environment, "targets": targets, "gpuPools": pools}
    values["modelPublishing"] = publishing_for(targets)
    parse_stack_config(engine_config(values), stack="test")


def test_a_region_with_too_few_zones_for_a_pools_gpu_is_refused_naming_the_target() -> None:
    """us-east4 offers L4 in a and c only (gpu-regions-zones, read 2026-12): prod's three zones cannot hold it."""
    l4 = [{"name": "l4", "accelerator": "L4"}]
    with pytest.raises(ConfigError) as refused:
        parse("us-east4", l4)
    message = str(refused.value)
    assert message.startswith("mlplatform:targets[0].region") and "\n" not in message
    assert "L4 in us-east4-a, us-east4-c" in message and "3 zones are needed" in message
    parse("us-east4", l4, environment="dev")  # two zones are enough in dev
    parse("us-central1", l4)  # L4 in a, b and c


def test_pools_kept_off_gcp_do_not_count_against_a_gcp_region() -> None:
    pools = [{"name": "l4", "accelerator": "L4", "clouds": ["aws"]}, {"name": "t4", "accelerator": "T4"}]
    parse("us-east4", pools, aws=True)  # T4 is in us-east4-a, b and c
