"""A GPU replica's cold start by phase: the sourced table, its arithmetic, the config, the plan, the view."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from components.cold_start import (
    BUDGET_ANNOTATION,
    COLD_START_ANNOTATION,
    cold_start,
    load_table,
    parse_table,
)
from preflight.cli import main
from preflight.drill import drill_config, run_drill
from preflight.drill import render_text as render_drill
from preflight.plan import Plan
from preflight.synthesize import PROJECT_DIR
from stacks.config import parse_stack_config
from stacks.validate import ConfigError


def fact(value: float) -> dict[str, Any]:
    return {"value": value, "source": "https://example.com/page", "read": "2026-12", "note": "a worked example"}


def table_document(**overrides: float) -> dict[str, Any]:
    facts = {
        **{f"node-seconds/{cloud}": fact(100) for cloud in ("aws", "gcp", "azure")},
        **{f"driver-seconds/{cloud}": fact(20) for cloud in ("aws", "gcp", "azure")},
        **{f"bandwidth-gbps/{cloud}": fact(10) for cloud in ("aws", "gcp", "azure")},
        "bandwidth-gbps/aws/g4dn.": fact(20),
        "bandwidth-gbps/aws/g4dn.12": fact(40),
        "triton-image-gib": fact(10),
        "pull-seconds-per-gib": fact(10),
        "load-seconds-per-gib": fact(5),
    }
    facts.update({key.replace("_", "/"): fact(value) for key, value in overrides.items()})
    return {"facts": facts}


def test_the_phases_of_a_worked_example_add_up() -> None:
    """100 s node + 20 s driver + 10 GiB x 10 s/GiB image + 2 GiB x 8.59 Gb/GiB / 10 Gbps copy + 2 GiB x 5 s/GiB."""
    start = cold_start("gcp", "n1-standard-4", 2.0, parse_table(table_document(), "example"))
    seconds = {phase.name: round(phase.seconds, 3) for phase in start.phases}
    assert seconds == {"node": 100, "driver": 20, "image": 100, "model copy": 1.718, "model load": 10}
    assert start.total_seconds == 232  # 231.718 rounded up: a budget of 231 s is not met


def test_the_longest_machine_prefix_sets_the_bandwidth() -> None:
    table = parse_table(table_document(), "example")
    copy = {
        name: cold_start("aws", name, 8.0, table).phase("model copy").seconds
        for name in ("g5.xlarge", "g4dn.xlarge", "g4dn.12xlarge")
    }
    assert {name: round(s, 2) for name, s in copy.items()} == {
        "g5.xlarge": 6.87,
        "g4dn.xlarge": 3.44,
        "g4dn.12xlarge": 1.72,
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d["facts"]["node-seconds/aws"].pop("source"), "facts: node-seconds/aws: expected exactly the keys"),
        (lambda d: d["facts"]["triton-image-gib"].update(read="2026-13"), "facts: triton-image-gib: read"),
        (lambda d: d["facts"]["bandwidth-gbps/gcp"].update(value=0), "facts: bandwidth-gbps/gcp: value"),
        (lambda d: d["facts"].pop("load-seconds-per-gib"), "missing load-seconds-per-gib"),
        (lambda d: d["facts"].update({"node-seconds/oci": fact(1)}), "facts: node-seconds/oci: not a fact key"),
    ],
)
def test_a_bad_table_entry_is_refused_naming_its_key(change: Any, named: str) -> None:
    document = table_document()
    change(document)
    with pytest.raises(ValueError, match=named.replace("(", r"\(")):
        parse_table(document, "cold_start.yaml")


def test_the_table_is_fresh() -> None:
    """Fails when the table goes stale: four months after the oldest month a source was read."""
    table = load_table()
    assert date.today() < table.stale_from(), f"re-read the sources of cold_start.yaml (oldest {table.oldest_read()})"
    assert table.stale_from() == date(2027, 5, 1)  # read 2026-12: fresh through April 2027


def test_the_image_phase_is_the_pinned_triton_image_at_the_sourced_pull_rate() -> None:
    """15.5 GB is 14.4 GiB (the source's figure); 4-6 min for 15-20 GB is 18 s per GiB: about 259 s on every cloud."""
    for cloud, machine in (("aws", "g4dn.xlarge"), ("gcp", "n1-standard-4"), ("azure", "Standard_NC4as_T4_v3")):
        assert round(cold_start(cloud, machine, 1.0).phase("image").seconds) == 259


BASE = {
    "mlplatform:environment": "dev",
    "mlplatform:owner": "ml-platform",
    "mlplatform:costCenter": "ml-serving",
    "mlplatform:targets": json.dumps([{"cloud": "aws", "region": "us-east-1"}]),
    "mlplatform:gpuPools": json.dumps([{"name": "t4", "accelerator": "T4"}]),
}
MODEL = {"name": "m", "accelerator": "T4", "stable": {"name": "v1", "path": "m/v1"}}


def test_the_budget_defaults_to_180_and_is_validated() -> None:
    assert parse_stack_config(BASE, stack="t").cold_start_budget_seconds == 180
    assert (
        parse_stack_config({**BASE, "mlplatform:coldStartBudgetSeconds": "240"}, stack="t").cold_start_budget_seconds
        == 240
    )
    with pytest.raises(ConfigError, match=r"mlplatform:coldStartBudgetSeconds.*between 30 and 3600"):
        parse_stack_config({**BASE, "mlplatform:coldStartBudgetSeconds": "5"}, stack="t")


def test_a_model_size_defaults_to_1_gib_and_is_validated() -> None:
    config = parse_stack_config({**BASE, "mlplatform:models": json.dumps([MODEL])}, stack="t")
    assert config.models[0].size_gib == 1.0
    sized = parse_stack_config({**BASE, "mlplatform:models": json.dumps([{**MODEL, "sizeGiB": 6.5}])}, stack="t")
    assert sized.models[0].size_gib == 6.5
    for bad in (0, "big", 5000):
        with pytest.raises(ConfigError, match=r"mlplatform:models\[0\]\.sizeGiB"):
            parse_stack_config({**BASE, "mlplatform:models": json.dumps([{**MODEL, "sizeGiB": bad}])}, stack="t")


def test_every_model_deployment_carries_its_targets_figure_and_the_budget(dev_plan: Plan) -> None:
    """dev serves fraud-detection (1 GiB) on T4 pools: g4dn.xlarge, n1-standard-4, Standard_NC4as_T4_v3."""
    expected = {"aws": cold_start("aws", "g4dn.xlarge", 1.0), "gcp": cold_start("gcp", "n1-standard-4", 1.0)}
    expected["azure"] = cold_start("azure", "Standard_NC4as_T4_v3", 1.0)
    served = [r for r in dev_plan.of_type("kubernetes:apps/v1:Deployment") if "-serving-fraud-detection-" in r.name]
    assert served
    for deployment in served:
        cloud = deployment.name.split("-", 1)[0]
        annotations = deployment.inputs["metadata"]["annotations"]
        assert annotations[COLD_START_ANNOTATION] == str(expected[cloud].total_seconds)
        assert annotations[BUDGET_ANNOTATION] == "180"
    # 120 s node + 30 s driver + 259.2 s image + 0.34 s copy at 25 Gbps + 19 s load = 428.54 -> 429 on AWS's g4dn
    assert expected["aws"].total_seconds == 429


def test_preflight_coldstart_prints_each_phase_with_its_source_and_fails_over_budget(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["coldstart", "--stack", "dev"]) == 1  # dev keeps the default 180 s budget: 429-440 s is over
    text = capsys.readouterr().out
    for phase in ("node", "driver", "image", "model copy", "model load"):
        assert f"  {phase} " in text
    assert "OVER BUDGET" in text and "(read 2026-12)" in text
    assert "https://aws.amazon.com/blogs/machine-learning/" in text


def test_preflight_coldstart_json_names_the_phases_and_their_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coldstart", "--stack", "prod", "--json"]) == 0  # the default 180 s, met on prod's warm spares
    document = json.loads(capsys.readouterr().out)
    assert document["budgetSeconds"] == 180 and document["overBudget"] == []
    first = document["replicas"][0]
    assert [p["name"] for p in first["phases"]] == ["node", "driver", "image", "model copy", "model load"]
    keys = {source["key"] for source in document["sources"]}
    assert {s for p in first["phases"] for s in p["sources"]} <= keys


def test_drill_says_when_the_survivors_can_run_their_maximum_replicas(prod_plan: Plan) -> None:
    """prod (latency routing, 50 s failover) loses aws-us-east-1: the survivors add T4 replicas on g4dn.xlarge
    (429 s), n1-standard-4 (440 s) and Standard_NC4as_T4_v3 (430 s); the slowest decides: 50 + 440 = 490 s."""
    config, failed = drill_config(PROJECT_DIR, "prod", ["aws-us-east-1"])
    report = run_drill(prod_plan, config, failed)
    assert report.add_capacity_seconds == cold_start("gcp", "n1-standard-4", 1.0).total_seconds == 440
    assert report.full_capacity_seconds == 490
    assert report.to_json()["fullCapacityWithinSeconds"] == 490
    assert "so 490 s after the failure at worst" in render_drill(report)
