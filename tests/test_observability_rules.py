"""The alert rules: promtool checks the files and runs their unit tests, every alert is tested firing and quiet, and the
rules the plan deploys (static groups plus those generated from config) pass promtool and carry the config's figures.

promtool is Debian's `prometheus` package (2.42), which `make test` installs as root; these tests fail, not skip,
without it, so `make test` cannot pass with the rules unchecked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.observability.contract import EVALUATED_BY, REMOTE_WRITE_KEEP
from components.observability.cost_rules import COST_FLEET_RULES, COST_RULES
from components.observability.rules import CENTRAL_RULES, CONFIG_GROUP, RULES_DIR, SERVING_RULES, rule_groups
from preflight.plan import Plan, PlannedResource

PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
RULE_FILES = sorted(RULES_DIR.glob("*.yaml"))
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.yaml"))
PRICE_FILE = Path(__file__).resolve().parent.parent / "pricing" / "data" / "prices.yaml"
INSTALL = "apt-get install -y --no-install-recommends prometheus (Debian's; no PyPI or npm package ships promtool)"


def promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(f"promtool is not installed: {INSTALL}")
    return subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=300, check=False, cwd=cwd)


def alerts(path: Path) -> set[str]:
    return {rule["alert"] for group in rule_groups(path) for rule in group["rules"] if "alert" in rule}


def records(groups: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> set[str]:
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


def test_promtool_finds_every_rule_file_valid() -> None:
    assert [path.name for path in RULE_FILES] == ["central.yaml", "cost.yaml", "cost_fleet.yaml", "serving.yaml"]
    result = promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", *TEST_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)


def test_the_unit_tests_would_catch_a_broken_threshold(tmp_path: Path) -> None:
    """The same tests against a rule file whose error threshold was loosened to 5 % must fail."""
    original = SERVING_RULES.read_text()
    loosened = original.replace(
        "mlplatform:gateway_error_ratio:rate5m > 0.01", "mlplatform:gateway_error_ratio:rate5m > 0.05"
    )
    assert loosened != original
    (tmp_path / "serving.yaml").write_text(loosened)
    (tmp_path / "tests").mkdir()
    tests = yaml.safe_load((RULES_DIR / "tests" / "serving_test.yaml").read_text())
    tests["tests"] = [case for case in tests["tests"] if "fires ServingErrorRateHigh" in case["name"]]
    assert len(tests["tests"]) == 1
    test_file = tmp_path / "tests" / "serving_test.yaml"
    test_file.write_text(yaml.safe_dump(tests))
    result = promtool("test", "rules", test_file)
    assert result.returncode != 0
    assert "ServingErrorRateHigh" in result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    every_alert = alerts(SERVING_RULES) | alerts(CENTRAL_RULES) | alerts(COST_RULES) | alerts(COST_FLEET_RULES)
    assert every_alert == fired == quiet


def test_the_issue_thresholds_are_the_ones_alerted_on() -> None:
    """Error rate above 1 %, p99 above 100 ms: the figures the issue asks for, as written in the deployed rules."""
    expressions = {
        rule["alert"]: rule["expr"]
        for group in rule_groups(SERVING_RULES)
        for rule in group["rules"]
        if "alert" in rule
    }
    assert expressions["ServingErrorRateHigh"] == "mlplatform:gateway_error_ratio:rate5m > 0.01"
    assert expressions["ServingLatencyP99High"] == "mlplatform:gateway_latency_p99_ms:rate5m > 100"


def test_every_recorded_series_the_rules_read_is_recorded_somewhere() -> None:
    """`mlplatform:*` names in expressions are recorded by the files or by the generated groups."""
    generated = {"mlplatform:gpu_pool_max_nodes", "mlplatform:node_hourly_price_dollars", "mlplatform:target_expected"}
    generated |= {"mlplatform:egress_assumption_bytes", "mlplatform:cost_budget_monthly_dollars"}  # cost_rules.py
    known = {name for path in RULE_FILES for name in records(rule_groups(path))} | generated
    for path in RULE_FILES:
        for group in rule_groups(path):
            for rule in group["rules"]:
                used = set(re.findall(r"mlplatform:[a-z0-9_:]+", rule["expr"]))
                assert used <= known, f"{path.name}: {rule.get('alert') or rule.get('record')} reads {used - known}"


def test_what_leaves_a_cluster_is_what_the_central_rules_read() -> None:
    """Remote write keeps the recording rules, `up` and the probes: every series the central rules read."""
    keep = re.compile(f"^(?:{REMOTE_WRITE_KEEP})$")
    for name in [*records(rule_groups(SERVING_RULES)), "up", "probe_success", "mlplatform:target_expected"]:
        assert keep.match(name), name
    assert not keep.match("istio_requests_total") and not keep.match("kube_node_labels")


def deployed_rules(plan: Plan) -> list[PlannedResource]:
    rules = plan.of_type(PROMETHEUS_RULE)
    assert rules
    return rules


def test_the_deployed_rules_pass_promtool(prod_plan: Plan, tmp_path: Path) -> None:
    """Every PrometheusRule the prod plan applies, generated groups included, as a rule file promtool accepts."""
    for resource in deployed_rules(prod_plan):
        path = tmp_path / f"{resource.name}.yaml"
        path.write_text(yaml.safe_dump(resource.inputs["spec"]))
    result = promtool("check", "rules", *sorted(tmp_path.glob("*.yaml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deployed_rules_are_the_files_plus_the_generated_groups(prod_plan: Plan) -> None:
    for resource in deployed_rules(prod_plan):
        groups = resource.inputs["spec"]["groups"]
        central = resource.inputs["metadata"]["labels"].get(EVALUATED_BY) == "central"
        source = CENTRAL_RULES if central else SERVING_RULES
        assert groups[: len(rule_groups(source))] == list(rule_groups(source)), resource.name


def _constants(resource: PlannedResource, record: str) -> dict[tuple[tuple[str, Any], ...], float]:
    found: dict[tuple[tuple[str, Any], ...], float] = {}
    for group in resource.inputs["spec"]["groups"]:
        for rule in group["rules"]:
            if rule.get("record") == record:
                match = re.fullmatch(r"vector\((.+)\)", rule["expr"])
                assert match, rule["expr"]
                found[tuple(sorted(rule["labels"].items()))] = float(match.group(1))
    return found


# Pulumi.prod.yaml's GPU pools, worked out per target: t4 (max 6, on-demand fallback t4od max 3) everywhere; l4 (4, l4od
# 2) only on aws-us-east-1 and gcp-us-central1; a10 (2, a10od 1) on Azure only.
EXPECTED_MAXIMA = {  # Pulumi.prod.yaml's gpuPools, then its trainingPools
    "aws-us-east-1": {"t4": 6, "t4od": 3, "l4": 4, "l4od": 2, "t4t": 2, "t4tod": 1},
    "aws-eu-west-1": {"t4": 6, "t4od": 3},
    "gcp-us-central1": {"t4": 6, "t4od": 3, "l4": 4, "l4od": 2, "t4t": 2, "t4tod": 1, "l4t": 2, "l4tod": 1},
    "azure-swedencentral": {"t4": 6, "t4od": 3, "a10": 2, "a10od": 1, "t4t": 2, "t4tod": 1},
}
PRICES = yaml.safe_load(PRICE_FILE.read_text())["items"]


def listed(key: str, column: str, region: str = "default") -> float:
    """One figure exactly as pricing/data/prices.yaml lists it (`price` or `spot`, in the region column named)."""
    return float(PRICES[key][column][region])


def node_price_example() -> dict[str, dict[tuple[str, str], float]]:
    """Each target's node prices, worked out by hand from the price file: the machines its pools run (system pool
    on-demand, GPU pools spot and their fallbacks on-demand), in the column for its region. GCP bills an N1's T4
    apart from the machine (the file's note on N1; cloud.google.com/compute/gpus-pricing), so n1-standard-4 with
    its one T4 is the two items added; a G2 price includes its L4. aws eu-west-1 has figures of its own; prices.yaml
    lists none for swedencentral, which is priced at eastus's (default) figure."""
    t4, n1 = "gcp/accelerator/nvidia-tesla-t4", "gcp/machine/n1-standard-4"
    return {
        "aws-us-east-1": {
            ("m6i.large", "on-demand"): listed("aws/machine/m6i.large", "price"),
            ("g4dn.xlarge", "spot"): listed("aws/machine/g4dn.xlarge", "spot"),
            ("g4dn.xlarge", "on-demand"): listed("aws/machine/g4dn.xlarge", "price"),
            ("g6.xlarge", "spot"): listed("aws/machine/g6.xlarge", "spot"),
            ("g6.xlarge", "on-demand"): listed("aws/machine/g6.xlarge", "price"),
        },
        "aws-eu-west-1": {
            ("m6i.large", "on-demand"): listed("aws/machine/m6i.large", "price", "eu-west-1"),
            ("g4dn.xlarge", "spot"): listed("aws/machine/g4dn.xlarge", "spot", "eu-west-1"),
            ("g4dn.xlarge", "on-demand"): listed("aws/machine/g4dn.xlarge", "price", "eu-west-1"),
        },
        "gcp-us-central1": {
            ("e2-standard-4", "on-demand"): listed("gcp/machine/e2-standard-4", "price"),
            ("n1-standard-4", "spot"): listed(n1, "spot") + listed(t4, "spot"),
            ("n1-standard-4", "on-demand"): listed(n1, "price") + listed(t4, "price"),  # 0.19 + 0.35 (2026-11)
            ("g2-standard-4", "spot"): listed("gcp/machine/g2-standard-4", "spot"),
            ("g2-standard-4", "on-demand"): listed("gcp/machine/g2-standard-4", "price"),
        },
        "azure-swedencentral": {
            ("Standard_D4ds_v5", "on-demand"): listed("azure/machine/Standard_D4ds_v5", "price"),
            ("Standard_NC4as_T4_v3", "spot"): listed("azure/machine/Standard_NC4as_T4_v3", "spot"),
            ("Standard_NC4as_T4_v3", "on-demand"): listed("azure/machine/Standard_NC4as_T4_v3", "price"),
            ("Standard_NV36ads_A10_v5", "spot"): listed("azure/machine/Standard_NV36ads_A10_v5", "spot"),
            ("Standard_NV36ads_A10_v5", "on-demand"): listed("azure/machine/Standard_NV36ads_A10_v5", "price"),
        },
    }


def serving_rules(plan: Plan) -> dict[str, PlannedResource]:
    return {r.name.removesuffix("-monitoring-serving-rules"): r for r in deployed_rules(plan) if "serving" in r.name}


def test_pool_maxima_are_the_prod_configs(prod_plan: Plan) -> None:
    rules = serving_rules(prod_plan)
    assert set(rules) == set(EXPECTED_MAXIMA)
    for target, maxima in EXPECTED_MAXIMA.items():
        expected = {(("pool", pool),): float(most) for pool, most in maxima.items()}
        assert _constants(rules[target], "mlplatform:gpu_pool_max_nodes") == expected, target


def test_node_prices_are_the_price_files_figures_for_each_targets_machines(prod_plan: Plan) -> None:
    rules = serving_rules(prod_plan)
    example = node_price_example()
    assert set(rules) == set(example)
    for target, prices in example.items():
        expected = {
            (("capacity", capacity), ("instance_type", machine)): p for (machine, capacity), p in prices.items()
        }
        assert _constants(rules[target], "mlplatform:node_hourly_price_dollars") == pytest.approx(expected), target


def test_the_config_group_is_left_out_when_there_is_nothing_to_record() -> None:
    from components.observability.rules import serving_rules_spec

    assert [group["name"] for group in serving_rules_spec((), ())["groups"]] == [
        group["name"] for group in rule_groups(SERVING_RULES)
    ]
    assert CONFIG_GROUP not in {group["name"] for group in rule_groups(SERVING_RULES)}
