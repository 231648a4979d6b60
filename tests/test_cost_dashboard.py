"""The cost dashboard (dashboards/cost.json): Grafana's classic model, a cloud variable (all of them: the fleet), and
every query reading series the cost rules record, in every cluster (and sent centrally) or on the central Prometheus."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.observability.contract import DATASOURCE_UID, REMOTE_WRITE_KEEP
from components.observability.cost_rules import COST_FLEET_RULES, COST_RULES
from components.observability.dashboards import dashboards
from components.observability.rules import SERVING_RULES, rule_groups
from tests.test_observability_dashboard import test_panels_sit_on_the_grid_without_overlapping as on_the_grid

SCHEMA_VERSION = 42  # as the serving dashboard (tests/test_observability_dashboard.py says why)
CLOUD_FILTER = 'cloud=~"$cloud"'
CENTRAL_ONLY = {"mlplatform:cost_budget_monthly_dollars"}  # generated on the central Prometheus, no cloud label


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return dashboards()["cost.json"]


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [(panel["title"], query["expr"]) for panel in dashboard["panels"] for query in panel.get("targets", [])]


def test_the_classic_model_on_the_grid(dashboard: dict[str, Any]) -> None:
    assert dashboard["schemaVersion"] == SCHEMA_VERSION and len(dashboard["uid"]) <= 40
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    on_the_grid(dashboard)


def test_one_cloud_or_the_fleet(dashboard: dict[str, Any]) -> None:
    (variable,) = dashboard["templating"]["list"]
    assert (variable["name"], variable["includeAll"], variable["query"]) == ("cloud", True, "aws,gcp,azure")
    for title, expr in queries(dashboard):
        names = set(re.findall(r"\b(mlplatform:[a-z0-9_:]+)", expr))
        assert (CLOUD_FILTER in expr) == (not names <= CENTRAL_ONLY), (title, expr)


def test_the_issue_panels_are_there(dashboard: dict[str, Any]) -> None:
    titles = {panel["title"] for panel in dashboard["panels"]}
    for wanted in ("$/hour by cloud", "$/hour by target", "$/hour by team", "$/hour by model and version"):
        assert wanted in titles
    assert "$ per 1,000 requests" in titles


def test_every_series_is_recorded_and_reaches_the_central_prometheus(dashboard: dict[str, Any]) -> None:
    in_clusters = {
        r["record"]
        for path in (SERVING_RULES, COST_RULES)
        for g in rule_groups(path)
        for r in g["rules"]
        if "record" in r
    }
    keep = re.compile(f"^(?:{REMOTE_WRITE_KEEP})$")
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}
        for query in panel["targets"]:
            for name in re.findall(r"\b(mlplatform:[a-z0-9_:]+)", query["expr"]):
                assert (name in in_clusters and keep.match(name)) or name in CENTRAL_ONLY, (panel["title"], name)
    central = {r["record"] for g in rule_groups(COST_FLEET_RULES) for r in g["rules"] if "record" in r}
    assert central  # the fleet sums exist for the rules; the panels sum themselves
