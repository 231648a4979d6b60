"""`preflight cost` and `compare`: the arithmetic on hand-checked cases, unpriced items, the shipped stacks.

Hand-checked cases use a small price table written by the test, so every expected figure
is worked out in the test from prices it can see.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight.compare import compare_gpu
from preflight.cost import price_plan
from preflight.cost_diff import diff_costs, render_markdown
from preflight.cost_model import STACK_WIDE, CostReport
from preflight.cost_render import render_cost
from preflight.errors import InputError
from preflight.plan import Plan
from preflight.plan_file import plan_from_json
from pricing.table import PriceTable, load_price_table
from tests.test_preflight_cli import run_preflight

HOURS = 730


def _item(price: float, spot: float | None = None, unit: str = "hour", **regions: float) -> dict[str, Any]:
    item: dict[str, Any] = {"unit": unit, "price": {"default": price, **regions}, "source": "test"}
    if spot is not None:
        item |= {"spot": {"default": spot}, "spotSource": "test"}
    return item


TEST_PRICES = {
    "currency": "USD",
    "hoursPerMonth": HOURS,
    "defaultRegions": {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"},
    "sources": {"test": {"url": "https://example.com/prices", "read": "2026-11"}},
    "items": {
        "aws/machine/g4dn.xlarge": _item(0.50, 0.20, **{"eu-west-1": 0.60}),
        "aws/machine/g4dn.2xlarge": _item(0.75, 0.30),
        "aws/machine/m6i.large": _item(0.10, 0.04),
        "aws/control-plane/eks": _item(0.10),
        "aws/nat-gateway/hour": _item(0.05),
        "aws/nat-gateway/data": _item(0.04, unit="GB"),
        "aws/database/db.m7g.large": _item(0.20),
        "aws/database-storage/gp3": _item(0.10, unit="GB-month"),
        "aws/object-storage/s3-standard": _item(0.02, unit="GB-month"),
        "aws/egress/internet": _item(0.09, unit="GB"),
        "gcp/machine/n1-standard-4": _item(0.20, 0.05),
        "gcp/machine/g2-standard-4": _item(0.70, 0.25),
        "gcp/accelerator/nvidia-tesla-t4": _item(0.35, 0.10),
        "gcp/egress/internet": _item(0.12, unit="GB"),
        "azure/machine/Standard_NC4as_T4_v3": _item(0.53, 0.10),
        "azure/machine/Standard_NV36ads_A10_v5": _item(3.20, 0.60),
        "azure/egress/internet": _item(0.087, unit="GB"),
    },
}


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> PriceTable:
    path = tmp_path_factory.mktemp("prices") / "prices.yaml"
    path.write_text(yaml.safe_dump(TEST_PRICES))
    return load_price_table(path)


def _resource(type_token: str, name: str, inputs: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:t::p::{type_token}::{name}",
        "type": type_token,
        "name": name,
        "inputs": inputs,
        "parent": parent,
    }


def _footprint(name: str, cloud: str, region: str) -> dict[str, Any]:
    return _resource("mlplatform:platform:Footprint", name, {"cloud": cloud, "region": region})


def _graph(*resources: dict[str, Any]) -> Plan:
    return plan_from_json({"project": "p", "stack": "t", "resources": list(resources)}, "test graph")


def _aws_target(region: str = "us-east-1", machine: str = "g4dn.xlarge", max_size: int = 3) -> Plan:
    footprint = _footprint(f"aws-{region}", "aws", region)
    under = footprint["urn"]
    return _graph(
        footprint,
        _resource(
            "eks:index:ManagedNodeGroup",
            "gpu",
            {
                "capacityType": "SPOT",
                "instanceTypes": [machine],
                "scalingConfig": {"minSize": 1, "maxSize": max_size, "desiredSize": 1},
                "labels": {"mlplatform.io/role": "gpu"},
            },
            under,
        ),
        _resource("aws:ec2/natGateway:NatGateway", "nat", {}, under),
        _resource(
            "aws:rds/instance:Instance",
            "db",
            {"instanceClass": "db.m7g.large", "multiAz": True, "allocatedStorage": 20},
            under,
        ),
        _resource("aws:s3/bucket:Bucket", "models", {}, under),
    )


def _lines(report: CostReport) -> dict[str, tuple[float, float]]:
    return {item.what: (round(item.idle, 2), round(item.peak, 2)) for t in report.targets for item in t.items}


def test_an_aws_target_priced_by_hand(table: PriceTable) -> None:
    report = price_plan(_aws_target(), table)
    (target,) = report.targets
    lines = _lines(report)
    # spot g4dn.xlarge: 0.20 x 1 x 730 = 146 idle, 0.20 x 3 x 730 = 438 peak; on demand 365 / 1095
    assert lines["pool gpu: g4dn.xlarge x 1 to 3 spot"] == (146.0, 438.0)
    # NAT: 0.05 x 730 = 36.50 an hour-month + 200 GB x 0.04 = 8.00
    assert lines["NAT gateway and the 200 GB it processes"] == (44.5, 44.5)
    # Multi-AZ db.m7g.large: 0.20 x 2 x 730 = 292 + 20 GB x 0.10 x 2 = 4
    assert lines["db.m7g.large Multi-AZ, 20 GB"] == (296.0, 296.0)
    assert lines["50 GB of models (s3-standard)"] == (1.0, 1.0)  # 50 x 0.02
    assert lines["100 GB internet egress"] == (9.0, 9.0)  # 100 x 0.09
    assert round(target.idle, 2) == 146 + 44.5 + 296 + 1 + 9
    assert round(target.peak, 2) == 438 + 44.5 + 296 + 1 + 9
    saving = target.to_json()["spot"]
    assert (saving["onDemandIdle"], saving["onDemandPeak"], saving["savingPercentPeak"]) == (365.0, 1095.0, 60.0)


def test_a_region_with_its_own_price_and_one_priced_at_the_default(table: PriceTable) -> None:
    ireland = price_plan(_aws_target("eu-west-1"), table)
    assert _lines(ireland)["pool gpu: g4dn.xlarge x 1 to 3 spot"] == (146.0, 438.0)  # spot has no Irish override
    assert ireland.targets[0].to_json()["spot"]["onDemandPeak"] == round(0.60 * 3 * HOURS, 2)
    assert "aws/nat-gateway/hour" in ireland.targets[0].estimated_regions
    assert "priced at the default region's figure" in render_cost(ireland)


def test_a_machine_missing_from_the_table_is_unpriced_never_zero(table: PriceTable) -> None:
    report = price_plan(_aws_target(machine="g5.xlarge"), table)
    (unpriced,) = report.unpriced
    assert "aws/machine/g5.xlarge" in unpriced.unpriced
    assert report.to_json()["unpriced"][0]["unpriced"] == unpriced.unpriced
    text = render_cost(report)
    assert "UNPRICED" in text and "1 item(s) unpriced and left out of the totals" in text


def test_gcp_n1_pays_for_its_attached_t4_and_g2_includes_its_l4(table: PriceTable) -> None:
    footprint = _footprint("gcp-us-central1", "gcp", "us-central1")

    def pool(name: str, machine: str, accelerator: str) -> dict[str, Any]:
        config = {"machineType": machine, "spot": True, "guestAccelerators": [{"type": accelerator, "count": 1}]}
        autoscaling = {"totalMinNodeCount": 0, "totalMaxNodeCount": 2}
        inputs = {"name": name, "nodeConfig": config, "autoscaling": autoscaling}
        return _resource("gcp:container/nodePool:NodePool", name, inputs, footprint["urn"])

    report = price_plan(
        _graph(footprint, pool("t4", "n1-standard-4", "nvidia-tesla-t4"), pool("l4", "g2-standard-4", "nvidia-l4")),
        table,
    )
    lines = _lines(report)
    assert lines["pool t4: n1-standard-4 x 0 to 2 spot"] == (0.0, round((0.05 + 0.10) * 2 * HOURS, 2))
    assert lines["pool l4: g2-standard-4 x 0 to 2 spot"] == (0.0, round(0.25 * 2 * HOURS, 2))


def test_right_sizing_names_the_cheaper_machine_with_the_same_gpus(table: PriceTable) -> None:
    report = price_plan(_aws_target(machine="g4dn.2xlarge"), table)
    (finding,) = report.right_sizing
    assert (finding.machine_type, finding.cheaper, finding.accelerator) == ("g4dn.2xlarge", "g4dn.xlarge", "1 x T4")
    assert round(finding.saving_peak, 2) == round((0.30 - 0.20) * 3 * HOURS, 2)  # spot prices, 3 nodes at peak
    assert "8 vCPU" in finding.detail and "4 vCPU" in finding.detail


def test_compare_ranks_clouds_cheapest_first(table: PriceTable) -> None:
    comparison = compare_gpu("t4", hours=100, count=2, table=table)
    ranked = [(o.cloud, o.machine_type, round(o.total, 2)) for o in comparison.offers]
    # on demand, 2 GPUs for 100 h: aws 2 x 0.50 x 100 = 100 (g4dn.2xlarge has 1 GPU too, dearer);
    # azure 2 x 0.53 x 100 = 106; gcp 2 x (0.20 + 0.35) x 100 = 110
    assert ranked == [
        ("aws", "g4dn.xlarge", 100.0),
        ("azure", "Standard_NC4as_T4_v3", 106.0),
        ("gcp", "n1-standard-4", 110.0),
    ]
    assert [round(o.percent_over_cheapest, 1) for o in comparison.offers] == [0.0, 6.0, 10.0]
    spot = compare_gpu("T4", hours=100, spot=True, table=table)
    assert [o.cloud for o in spot.offers] == ["azure", "gcp", "aws"]  # 10.00, 15.00, 20.00


def test_compare_says_when_a_cloud_has_no_such_gpu(table: PriceTable) -> None:
    comparison = compare_gpu("L4", hours=10, table=table)
    assert [o.cloud for o in comparison.offers] == ["gcp"]
    assert set(comparison.not_offered) == {"aws", "azure"}  # aws g6 unpriced in this table; Azure has no L4
    with pytest.raises(InputError, match="--gpu: 'V100' is not one of"):
        compare_gpu("V100", hours=10, table=table)


def test_the_difference_of_two_plans_per_target_and_type(table: PriceTable) -> None:
    base, head = price_plan(_aws_target(max_size=3), table), price_plan(_aws_target(max_size=5), table)
    diff = diff_costs(base, head)
    assert (round(diff.total.idle, 2), round(diff.total.peak, 2)) == (0.0, round(0.20 * 2 * HOURS, 2))
    assert [d.name for d in diff.resource_types] == ["eks:index:ManagedNodeGroup"]
    assert [d.name for d in diff.targets] == ["aws-us-east-1"]
    markdown = render_markdown(diff, "main.json")
    assert "+292.00 USD at peak" in markdown and "| eks:index:ManagedNodeGroup | 0.00 | +292.00 |" in markdown


def test_the_shipped_table_prices_every_resource_of_both_stacks(stack_plan: Plan) -> None:
    """Every price the rules ask for is in the table, and every resource type is priced, costs nothing by
    itself, or is billed by use (listed as such): a new type without a rule shows up here."""
    report = price_plan(stack_plan)
    assert [i.unpriced for i in report.unpriced if not i.unpriced.startswith("billed by use")] == []
    dns = {STACK_WIDE} if stack_plan.of_type("mlplatform:dns:GlobalDns") else set()
    assert {t.name for t in report.targets} == {*stack_plan.outputs["targets"], *dns}
    for target in report.targets:
        assert 0 < target.idle <= target.peak, target.name
    assert 0 < report.to_json()["spotSavingPercentPeak"] < 100


def test_dev_idle_is_control_planes_system_pools_and_the_data_services(dev_plan: Plan) -> None:
    """At idle dev's GPU pools are at zero: what remains is what the platform costs doing nothing."""
    table = load_price_table()
    report = price_plan(dev_plan)
    aws = next(t for t in report.targets if t.cloud == "aws")
    gpu_idle = [i.idle for i in aws.items if i.spot and i.gpu]
    assert gpu_idle and all(idle == 0 for idle in gpu_idle)
    eks = table.get("aws", "control-plane", "eks")
    assert eks is not None
    control_plane = next(i for i in aws.items if i.resource_type == "eks:index:Cluster")
    assert control_plane.idle == pytest.approx(eks.at(aws.region) * table.hours_per_month)
    assert sum(i.idle for i in aws.items) == pytest.approx(aws.idle)


def test_cost_and_compare_commands(tmp_path: Path) -> None:
    result = run_preflight("compare", "--gpu", "T4", "--hours", "100", "--json")
    assert result.returncode == 0, result.stderr
    offers = json.loads(result.stdout)["offers"]
    assert [o["cloud"] for o in offers] and offers == sorted(offers, key=lambda o: o["total"])
    bad = run_preflight("compare", "--gpu", "V100", "--hours", "1")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
