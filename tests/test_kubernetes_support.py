"""Kubernetes support windows: the table stays fresh, config refuses a minor past standard support,
`preflight plan` warns 90 days ahead, `preflight cost` prices paid extended support.

Expected dates are the sources' (components/data/kubernetes_support.yaml names them): EKS 1.34
leaves standard support on 2026-12-02 and 1.35 on 2027-03-27; GKE 1.34 ended 2026-10-01; AKS
1.33 reached end of life at the end of July 2026 and 1.35 ends 2027-03-31; GKE 1.35 2027-04-11.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.gpu_cluster.aws_autoscaler import CHART_VERSIONS
from components.kubernetes_support import DEFAULT_VERSION, load_support_table, minor_of
from preflight.cost import price_plan
from preflight.plan import Plan
from preflight.plan_file import plan_from_json
from preflight.plan_warnings import plan_warnings
from preflight.support_warnings import kubernetes_support_warnings
from pricing.table import PriceTable, load_price_table
from stacks.config import ConfigError, StackConfig, parse_stack_config
from tests.helpers import every
from tests.test_config import GOOD, engine_config, publishing_for

TODAY = date(2026, 12, 2)
AWS = {"cloud": "aws", "region": "us-east-1"}
GCP = {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"}
AZURE = {"cloud": "azure", "region": "westeurope"}
SUPPORT_FILE = Path(__file__).resolve().parent.parent / "components" / "data" / "kubernetes_support.yaml"


def parse(targets: list[dict[str, Any]], today: date, **changes: Any) -> StackConfig:
    values = {**GOOD, "environment": "dev", "targets": targets, "modelPublishing": publishing_for(targets), **changes}
    return parse_stack_config(engine_config(values), stack="test", today=today)


# --- the table --------------------------------------------------------------------------------------


def test_the_table_is_fresh_and_the_default_is_still_in_standard_support() -> None:
    """Fails when the table goes stale: four months after the oldest month a source was read, or
    once the default minor has left standard support on any cloud. Then re-read the sources and
    move the default (docs/OPERATIONS.md, "Kubernetes minor upgrades")."""
    table = load_support_table()
    today = datetime.now(UTC).date()
    assert today < table.stale_from(), f"re-read the sources of {SUPPORT_FILE.name} (oldest read {table.oldest_read()})"
    for cloud in ("aws", "gcp", "azure"):
        assert table.standard_support_problem(cloud, DEFAULT_VERSION, today) is None


def test_staleness_is_four_months_after_the_oldest_read_month(tmp_path: Path) -> None:
    document = yaml.safe_load(SUPPORT_FILE.read_text())
    document["clouds"]["gcp"]["source"]["read"] = "2026-10"  # oldest; 2026-12 elsewhere
    path = tmp_path / "support.yaml"
    path.write_text(yaml.safe_dump(document))
    assert load_support_table(path).stale_from() == date(2027, 3, 1)  # October + 4 months = February, last fresh
    assert load_support_table().stale_from() == date(2027, 5, 1)  # read 2026-12: fresh through April 2027


def test_the_default_is_the_newest_minor_every_cloud_and_every_pinned_chart_supports() -> None:
    table = load_support_table()
    everywhere = table.in_standard_everywhere(("aws", "gcp", "azure"), TODAY)
    assert everywhere == ["1.35", "1.36"]  # 1.34 left EKS standard support today
    # 1.36 is offered on all three, but no cluster-autoscaler chart carries it yet (docs/ARCHITECTURE.md: 9.59.0,
    # for 1.35, is the newest) and KEDA 2.20 is tested only to 1.35 (keda.sh compatibility matrix): so 1.35.
    assert DEFAULT_VERSION == "1.35"
    assert DEFAULT_VERSION in CHART_VERSIONS and "1.36" not in CHART_VERSIONS


def test_each_extended_support_names_a_price_in_the_price_table() -> None:
    prices = load_price_table()
    for support in load_support_table().clouds.values():
        cloud, kind, name = support.extended.price.split("/")
        assert prices.get(cloud, kind, name) is not None, support.extended.price


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["clouds"]["aws"]["source"].update(read="Dec 2026"), "clouds.aws.source.read"),
        (lambda d: d["clouds"]["gcp"]["versions"]["1.35"].pop("standardEnd"), "clouds.gcp.versions.1.35"),
        (lambda d: d["clouds"]["azure"]["versions"]["1.35"].update(standardEnd="March 2027"), "standardEnd"),
        (lambda d: d["clouds"]["aws"]["versions"]["1.35"].update(extendedEnd=date(2027, 1, 1)), "extendedEnd"),
        (lambda d: d["clouds"]["aws"]["extended"].update(price="gcp/control-plane/gke"), "clouds.aws.extended.price"),
        (lambda d: d["clouds"].pop("azure"), "clouds must map exactly"),
    ],
)
def test_a_bad_entry_is_refused_naming_where_it_is(tmp_path: Path, change: Any, problem: str) -> None:
    document = yaml.safe_load(SUPPORT_FILE.read_text())
    change(document)
    path = tmp_path / "support.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ValueError, match=problem):
        load_support_table(path)


@pytest.mark.parametrize(
    ("version", "minor"),
    [("1.35", "1.35"), ("1.35.2", "1.35"), ("1.35.2-gke.1962000", "1.35"), ("v1.36.1", "1.36"), ("latest", None)],
)
def test_the_minor_of_a_version_as_the_clouds_spell_it(version: str, minor: str | None) -> None:
    assert minor_of(version) == minor


# --- the stack config -------------------------------------------------------------------------------


def test_the_default_version_passes_on_every_cloud_today() -> None:
    assert parse([AWS, GCP, AZURE], TODAY).cluster.kubernetes_version == "1.35"


@pytest.mark.parametrize(
    ("targets", "version", "today", "named"),
    [
        ([AWS, GCP, AZURE], "1.34", TODAY, "1.34 left standard support on aws (EKS) on 2026-12-02"),
        ([GCP], "1.34", date(2026, 10, 15), "1.34 left standard support on gcp (GKE) on 2026-10-01"),
        ([AZURE], "1.33", date(2026, 8, 10), "1.33 left standard support on azure (AKS) on 2026-07-31"),
        ([AWS, AZURE], "1.35", date(2027, 3, 27), "1.35 left standard support on aws (EKS) on 2027-03-27"),
        ([AWS], "1.37", TODAY, "1.37 is not in the EKS support table"),
        ([AZURE], "1.36", date(2026, 6, 1), "1.36 is not released on azure (AKS) until 2026-06-30"),
    ],
)
def test_a_version_outside_standard_support_is_refused_naming_the_cloud_and_date(
    targets: list[dict[str, Any]], version: str, today: date, named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(targets, today, kubernetesVersion=version)
    assert caught.value.key == "mlplatform:kubernetesVersion"
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_the_refusal_names_every_cloud_it_fails_on_and_what_would_pass() -> None:
    with pytest.raises(ConfigError) as caught:
        parse([AWS, GCP, AZURE], TODAY, kubernetesVersion="1.33")
    message = str(caught.value)
    assert "aws (EKS) on 2026-07-29" in message
    assert "gcp (GKE) on 2026-08-03" in message
    assert "azure (AKS) on 2026-07-31" in message
    assert "in standard support on 2026-12-02: 1.35, 1.36" in message


def test_a_minor_without_a_pinned_autoscaler_chart_is_refused_only_where_eks_runs_it() -> None:
    with pytest.raises(ConfigError, match=r"no cluster-autoscaler chart is pinned for 1\.36 on EKS"):
        parse([AWS, GCP], TODAY, kubernetesVersion="1.36")
    assert parse([GCP, AZURE], TODAY, kubernetesVersion="1.36").cluster.kubernetes_version == "1.36"


# --- the plan ---------------------------------------------------------------------------------------


def test_every_eks_cluster_opts_out_of_paid_extended_support(dev_plan: Plan) -> None:
    clusters = every(dev_plan, "eks:index:Cluster")
    assert all(c.inputs["upgradePolicy"] == {"supportType": "STANDARD"} for c in clusters)


def test_no_support_warning_before_the_90_days(dev_plan: Plan) -> None:
    # 2026-12-26: 91 days before EKS 1.35 leaves standard support on 2027-03-27.
    assert kubernetes_support_warnings(dev_plan, date(2026, 12, 26)) == []


def test_a_warning_names_the_cloud_and_date_within_90_days(dev_plan: Plan) -> None:
    warnings = kubernetes_support_warnings(dev_plan, date(2026, 12, 28))  # 89 days before 2027-03-27
    eks = {c.urn for c in every(dev_plan, "eks:index:Cluster")}
    assert {w.urn for w in warnings} == eks  # GKE (2027-04-11) and AKS (2027-03-31) are 90+ days away
    for warning in warnings:
        assert warning.check == "kubernetes-support"
        assert "1.35 leaves standard support on aws on 2027-03-27, in 89 days" in warning.message
    # `preflight plan` shows it with the other checks.
    assert {w.urn for w in plan_warnings(dev_plan, date(2026, 12, 28)) if w.check == "kubernetes-support"} == eks


def test_all_three_clouds_warn_in_january(dev_plan: Plan) -> None:
    warnings = kubernetes_support_warnings(dev_plan, date(2027, 1, 15))
    clouds = {
        cloud for w in warnings for cloud in ("aws", "gcp", "azure") if f"standard support on {cloud} on" in w.message
    }
    assert clouds == {"aws", "gcp", "azure"}
    assert any("on gcp on 2027-04-11" in w.message for w in warnings)
    assert any("on azure on 2027-03-31" in w.message for w in warnings)


# --- the cost ---------------------------------------------------------------------------------------

HOURS = 730
PRICES = {
    "currency": "USD",
    "hoursPerMonth": HOURS,
    "defaultRegions": {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"},
    "sources": {"test": {"url": "https://example.com/prices", "read": "2026-12"}},
    "items": {
        key: {"unit": "hour", "price": {"default": price}, "source": "test"}
        for key, price in {
            "aws/control-plane/eks": 0.10,
            "aws/control-plane/eks-extended": 0.60,
            "gcp/control-plane/gke": 0.10,
            "gcp/control-plane/gke-extended": 0.60,
            "azure/control-plane/aks-standard": 0.10,
            "azure/control-plane/aks-premium": 0.60,
        }.items()
    },
}


@pytest.fixture(scope="module")
def prices(tmp_path_factory: pytest.TempPathFactory) -> PriceTable:
    path = tmp_path_factory.mktemp("prices") / "prices.yaml"
    path.write_text(yaml.safe_dump(PRICES))
    return load_price_table(path)


def _cluster_plan(cloud: str, region: str, type_token: str, inputs: dict[str, Any]) -> Plan:
    footprint = f"urn:pulumi:t::p::mlplatform:platform:Footprint::{cloud}"
    resources = [
        {
            "urn": footprint,
            "type": "mlplatform:platform:Footprint",
            "name": cloud,
            "inputs": {"cloud": cloud, "region": region},
        },
        {
            "urn": f"urn:pulumi:t::p::{type_token}::c",
            "type": type_token,
            "name": "c",
            "inputs": inputs,
            "parent": footprint,
        },
    ]
    return plan_from_json({"project": "p", "stack": "t", "resources": resources}, "test graph")


def _control_plane(plan: Plan, prices: PriceTable, today: date) -> tuple[str, float]:
    report = price_plan(plan, prices, today=today)
    (item,) = [i for t in report.targets for i in t.items if i.what.startswith("control plane")]
    return item.what, round(item.idle, 2)


EKS, GKE, AKS = "eks:index:Cluster", "gcp:container/cluster:Cluster", "azure-native:containerservice:ManagedCluster"


@pytest.mark.parametrize(
    ("cloud", "region", "type_token", "inputs", "expected"),
    [
        # EKS 1.34 on 2026-12-02 with the pulumi-eks default (no upgradePolicy): extended, 0.60 x 730.
        (
            "aws",
            "us-east-1",
            EKS,
            {"version": "1.34"},
            ("in extended support since 2026-12-02 (the cluster's upgradePolicy.supportType is EXTENDED", 438.0),
        ),
        # The same with upgradePolicy STANDARD: EKS upgrades it instead; 0.10 x 730.
        ("aws", "us-east-1", EKS, {"version": "1.34", "upgradePolicy": {"supportType": "STANDARD"}}, ("(eks)", 73.0)),
        # GKE 1.34 in the Extended channel (standard support ended 2026-10-01).
        (
            "gcp",
            "us-central1",
            GKE,
            {"minMasterVersion": "1.34", "releaseChannel": {"channel": "EXTENDED"}},
            ("in Extended channel since 2026-10-01", 438.0),
        ),
        (
            "gcp",
            "us-central1",
            GKE,
            {"minMasterVersion": "1.34", "releaseChannel": {"channel": "REGULAR"}},
            ("(gke)", 73.0),
        ),
        # AKS 1.33 on long-term support (end of life 2026-07-31): the Premium tier LTS needs.
        (
            "azure",
            "eastus",
            AKS,
            {"kubernetesVersion": "1.33", "sku": {"tier": "Premium"}, "supportPlan": "AKSLongTermSupport"},
            ("in long-term support (LTS) since 2026-07-31", 438.0),
        ),
        # The default minor today: standard everywhere.
        ("aws", "us-east-1", EKS, {"version": "1.35"}, ("(eks)", 73.0)),
    ],
)
def test_a_cluster_in_paid_extended_support_is_priced_at_the_extended_rate(
    prices: PriceTable, cloud: str, region: str, type_token: str, inputs: dict[str, Any], expected: tuple[str, float]
) -> None:
    what, monthly = _control_plane(_cluster_plan(cloud, region, type_token, inputs), prices, TODAY)
    assert expected[0] in what and monthly == expected[1]


def test_the_shipped_dev_stack_pays_no_extended_support_today(dev_plan: Plan) -> None:
    report = price_plan(dev_plan, today=TODAY)
    assert not [i for t in report.targets for i in t.items if "extended" in i.what]
