"""Alert rules as PrometheusRule objects: the static files in rules/, plus recording rules generated from config.

The files in rules/ are plain Prometheus rule files, so `promtool check rules` and `promtool test rules` run on
exactly what is deployed (a PrometheusRule's spec is a rule file's `groups`). What depends on the stack config
(a pool's maximum, a machine's price, which targets exist) is not written into them: it is recorded as constant
series by generated groups, and the static alerts join against those series.

- rules/serving.yaml + the `mlplatform-config` group: every footprint, evaluated by its own Prometheus;
- rules/central.yaml + the `mlplatform-fleet` group: the central footprint only, labelled for the central
  Prometheus (contract.EVALUATED_BY), which every other Prometheus leaves out.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.observability.contract import (
    CENTRAL,
    EVALUATED_BY,
    MONITORING_API,
    FleetTarget,
    NodePrice,
    PoolLimit,
)

RULES_DIR = Path(__file__).resolve().parent / "rules"
SERVING_RULES = RULES_DIR / "serving.yaml"
CENTRAL_RULES = RULES_DIR / "central.yaml"
CONFIG_GROUP = "mlplatform-config"
FLEET_GROUP = "mlplatform-fleet"
# Constants change only with a `pulumi up`; evaluating them now and then keeps them current for the joins.
CONSTANT_INTERVAL = "1m"
LABELS = {"app.kubernetes.io/part-of": "mlplatform", "app.kubernetes.io/component": "observability"}


@cache
def rule_groups(path: Path) -> tuple[dict[str, Any], ...]:
    """The groups of a rule file, as promtool reads it."""
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
        raise ValueError(f"{path.name}: a Prometheus rule file has a list of groups")
    return tuple(document["groups"])


def constant_rule(record: str, value: float, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A recording rule whose series is a figure from config: `vector(value)`, with its labels where it has some."""
    rule: dict[str, Any] = {"record": record, "expr": f"vector({value!r})"}
    return {**rule, "labels": labels} if labels is not None else rule


def config_group(pool_limits: Sequence[PoolLimit], node_prices: Sequence[NodePrice]) -> dict[str, Any]:
    """The figures rules/serving.yaml joins against: each pool's maximum and each machine's hourly price."""
    rules = [
        constant_rule("mlplatform:gpu_pool_max_nodes", limit.max_nodes, {"pool": limit.pool}) for limit in pool_limits
    ]
    rules += [
        constant_rule(
            "mlplatform:node_hourly_price_dollars",
            price.dollars_per_hour,
            {"instance_type": price.instance_type, "capacity": price.capacity},
        )
        for price in node_prices
    ]
    return {"name": CONFIG_GROUP, "interval": CONSTANT_INTERVAL, "rules": rules}


def fleet_group(fleet: Sequence[FleetTarget]) -> dict[str, Any]:
    """The targets the central Prometheus expects to hear from (rules/central.yaml, TargetMetricsMissing)."""
    rules = [
        constant_rule("mlplatform:target_expected", 1, {"target": t.name, "cloud": t.cloud, "region": t.region})
        for t in fleet
    ]
    return {"name": FLEET_GROUP, "interval": CONSTANT_INTERVAL, "rules": rules}


def serving_rules_spec(pool_limits: Sequence[PoolLimit], node_prices: Sequence[NodePrice]) -> dict[str, Any]:
    groups = list(rule_groups(SERVING_RULES))
    config = config_group(pool_limits, node_prices)
    return {"groups": [*groups, config] if config["rules"] else groups}


def central_rules_spec(fleet: Sequence[FleetTarget]) -> dict[str, Any]:
    return {"groups": [*rule_groups(CENTRAL_RULES), fleet_group(fleet)]}


def prometheus_rule(
    resource_name: str,
    name: str,
    namespace: str,
    spec: dict[str, Any],
    opts: pulumi.ResourceOptions,
    *,
    central: bool = False,
) -> k8s.apiextensions.CustomResource:
    labels = {**LABELS, **({EVALUATED_BY: CENTRAL} if central else {})}
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=MONITORING_API,
        kind="PrometheusRule",
        metadata={"name": name, "namespace": namespace, "labels": labels},
        spec=spec,
        opts=opts,
    )
