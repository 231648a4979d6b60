"""`preflight timeline`: the critical path of a plan, and the edges between clouds.

Hand-made graphs use their own small table (test types with round minutes), so each expected figure can be worked
out by hand in the comments; the shipped table is checked against the shipped stacks separately.
"""

from __future__ import annotations

from typing import Any

import pytest

from preflight.edges import DNS01_FEDERATION, INTO_GLOBAL_DNS, allowance, partition_cross_target_edges
from preflight.plan import Plan
from preflight.plan_file import plan_from_json
from preflight.timeline import (
    build_timeline,
    load_create_times,
    parse_create_times,
    render_text,
    variant_of,
)

STACK = "pulumi:pulumi:Stack"
FOOTPRINT = "mlplatform:platform:Footprint"
GLOBAL_DNS = "mlplatform:dns:GlobalDns"


def entry(minutes: float) -> dict[str, Any]:
    return {"minutes": minutes, "source": "https://example.com/times", "read": "2026-11", "note": "test figure"}


TIMES = parse_create_times(
    {
        "default": entry(0.25),
        "times": {
            "test:index:Net": entry(1),
            "test:index:Cluster": entry(10),
            "test:index:Pool": entry(4),
            "test:index:Db": entry(15),
            "test:index:App": entry(2),
            "test:index:Remote": entry(6),  # a remote component, timed as a unit
            "test:index:Slow": entry(20),
            "test:index:Quick": entry(3),
            "test:index:Medium": entry(5),
            "test:index:Long": entry(7),
            "test:index:After": entry(1),
        },
    },
    "test table",
)


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:test::proj::{type_token}::{name}"


def res(
    type_token: str,
    name: str,
    *,
    parent: str | None = None,
    deps: tuple[str, ...] = (),
    custom: bool = True,
    provider: str | None = None,
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "urn": urn(type_token, name),
        "type": type_token,
        "name": name,
        "custom": custom,
        "parent": parent,
        "provider": provider,
        "dependencies": list(deps),
        "inputs": inputs or {},
    }


ROOT = urn(STACK, "proj-test")
A = urn(FOOTPRINT, "a")
B = urn(FOOTPRINT, "b")


def skeleton() -> list[dict[str, Any]]:
    """The stack and two footprints, "a" and "b": the two targets of every hand-made graph."""
    return [
        res(STACK, "proj-test", custom=False),
        res(FOOTPRINT, "a", parent=ROOT, custom=False),
        res(FOOTPRINT, "b", parent=ROOT, custom=False),
    ]


def plan_of(resources: list[dict[str, Any]]) -> Plan:
    return plan_from_json({"resources": resources}, "hand-made graph")


def small_graph() -> Plan:
    net, cluster, pool = (
        urn("test:index:Net", "net"),
        urn("test:index:Cluster", "cluster"),
        urn("test:index:Pool", "pool"),
    )
    remote = urn("test:index:Remote", "remote")
    return plan_of(
        [
            *skeleton(),
            # a: net 0-1, cluster 1-11, pool 11-15, app 15-17 (waits on pool and cluster), db 1-16 (waits on net).
            res("test:index:Net", "net", parent=A),
            res("test:index:Cluster", "cluster", parent=A, deps=(net,)),
            res("test:index:Pool", "pool", parent=A, deps=(cluster,)),
            res("test:index:App", "app", parent=A, deps=(pool, cluster)),
            res("test:index:Db", "db", parent=A, deps=(net,)),
            # b: a remote component 0-6 (custom=False but in the table), then a type the table lacks: 6-6.25.
            res("test:index:Remote", "remote", parent=B, custom=False),
            res("test:index:Unknown", "thing", parent=B, deps=(remote,)),
        ]
    )


def test_the_critical_path_of_a_small_graph() -> None:
    timeline = build_timeline(small_graph(), TIMES)
    # The longest chain is net -> cluster -> pool -> app: 1 + 10 + 4 + 2 = 17 min (db ends at 16, b at 6.25).
    assert [step.name for step in timeline.critical_path] == ["net", "cluster", "pool", "app"]
    assert [step.finishes_at for step in timeline.critical_path] == [1, 11, 15, 17]
    assert [step.minutes for step in timeline.critical_path] == [1, 10, 4, 2]
    assert timeline.critical_minutes == 17
    # One after another: 1 + 10 + 4 + 2 + 15 (a) + 6 + 0.25 (b) = 38.25.
    assert timeline.serial_minutes == 38.25
    assert dict(timeline.target_finish) == {"a": 17, "b": 6.25}
    assert timeline.stack_wide_finish is None
    assert timeline.critical_path[0].target == "a"


def test_the_default_duration_is_flagged() -> None:
    timeline = build_timeline(small_graph(), TIMES)
    # Only "thing" has no entry (the remote component has one; local components take 0 and are not "defaulted").
    assert timeline.resources_using_default.count == 1
    assert timeline.resources_using_default.types == ("test:index:Unknown",)
    assert timeline.to_json()["resourcesUsingDefault"] == {"count": 1, "types": ["test:index:Unknown"], "minutes": 0.25}
    assert "1 resource(s) timed with the default 0.25 min" in render_text(timeline)
    assert "test:index:Unknown" in render_text(timeline)


def component_graph(*, group_waits_on_slow: bool) -> Plan:
    group = urn("test:index:Group", "group")
    inner = urn("test:index:Inner", "inner")
    slow = urn("test:index:Slow", "slow")
    return plan_of(
        [
            *skeleton(),
            *([res("test:index:Slow", "slow", parent=A)] if group_waits_on_slow else []),  # 0-20
            # A local component and its children: quick 0-3, medium 0-5, and long 0-7 one component further down.
            res("test:index:Group", "group", parent=A, custom=False, deps=(slow,) if group_waits_on_slow else ()),
            res("test:index:Quick", "quick", parent=group),
            res("test:index:Medium", "medium", parent=group),
            res("test:index:Inner", "inner", parent=group, custom=False),
            res("test:index:Long", "long", parent=inner),
            # "after" waits on the component, that is on everything under it.
            res("test:index:After", "after", parent=A, deps=(group,)),
        ]
    )


def test_waiting_on_a_component_waits_for_everything_under_it() -> None:
    timeline = build_timeline(component_graph(group_waits_on_slow=False), TIMES)
    # "after" waits for quick (0-3), medium (0-5) and, through the inner component, long (0-7): it ends at 8.
    assert [(step.name, step.finishes_at) for step in timeline.critical_path] == [("long", 7), ("after", 8)]
    # One after another: 3 + 5 + 7 + 1 = 16 (components take nothing).
    assert timeline.serial_minutes == 16


def test_a_child_does_not_wait_for_its_parent() -> None:
    timeline = build_timeline(component_graph(group_waits_on_slow=True), TIMES)
    # The component depends on slow (0-20), but neither its children (long still ends at 7, not 27) nor "after"
    # (which waits on the children, as Pulumi expands it, so ends at 8, not 21 or 28) wait for slow: slow alone
    # is the longest chain, 20 min.
    assert [(step.name, step.finishes_at) for step in timeline.critical_path] == [("slow", 20)]
    assert timeline.critical_minutes == 20
    assert timeline.serial_minutes == 36


def test_a_remote_component_is_timed_as_a_unit() -> None:
    # In b, the remote component (custom=False, but in the table) takes its 6 min and "thing" waits on it: 6.25.
    assert build_timeline(small_graph(), TIMES).target_finish["b"] == 6.25
    # Without app, db (1-16) is the longest chain of a.
    assert build_timeline(_without(small_graph(), "app"), TIMES).critical_minutes == 16


def test_a_cycle_raises_naming_a_resource() -> None:
    first, second = urn("test:index:App", "first"), urn("test:index:App", "second")
    plan = plan_of(
        [
            *skeleton(),
            res("test:index:App", "first", parent=A, deps=(second,)),
            res("test:index:App", "second", parent=A, deps=(first,)),
        ]
    )
    with pytest.raises(ValueError, match=r"cycle through urn:pulumi:test::proj::test:index:App::(first|second)"):
        build_timeline(plan, TIMES)


def test_a_dependency_outside_the_plan_is_named() -> None:
    plan = plan_of([*skeleton(), res("test:index:App", "app", parent=A, deps=(urn("test:index:Net", "gone"),))])
    with pytest.raises(ValueError, match="test:index:Net::gone, which is not in the plan"):
        build_timeline(plan, TIMES)


def cross_cloud_graph() -> Plan:
    dns = urn(GLOBAL_DNS, "global")
    gateway_a, gateway_b = urn("test:index:Service", "gateway-a"), urn("test:index:Service", "gateway-b")
    cluster_a, cluster_b = urn("test:index:Cluster", "cluster-a"), urn("test:index:Cluster", "cluster-b")
    role_a = urn("aws:iam/role:Role", "dns01-a")
    return plan_of(
        [
            *skeleton(),
            res("test:index:Cluster", "cluster-a", parent=A),
            res("test:index:Service", "gateway-a", parent=A, deps=(cluster_a,)),
            res("test:index:Cluster", "cluster-b", parent=B),
            res("test:index:Service", "gateway-b", parent=B, deps=(cluster_b,)),
            res(GLOBAL_DNS, "global", parent=ROOT, custom=False),
            # Allowed, into GlobalDns: its health check reads a's gateway.
            res("aws:route53/healthCheck:HealthCheck", "check-a", parent=dns, deps=(gateway_a,)),
            # Allowed, the DNS-01 federation: a's role reads a's cluster, and a's issuer reads its own role.
            res("aws:iam/role:Role", "dns01-a", parent=dns, deps=(cluster_a,)),
            res("test:index:Issuer", "issuer-a", parent=A, deps=(role_a,)),
            # Forbidden: b's gateway waits on a's cluster.
            res("test:index:Service", "sidecar-b", parent=B, deps=(cluster_a, gateway_b)),
        ]
    )


def test_cross_cloud_edges_are_detected_and_named() -> None:
    plan = cross_cloud_graph()
    allowed, other = partition_cross_target_edges(plan)
    assert [(edge.from_urn.rsplit("::", 1)[1], allowance(plan, edge)) for edge in allowed] == [
        ("check-a", INTO_GLOBAL_DNS),
        ("dns01-a", DNS01_FEDERATION),
        ("issuer-a", DNS01_FEDERATION),
    ]
    assert len(other) == 1
    edge = other[0]
    assert (edge.from_urn, edge.to_urn) == (
        urn("test:index:Service", "sidecar-b"),
        urn("test:index:Cluster", "cluster-a"),
    )
    assert (edge.kind, edge.from_target, edge.to_target) == ("dependency", "b", "a")

    timeline = build_timeline(plan, TIMES)
    assert timeline.cross_cloud_edges_allowed == 3
    assert timeline.cross_cloud_edges_other == (edge,)
    assert not timeline.parallel
    assert timeline.to_json()["crossCloudEdgesOther"] == [
        {"from": edge.from_urn, "to": edge.to_urn, "kind": "dependency", "fromTarget": "b", "toTarget": "a"}
    ]
    text = render_text(timeline)
    assert "NOT parallel: 1 edge(s) between clouds" in text
    assert f"{edge.from_urn} -> {edge.to_urn} (dependency, b -> a)" in text


def test_an_issuer_reading_another_clouds_role_is_not_allowed() -> None:
    """The federation edge is allowed only while the role waits on the issuer's own target."""
    resources = [item for item in cross_cloud_graph().to_json()["resources"] if item["name"] != "sidecar-b"]
    resources.append(res("test:index:Issuer", "issuer-b", parent=B, deps=(urn("aws:iam/role:Role", "dns01-a"),)))
    allowed, other = partition_cross_target_edges(plan_of(resources))
    assert len(allowed) == 3
    assert [(edge.from_urn.rsplit("::", 1)[1], edge.from_target, edge.to_target) for edge in other] == [
        ("issuer-b", "b", None)
    ]


def test_the_verdict_names_the_allowed_edges_when_the_clouds_are_apart() -> None:
    resources = [item for item in cross_cloud_graph().to_json()["resources"] if item["name"] != "sidecar-b"]
    timeline = build_timeline(plan_of(resources), TIMES)
    assert timeline.parallel
    assert "the 2 targets deploy in parallel: no edge between clouds except 3 allowed ones" in render_text(timeline)


def test_variants_pick_the_finer_entry() -> None:
    plan = plan_of(
        [
            *skeleton(),
            res("kubernetes:helm.sh/v3:Release", "monitoring", parent=A, inputs={"chart": "kube-prometheus-stack"}),
            res("kubernetes:helm.sh/v3:Release", "other", parent=A, inputs={"chart": "oci://example.com/charts/other"}),
            res("aws:rds/instance:Instance", "db", parent=A, inputs={"multiAz": True}),
            res("gcp:container/cluster:Cluster", "gke", parent=A, inputs={"location": "us-central1-a"}),
            res("gcp:container/cluster:Cluster", "gke-regional", parent=A, inputs={"location": "us-central1"}),
            res("kubernetes:apps/v1:Deployment", "triton", parent=A, inputs=_deployment({"nvidia.com/gpu": "1"})),
            res("kubernetes:apps/v1:Deployment", "web", parent=A, inputs=_deployment({"cpu": "1"})),
        ]
    )
    table = load_create_times()
    keys = {resource.name: table.lookup(resource)[0] for resource in plan.resources if resource.custom}
    assert keys == {
        "monitoring": "kubernetes:helm.sh/v3:Release/kube-prometheus-stack",
        "other": "kubernetes:helm.sh/v3:Release",  # no entry for the chart: the type's own figure
        "db": "aws:rds/instance:Instance/multi-az",
        "gke": "gcp:container/cluster:Cluster/zonal",
        "gke-regional": "gcp:container/cluster:Cluster",
        "triton": "kubernetes:apps/v1:Deployment/gpu",
        "web": "kubernetes:apps/v1:Deployment",
    }
    assert variant_of(next(r for r in plan.resources if r.name == "other")) == "other"  # the chart's last segment


def test_a_gpu_deployment_takes_its_own_cold_start() -> None:
    """The program writes each model Deployment's cold start (components/cold_start.py); its rollout waits that
    long, not the table's one estimate for every GPU Deployment. Worked example: 429 s is 7.15 minutes."""
    annotated = _deployment({"nvidia.com/gpu": "1"})
    annotated["metadata"] = {"annotations": {"mlplatform.io/cold-start-seconds": "429"}}
    plan = plan_of(
        [
            *skeleton(),
            res("kubernetes:apps/v1:Deployment", "triton", parent=A, inputs=annotated),
            res("kubernetes:apps/v1:Deployment", "other", parent=B, inputs=_deployment({"nvidia.com/gpu": "1"})),
        ]
    )
    finish = build_timeline(plan).target_finish  # one Deployment per target
    assert finish["a"] == pytest.approx(7.15)
    assert finish["b"] == load_create_times().times["kubernetes:apps/v1:Deployment/gpu"].minutes


def test_a_first_rollout_with_warm_spares_is_timed_on_a_new_node() -> None:
    """With warm spares the budget's figure is the first replica's on a spare (20 s); a first rollout's replicas land
    on new nodes, so its rollout takes the new-node figure (429 s, 7.15 minutes) the program writes beside it."""
    annotated = _deployment({"nvidia.com/gpu": "1"})
    annotated["metadata"] = {
        "annotations": {
            "mlplatform.io/cold-start-seconds": "20",
            "mlplatform.io/cold-start-new-node-seconds": "429",
        }
    }
    plan = plan_of([*skeleton(), res("kubernetes:apps/v1:Deployment", "triton", parent=A, inputs=annotated)])
    assert build_timeline(plan).target_finish["a"] == pytest.approx(7.15)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"minutes": 1, "source": "https://x", "read": "2026-11"}, "times: test:index:Net: expected exactly the keys"),
        ({**entry(1), "read": "Nov 2026"}, "times: test:index:Net: read: expected the month read as YYYY-MM"),
        ({**entry(1), "source": "example.com"}, "times: test:index:Net: source: expected an https:// URL"),
        ({**entry(1), "minutes": True}, "times: test:index:Net: minutes: expected a number"),
        ({**entry(1), "minutes": -1}, "times: test:index:Net: minutes: expected a number"),
        ({**entry(1), "note": " "}, "times: test:index:Net: note: expected a non-empty string"),
    ],
)
def test_a_bad_entry_is_named(broken: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_create_times({"default": entry(0.25), "times": {"test:index:Net": broken}}, "t.yaml")


def test_a_bad_key_or_shape_is_named() -> None:
    with pytest.raises(ValueError, match="'EKS cluster' is not a type token"):
        parse_create_times({"default": entry(0.25), "times": {"EKS cluster": entry(10)}}, "t.yaml")
    with pytest.raises(ValueError, match="exactly 'default' and 'times'"):
        parse_create_times({"times": {"test:index:Net": entry(1)}}, "t.yaml")
    with pytest.raises(ValueError, match=r"t\.yaml: default: minutes"):
        parse_create_times(
            {"default": {**entry(1), "minutes": "soon"}, "times": {"test:index:Net": entry(1)}}, "t.yaml"
        )


def test_the_shipped_table_covers_every_custom_type_of_the_shipped_stacks(dev_plan: Plan, prod_plan: Plan) -> None:
    table = load_create_times()
    needed = {r.type for plan in (dev_plan, prod_plan) for r in plan.resources if r.custom}
    needed |= {"eks:index:Cluster", "eks:index:ManagedNodeGroup"}
    assert sorted(needed - set(table.times)) == []
    assert all(
        entry.read in ("2026-11", "2026-12") and entry.source.startswith("https://") for entry in table.times.values()
    )
    assert build_timeline(prod_plan).resources_using_default.count == 0


def test_the_prod_plan(prod_plan: Plan) -> None:
    timeline = build_timeline(prod_plan)  # how long this takes is a figure of benchmarks/synthesis.py, not a test
    # The longest chain starts with the network a cluster is built in (or the cluster itself, or on GCP the APIs
    # everything waits for) and, with clusters of
    # 9-12 min, Helm releases and a GPU rollout on top, takes between 20 and 90 minutes.
    first = timeline.critical_path[0]
    assert first.type in NETWORK_OR_CLUSTER, first
    assert 20 <= timeline.critical_minutes <= 90
    assert timeline.critical_minutes == timeline.critical_path[-1].finishes_at
    assert timeline.serial_minutes > 5 * timeline.critical_minutes  # the parallelism is what makes it fast
    assert set(timeline.target_finish) == set(prod_plan.outputs["targets"]) and len(timeline.target_finish) == 4
    assert all(10 < done <= timeline.critical_minutes for done in timeline.target_finish.values())
    assert timeline.parallel and timeline.cross_cloud_edges_allowed > 0
    text = render_text(timeline)
    assert "the 4 targets deploy in parallel" in text
    assert set(timeline.to_json()) >= {"criticalPath", "criticalMinutes", "serialMinutes", "targetFinishMinutes"}


NETWORK_OR_CLUSTER = {
    "gcp:projects/service:Service",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "gcp:compute/network:Network",
    "gcp:compute/subnetwork:Subnetwork",
    "azure-native:resources:ResourceGroup",
    "azure-native:network:VirtualNetwork",
    "azure-native:network:Subnet",
    "eks:index:Cluster",
    "gcp:container/cluster:Cluster",
    "azure-native:containerservice:ManagedCluster",
}


def _deployment(resources: dict[str, str]) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [{"name": "main", "resources": {"limits": resources}}]}}}}


def _without(plan: Plan, name: str) -> Plan:
    """The plan without one resource, and without the edges to it."""
    gone = next(resource for resource in plan.resources if resource.name == name)
    kept = [
        {**item, "dependencies": [d for d in item["dependencies"] if d != gone.urn]}
        for item in plan.to_json()["resources"]
        if item["urn"] != gone.urn and item["parent"] != gone.urn
    ]
    return plan_from_json({"resources": kept}, "trimmed")
