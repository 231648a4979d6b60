"""The Grafana dashboard: valid classic-model JSON, a row per cloud with the same six panels, and every query reading
series the stack records and sends to the central Prometheus, through the data source Grafana is given."""

from __future__ import annotations

import json
import re
from typing import Any, cast

import pytest

from components.observability.contract import DATASOURCE_UID, REMOTE_WRITE_KEEP
from components.observability.dashboards import DASHBOARDS_DIR, dashboards
from components.observability.prometheus import central_url
from components.observability.rules import SERVING_RULES, rule_groups
from components.observability.values import grafana_values

CLOUDS = {"AWS": "aws", "GCP": "gcp", "Azure": "azure"}
# The list: request rate, p99 latency, errors, GPU utilisation, replicas, estimated dollars per hour.
PANELS = ["Request rate", "p99 latency", "Errors", "GPU utilisation", "Replicas", "Estimated $/hour"]
GRID_COLUMNS = 24
LOGS_ROW = "Logs and traces"  # the central Loki and Tempo: tests/test_observability_logs_traces.py
# Grafana 13.2 (the grafana subchart 12.11.1 of kube-prometheus-stack 88.5.3): schema version 42 is the final one
# of the classic model (public/app/features/dashboard/state/DashboardMigrator.ts).
SCHEMA_VERSION = 42


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    found = dashboards()
    assert "serving.json" in found  # cost.json: tests/test_cost_dashboard.py
    return found["serving.json"]


def rows(dashboard: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Row title -> the panels under it (the classic model lists an expanded row's panels after it)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    current: list[dict[str, Any]] | None = None
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            assert not panel.get("collapsed") and panel.get("panels") == []
            current = [] if panel["title"] == LOGS_ROW else grouped.setdefault(panel["title"], [])
        else:
            assert current is not None, f"panel {panel['title']!r} before any row"
            current.append(panel)
    return grouped


def test_the_file_is_json_grafana_loads(dashboard: dict[str, Any]) -> None:
    text = (DASHBOARDS_DIR / "serving.json").read_text()
    assert json.loads(text) == dashboard
    assert dashboard["schemaVersion"] == SCHEMA_VERSION
    assert dashboard["uid"] and len(dashboard["uid"]) <= 40  # Grafana's uid limit
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_panels_sit_on_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= GRID_COLUMNS
        cells = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, panel["title"]
        taken |= cells


def test_a_row_per_cloud_with_the_six_panels(dashboard: dict[str, Any]) -> None:
    grouped = rows(dashboard)
    assert list(grouped) == list(CLOUDS)
    for title, panels in grouped.items():
        assert [panel["title"] for panel in panels] == PANELS, title


def test_every_query_reads_its_rows_cloud_from_the_central_prometheus(dashboard: dict[str, Any]) -> None:
    for title, panels in rows(dashboard).items():
        for panel in panels:
            assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}
            assert panel["targets"], panel["title"]
            for query in panel["targets"]:
                assert query.get("datasource", panel["datasource"]) == panel["datasource"]
                clouds = re.findall(r'cloud="([a-z]+)"', query["expr"])
                assert clouds == [CLOUDS[title]], (title, panel["title"], query["expr"])


def test_the_data_source_the_panels_name_is_the_one_grafana_is_given() -> None:
    # The password is only placed in the values; an Output made outside a program would outlive its event loop.
    sources = grafana_values(cast(Any, "not-a-password"))["additionalDataSources"]
    assert [(source["uid"], source["type"], source["url"]) for source in sources] == [
        (DATASOURCE_UID, "prometheus", central_url())
    ]


def test_every_series_a_panel_reads_is_recorded_in_each_cluster_and_sent_centrally(dashboard: dict[str, Any]) -> None:
    recorded = {rule["record"] for group in rule_groups(SERVING_RULES) for rule in group["rules"] if "record" in rule}
    keep = re.compile(f"^(?:{REMOTE_WRITE_KEEP})$")
    for panel in dashboard["panels"]:
        if panel.get("datasource", {}).get("type") != "prometheus":
            continue  # logs and traces
        for query in panel.get("targets", []):
            names = set(re.findall(r"\b(mlplatform:[a-z0-9_:]+|[a-z_]+)\s*\{", query["expr"]))
            assert names, query["expr"]
            assert names <= recorded, (panel["title"], names - recorded)
            assert all(keep.match(name) for name in names), names
