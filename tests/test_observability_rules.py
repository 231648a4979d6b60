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

from components.machine_catalog import machine
from components.observability.contract import EVALUATED_BY, REMOTE_WRITE_KEEP
from components.observability.rules import CENTRAL_RULES, CONFIG_GROUP, RULES_DIR, SERVING_RULES, rule_groups
from preflight.plan import Plan, PlannedResource
from preflight.stack_files import load_stack
from preflight.synthesize import PROJECT_DIR
from pricing.pricer import GCP_ATTACHED_GPUS
from pricing.table import load_price_table
from stacks.config import parse_stack_config

PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
RULE_FILES = sorted(RULES_DIR.glob("*.yaml"))
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.yaml"))
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
    assert [path.name for path in RULE_FILES] == ["central.yaml", "serving.yaml"]
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
    every_alert = alerts(SERVING_RULES) | alerts(CENTRAL_RULES)
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
    known = records(rule_groups(SERVING_RULES)) | records(rule_groups(CENTRAL_RULES)) | generated
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


def test_pool_maxima_and_node_prices_come_from_the_config_and_the_price_table(prod_plan: Plan) -> None:
    """Each target's generated figures, recomputed from Pulumi.prod.yaml and pricing/data/prices.yaml."""
    config = parse_stack_config(load_stack(PROJECT_DIR, "prod").config, stack="prod")
    table = load_price_table()
    rules = {
        r.name.removesuffix("-monitoring-serving-rules"): r for r in deployed_rules(prod_plan) if "serving" in r.name
    }
    assert set(rules) == {t.name for t in config.targets}
    for target in config.targets:
        resource = rules[target.name]
        pools = [pool for pool in config.cluster.gpu_pools if pool.runs_on(target.name)]
        expected_max = {(("pool", pool.name),): float(pool.max_nodes) for pool in pools}
        expected_max |= {(("pool", pool.fallback_name),): float(pool.fallback_max_nodes) for pool in pools if pool.spot}
        assert _constants(resource, "mlplatform:gpu_pool_max_nodes") == expected_max

        prices = _constants(resource, "mlplatform:node_hourly_price_dollars")
        for pool in pools:
            for machine_type in pool.machine_types[target.cloud]:
                for capacity, spot in (("spot", True), ("on-demand", False)):
                    item = table.get(target.cloud, "machine", machine_type)
                    assert item is not None
                    hourly = item.at(target.region, spot=spot)
                    shape = machine(target.cloud, machine_type)
                    if target.cloud == "gcp" and machine_type.startswith("n1-") and shape and shape.accelerator:
                        gpu = table.get("gcp", "accelerator", GCP_ATTACHED_GPUS[shape.accelerator])
                        assert gpu is not None
                        hourly += gpu.at(target.region, spot=spot) * shape.gpus
                    key = (("capacity", capacity), ("instance_type", machine_type))
                    assert prices[key] == pytest.approx(hourly), (target.name, key)
        system = config.cluster.system_pool.machine_types[target.cloud]
        system_item = table.get(target.cloud, "machine", system)
        assert system_item is not None
        system_key = (("capacity", "on-demand"), ("instance_type", system))
        assert prices[system_key] == pytest.approx(system_item.at(target.region))


def test_the_config_group_is_left_out_when_there_is_nothing_to_record() -> None:
    from components.observability.rules import serving_rules_spec

    assert [group["name"] for group in serving_rules_spec((), ())["groups"]] == [
        group["name"] for group in rule_groups(SERVING_RULES)
    ]
    assert CONFIG_GROUP not in {group["name"] for group in rule_groups(SERVING_RULES)}
