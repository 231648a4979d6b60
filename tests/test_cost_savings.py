"""mlplatform:costSavings: each saving is a config choice, refused where it does not fit, honoured by the plan and
priced by `preflight cost`; dev idles under 350 USD a month with the savings Pulumi.dev.yaml declares."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight.cost import price_plan
from preflight.plan import Plan
from pricing.table import PriceTable, load_price_table
from stacks.config import ConfigError
from stacks.cost_config import PROD_COST, parse_cost
from tests.test_config import GOOD, parse
from tests.test_cost import HOURS, TEST_PRICES, _footprint, _graph, _item, _lines, _resource

DEV: dict[str, Any] = {
    "environment": "dev",
    "owner": "ml-platform",
    "costCenter": "ml-research",
    "targets": [
        {"cloud": "aws", "region": "us-east-1"},
        {"cloud": "gcp", "region": "us-central1", "project": "mlplatform-dev"},
        {"cloud": "azure", "region": "eastus"},
    ],
}
PROD_ONLY = {key: None for key in GOOD if key not in DEV}


def dev(**changes: Any) -> Any:
    return parse(**{**DEV, **PROD_ONLY, **changes})


# --- config -------------------------------------------------------------------------------------------------------


def test_dev_and_prod_keep_the_database_on_the_primary_target_unless_every_target_is_chosen() -> None:
    assert dev().cost.database_targets == ("aws-us-east-1",)  # no model sync: the first target is the primary
    assert [t for t in ("aws-us-east-1", "gcp-us-central1") if dev().cost.has_database(t)] == ["aws-us-east-1"]
    every = dev(costSavings={"databases": "every-target"}).cost
    assert every.has_database("gcp-us-central1") and every.has_database("azure-eastus")
    assert len(parse().cost.database_targets) == 1 and parse().cost.has_database(parse().targets[0].name)
    assert parse(costSavings={"databases": "every-target"}).cost.database_targets == ()


def test_spot_system_nodes_stop_at_aks() -> None:
    cost = dev(costSavings={"spotSystemNodes": True}).cost
    assert (cost.spot_system("aws"), cost.spot_system("gcp"), cost.spot_system("azure")) == (True, True, False)


@pytest.mark.parametrize(
    ("stack", "savings", "key", "problem"),
    [
        ("prod", {"gkeFreeTier": True}, "gkeFreeTier", "the stack has 0 gcp targets"),
        ("dev", {"databases": "some"}, "databases", "expected primary or every-target, got 'some'"),
        ("dev", {"databases": True}, "databases", "expected a string"),
        ("prod", {"spotSystemNodes": True}, "spotSystemNodes", "prod keeps its system nodes on demand"),
        ("prod", {"publicNodes": True}, "publicNodes", "prod keeps its nodes private"),
        ("dev", {"spotSystemNode": True}, "spotSystemNode", "unknown key"),
        ("dev", {"gkeFreeTier": "yes"}, "gkeFreeTier", "expected true or false"),
        ("dev", [], "costSavings", "expected a map"),
    ],
)
def test_bad_savings_name_their_key(stack: str, savings: Any, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        (dev if stack == "dev" else parse)(costSavings=savings)
    assert caught.value.key.endswith(key) and problem in caught.value.problem
    assert "\n" not in str(caught.value)


def test_the_free_tier_credit_covers_one_zonal_cluster_only() -> None:
    two_gke = DEV["targets"] + [{"cloud": "gcp", "region": "europe-west4", "project": "mlplatform-dev"}]
    with pytest.raises(ConfigError, match="the credit covers one GKE cluster; the stack has 2 gcp targets"):
        dev(targets=two_gke, costSavings={"gkeFreeTier": True})
    with pytest.raises(ConfigError, match=r"gkeFreeTier: the credit covers a zonal cluster; this environment"):
        parse_cost("costSavings", {"gkeFreeTier": True}, PROD_COST, [("gcp-a", "gcp")], "gcp-a", regional_gke=True)


def test_public_nodes_need_an_eks_target() -> None:
    azure_only = [{"cloud": "azure", "region": "eastus"}]
    with pytest.raises(ConfigError, match="publicNodes: only EKS nodes go without NAT"):
        dev(targets=azure_only, costSavings={"publicNodes": True})
    with pytest.raises(ConfigError, match="spotSystemNodes: AKS system pools cannot be spot"):
        dev(targets=azure_only, costSavings={"spotSystemNodes": True})


# --- the dev plan honours the savings ----------------------------------------------------------------------------


def _of(plan: Plan, type_token: str) -> list[Any]:
    return plan.of_type(type_token)


def test_dev_plan_has_one_database_on_the_primary(dev_plan: Plan) -> None:
    databases = [
        *_of(dev_plan, "aws:rds/instance:Instance"),
        *_of(dev_plan, "gcp:sql/databaseInstance:DatabaseInstance"),
        *_of(dev_plan, "azure-native:dbforpostgresql:Server"),
    ]
    assert [dev_plan.target_of(r) for r in databases] == ["aws-us-east-1"]
    assert set(dev_plan.outputs["databases"]) == {"aws-us-east-1"}


def test_dev_plan_runs_eks_and_gke_system_nodes_on_spot_and_aks_on_demand(dev_plan: Plan) -> None:
    (eks,) = [
        r for r in _of(dev_plan, "eks:index:ManagedNodeGroup") if r.inputs["labels"]["mlplatform.io/role"] == "system"
    ]
    assert eks.inputs["capacityType"] == "SPOT" and eks.inputs["labels"]["mlplatform.io/capacity"] == "spot"
    (gke,) = [r for r in _of(dev_plan, "gcp:container/nodePool:NodePool") if r.inputs["name"] == "system"]
    assert gke.inputs["nodeConfig"]["spot"] is True and gke.inputs["nodeConfig"]["machineType"] == "e2-standard-2"
    (aks,) = _of(dev_plan, "azure-native:containerservice:ManagedCluster")
    (system,) = [p for p in aks.inputs["agentPoolProfiles"] if p["mode"] == "System"]
    assert system.get("scaleSetPriority", "Regular") == "Regular" and system["vmSize"] == "Standard_D2ds_v5"


def test_dev_plan_declares_the_gke_credit_and_gives_eks_nodes_their_own_addresses(dev_plan: Plan) -> None:
    (gke,) = _of(dev_plan, "gcp:container/cluster:Cluster")
    assert gke.inputs["resourceLabels"] == {"mlplatform-cost-credit": "gke-free-tier"}
    assert _of(dev_plan, "aws:ec2/natGateway:NatGateway") == [] and _of(dev_plan, "aws:ec2/eip:Eip") == []
    node_subnets = [
        s for s in _of(dev_plan, "aws:ec2/subnet:Subnet") if "kubernetes.io/role/internal-elb" in s.inputs["tags"]
    ]
    assert node_subnets and all(s.inputs["mapPublicIpOnLaunch"] is True for s in node_subnets)
    routes = [t.inputs["routes"] for t in _of(dev_plan, "aws:ec2/routeTable:RouteTable")]
    assert routes and all(r[0]["gatewayId"].startswith("igw-") for r in routes)


def test_prod_plan_keeps_nat_private_nodes_on_demand_system_pools_and_the_primarys_database(prod_plan: Plan) -> None:
    assert len(_of(prod_plan, "aws:ec2/natGateway:NatGateway")) == 6  # three zones, two AWS targets
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in _of(prod_plan, "aws:ec2/subnet:Subnet"))
    groups = [
        r for r in _of(prod_plan, "eks:index:ManagedNodeGroup") if r.inputs["labels"]["mlplatform.io/role"] == "system"
    ]
    assert groups and all(g.inputs["capacityType"] == "ON_DEMAND" for g in groups)
    assert all(
        "resourceLabels" not in c.inputs or not c.inputs["resourceLabels"]
        for c in _of(prod_plan, "gcp:container/cluster:Cluster")
    )
    assert set(prod_plan.outputs["databases"]) == {prod_plan.outputs["modelSync"]["primary"]}


# --- preflight cost ------------------------------------------------------------------------------------------------


def test_dev_idles_under_350_usd_a_month(dev_plan: Plan) -> None:
    report = price_plan(dev_plan)
    assert report.idle <= 350.0
    lines = _lines(report)
    # the credit pays the zonal cluster's whole fee: 0.10 x 730 = 73.00, under the 74.40 credit
    assert lines["GKE free tier credit (declared: mlplatform:costSavings)"] == (-73.0, -73.0)
    # one public IPv4 address per EKS node: 0.005 x 730 = 3.65 each, 1 system node idle
    (address,) = [v for k, v in lines.items() if k.startswith("public IPv4 address per node (1 to")]
    assert address[0] == 3.65


# Hand-checked: a small table the expected figures are worked out from.
PRICES = {
    **TEST_PRICES,
    "items": {
        **TEST_PRICES["items"],
        "gcp/control-plane/gke": _item(0.10),
        "gcp/credit/gke-free-tier": _item(74.40, unit="month"),
        "gcp/nat-gateway/hour": _item(0.044),
        "gcp/nat-gateway/vm-hour": _item(0.0014),
        "gcp/nat-gateway/data": _item(0.045, unit="GB"),
        "aws/public-ipv4/address": _item(0.005),
    },
}


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> PriceTable:
    path = tmp_path_factory.mktemp("prices") / "prices.yaml"
    path.write_text(yaml.safe_dump(PRICES))
    return load_price_table(path)


def _gcp_target(location: str, labels: dict[str, str] | None, nodes: tuple[int, int]) -> Plan:
    footprint = _footprint("gcp-us-central1", "gcp", "us-central1")
    under = footprint["urn"]
    pool = {
        "nodeConfig": {"machineType": "n1-standard-4", "spot": True},
        "autoscaling": {"totalMinNodeCount": nodes[0], "totalMaxNodeCount": nodes[1]},
    }
    cluster = {"location": location, **({"resourceLabels": labels} if labels else {})}
    return _graph(
        footprint,
        _resource("gcp:container/cluster:Cluster", "gke", cluster, under),
        _resource("gcp:container/nodePool:NodePool", "pool", pool, under),
        _resource("gcp:compute/routerNat:RouterNat", "nat", {}, under),
    )


CREDIT = {"mlplatform-cost-credit": "gke-free-tier"}


def test_the_credit_pays_a_declared_zonal_clusters_fee_and_nothing_else(table: PriceTable) -> None:
    zonal = _lines(price_plan(_gcp_target("us-central1-a", CREDIT, (1, 3)), table))
    assert zonal["control plane (gke)"] == (73.0, 73.0)  # 0.10 x 730
    assert zonal["GKE free tier credit (declared: mlplatform:costSavings)"] == (-73.0, -73.0)  # min(74.40, 73.00)
    regional = _lines(price_plan(_gcp_target("us-central1", CREDIT, (1, 3)), table))
    undeclared = _lines(price_plan(_gcp_target("us-central1-a", None, (1, 3)), table))
    assert not any("credit" in line for line in [*regional, *undeclared])


def test_cloud_nat_is_billed_per_vm_up_to_its_cap(table: PriceTable) -> None:
    small = _lines(price_plan(_gcp_target("us-central1-a", None, (1, 3)), table))
    # 1 VM: 0.0014 x 730 = 1.022 + 200 GB x 0.045 = 9.00 -> 10.02; 3 VMs: 3.066 + 9 -> 12.07
    assert small["NAT gateway and the 200 GB it processes (1 to 3 VMs)"] == (10.02, 12.07)
    large = _lines(price_plan(_gcp_target("us-central1-a", None, (2, 40)), table))
    # 40 VMs: 0.056 an hour, above the 0.044 cap -> 0.044 x 730 = 32.12 + 9 = 41.12; 2 VMs: 2.044 + 9 = 11.04
    assert large["NAT gateway and the 200 GB it processes (2 to 40 VMs)"] == (11.04, 41.12)


def _aws_nat_target(s3_gateway: bool, public_nodes: bool) -> Plan:
    footprint = _footprint("aws-us-east-1", "aws", "us-east-1")
    under = footprint["urn"]
    group = {
        "capacityType": "SPOT",
        "instanceTypes": ["m6i.large"],
        "scalingConfig": {"minSize": 1, "maxSize": 2, "desiredSize": 1},
        "labels": {"mlplatform.io/role": "system"},
    }
    endpoint = {"vpcEndpointType": "Gateway", "serviceName": "com.amazonaws.us-east-1.s3"}
    return _graph(
        footprint,
        _resource("eks:index:ManagedNodeGroup", "system", group, under),
        *([] if public_nodes else [_resource("aws:ec2/natGateway:NatGateway", "nat", {}, under)]),
        *([_resource("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", endpoint, under)] if s3_gateway else []),
        _resource("aws:ec2/subnet:Subnet", "nodes", {"mapPublicIpOnLaunch": public_nodes}, under),
    )


def test_the_s3_gateway_endpoint_takes_model_pulls_off_nat(table: PriceTable) -> None:
    without = _lines(price_plan(_aws_nat_target(False, False), table))
    assert without["NAT gateway and the 200 GB it processes"] == (44.5, 44.5)  # 0.05 x 730 + 200 x 0.04
    with_endpoint = _lines(price_plan(_aws_nat_target(True, False), table))
    what = "NAT gateway and the 150 GB it processes; 50 GB of model pulls through the S3 gateway endpoint"
    assert with_endpoint[what] == (42.5, 42.5)  # 36.50 + 150 x 0.04


def test_public_nodes_pay_an_address_each_and_no_nat(table: PriceTable) -> None:
    lines = _lines(price_plan(_aws_nat_target(True, True), table))
    assert not any(line.startswith("NAT") for line in lines)
    assert lines["public IPv4 address per node (1 to 2 nodes)"] == (3.65, 7.3)  # 0.005 x 730 per node
    assert HOURS == 730


def test_dev_cost_alerts_price_the_spot_system_nodes(dev_plan: Plan) -> None:
    """The alert rules' price series carry the system pool's real capacity: on spot, the spot list price, so the
    UnpricedNodes alert stays quiet and the estimate is the spot figure (0.037 USD an hour for m6i.large)."""
    from tests.test_observability_rules import _constants, serving_rules

    prices = _constants(serving_rules(dev_plan)["aws-us-east-1"], "mlplatform:node_hourly_price_dollars")
    assert prices[(("capacity", "spot"), ("instance_type", "m6i.large"))] == pytest.approx(0.037)
    assert (("capacity", "on-demand"), ("instance_type", "m6i.large")) not in prices


def test_the_credit_pays_the_standard_fee_of_a_gke_cluster_in_extended_support() -> None:
    """GKE 1.33 is past standard support on 2026-12-02; in the Extended channel it pays 0.60 an hour. The credit
    pays the 0.10 standard fee (73.00 a month) and not the surcharge, another SKU."""
    prices = {**PRICES, "items": {**PRICES["items"], "gcp/control-plane/gke-extended": _item(0.60)}}
    path = Path(tempfile.mkdtemp()) / "prices.yaml"
    path.write_text(yaml.safe_dump(prices))
    footprint = _footprint("gcp-us-central1", "gcp", "us-central1")
    cluster = {
        "location": "us-central1-a",
        "minMasterVersion": "1.33",
        "releaseChannel": {"channel": "EXTENDED"},
        "resourceLabels": CREDIT,
    }
    plan = _graph(footprint, _resource("gcp:container/cluster:Cluster", "gke", cluster, footprint["urn"]))
    report = price_plan(plan, load_price_table(path), today=date(2026, 12, 2))
    amounts = sorted(round(i.idle, 2) for t in report.targets for i in t.items if i.resource == "gke")
    assert amounts == [-73.0, 438.0]  # 0.60 x 730, less the credit on the 0.10 x 730 standard fee
