"""The hidden-dependency check: a name taken from config instead of from the resource that makes it."""

from __future__ import annotations

from datetime import date
from typing import Any

from preflight.hidden_dependencies import hidden_dependencies
from preflight.plan import Plan, PlannedResource

TODAY = date(2026, 12, 2)
POOL = "acme-prod.svc.id.goog"
CLUSTER = "urn:pulumi:s::p::gcp:container/cluster:Cluster::c"
COMPONENT = "urn:pulumi:s::p::mlplatform:compute:GpuCluster::c"
MEMBER = f"principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/{POOL}/subject/ns/a/sa/b"


def _resource(
    urn: str, inputs: dict[str, Any], *, depends: tuple[str, ...] = (), parent: str | None = None
) -> PlannedResource:
    type_token = urn.split("::")[2]
    return PlannedResource(
        urn=urn,
        type=type_token,
        name=urn.split("::")[-1],
        custom=not type_token.startswith("mlplatform:"),
        parent=parent,
        provider=None,
        dependencies=depends,
        protect=False,
        retain_on_delete=False,
        inputs=inputs,
    )


def _plan(*resources: PlannedResource) -> Plan:
    return Plan(project="p", stack="s", resources=resources, outputs={})


def _grant(depends: tuple[str, ...] = (), **inputs: Any) -> PlannedResource:
    return _resource(
        "urn:pulumi:s::p::gcp:storage/bucketIAMMember:BucketIAMMember::grant",
        {"bucket": "models-1234567", "role": "roles/storage.objectViewer", "member": MEMBER, **inputs},
        depends=depends,
    )


def _cluster() -> PlannedResource:
    return _resource(
        CLUSTER, {"name": "acme-cluster", "workloadIdentityConfig": {"workloadPool": POOL}}, parent=COMPONENT
    )


def test_a_member_naming_the_pool_without_depending_on_the_cluster_is_reported() -> None:
    plan = _plan(_resource(COMPONENT, {}), _cluster(), _grant())
    (warning,) = hidden_dependencies(plan, TODAY)
    assert warning.check == "hidden-dependency"
    assert warning.urn.endswith("::grant")
    assert "gcp:container/cluster:Cluster 'c'" in warning.message and POOL in warning.message


def test_a_dependency_on_the_cluster_or_its_component_clears_it() -> None:
    for depends in ((CLUSTER,), (COMPONENT,)):
        plan = _plan(_resource(COMPONENT, {}), _cluster(), _grant(depends))
        assert hidden_dependencies(plan, TODAY) == []


def test_a_dependency_through_another_resource_clears_it() -> None:
    between = _resource("urn:pulumi:s::p::gcp:serviceaccount/account:Account::sa", {}, depends=(CLUSTER,))
    plan = _plan(_cluster(), between, _grant((between.urn,)))
    assert hidden_dependencies(plan, TODAY) == []


def test_values_many_resources_share_or_prose_mentions_name_nothing() -> None:
    namesake = _resource("urn:pulumi:s::p::gcp:compute/network:Network::n", {"name": POOL})
    described = _resource(
        "urn:pulumi:s::p::gcp:kms/cryptoKey:CryptoKey::k", {"description": f"for the pool {POOL} and more"}
    )
    assert hidden_dependencies(_plan(_cluster(), namesake, _grant()), TODAY) == []
    assert hidden_dependencies(_plan(_cluster(), described), TODAY) == []


def test_the_shipped_stacks_have_none(stack_plan: Plan) -> None:
    assert hidden_dependencies(stack_plan, TODAY) == []


def test_a_kubernetes_name_inside_a_cloud_tag_names_nothing() -> None:
    """The autoscaler's node-template tag keys carry its release name; no cloud resource needs a release."""
    release = _resource("urn:pulumi:s::p::kubernetes:helm.sh/v3:Release::autoscaler", {"name": "cluster-autoscaler"})
    tag = _resource(
        "urn:pulumi:s::p::aws:autoscaling/tag:Tag::t",
        {"tag": {"key": "k8s.io/cluster-autoscaler/node-template/label/pool", "value": "t4"}},
    )
    assert hidden_dependencies(_plan(release, tag), TODAY) == []
