"""`python -m preflight drill`: answers per client region after failures, failover time, capacity, exit codes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from preflight.drill import (
    CLIENT_REGIONS,
    Answer,
    DrillReport,
    Routing,
    answers,
    capacity_formula,
    drill_config,
    failover_answer,
    geo_answer,
    latency_answer,
    model_replicas,
    read_routing,
    render_text,
    run_drill,
    serving_targets,
    target_capacity_rps,
    weighted_answer,
)
from preflight.errors import InputError
from preflight.plan import Plan, PlannedResource
from preflight.stack_files import config_from_mapping
from preflight.synthesize import PROJECT_DIR, ProgramError
from stacks.config import StackConfig, parse_stack_config
from stacks.dns_config import DnsConfig
from stacks.regions import AWS_REGIONS
from stacks.serving_config import ModelConfig, VersionConfig
from tests.helpers import BASE_CONFIG, stack_plan
from tests.test_preflight_cli import run_preflight

PROD_TARGETS = ("aws-us-east-1", "aws-eu-west-1", "gcp-us-central1", "azure-swedencentral")
# The prod stack's latency records: each target owns the record of its (nearest) AWS region.
PROD_LATENCY = {
    "aws-us-east-1": "us-east-1",
    "aws-eu-west-1": "eu-west-1",
    "gcp-us-central1": "us-east-2",
    "azure-swedencentral": "eu-north-1",
}


def targets_of(given: tuple[Answer, ...]) -> list[str]:
    return [answer.target for answer in given]


# --- the client regions ---


def test_one_client_in_every_aws_region_a_stack_may_name() -> None:
    assert set(CLIENT_REGIONS) == AWS_REGIONS


# --- latency ---


def test_latency_answers_the_nearest_record_and_moves_to_the_next_nearest() -> None:
    assert targets_of(latency_answer(PROD_LATENCY, [], "us-east-1")) == ["aws-us-east-1"]
    assert targets_of(latency_answer(PROD_LATENCY, ["aws-us-east-1"], "us-east-1")) == ["gcp-us-central1"]
    assert targets_of(latency_answer(PROD_LATENCY, [], "eu-central-1")) == ["aws-eu-west-1"]
    assert targets_of(latency_answer(PROD_LATENCY, ["aws-eu-west-1"], "eu-west-2")) == ["azure-swedencentral"]
    assert latency_answer(PROD_LATENCY, PROD_TARGETS, "us-east-1") == ()


def test_losing_a_latency_target_leaves_every_region_an_answer() -> None:
    routing = Routing("latency", latency=PROD_LATENCY)
    after = answers(routing, ["aws-us-east-1"])
    assert set(after) == set(CLIENT_REGIONS)
    assert all(len(given) == 1 and given[0].target != "aws-us-east-1" for given in after.values())
    assert serving_targets(routing, ["aws-us-east-1"]) == ("aws-eu-west-1", "gcp-us-central1", "azure-swedencentral")


# --- weighted ---


def test_weighted_shares_follow_the_weights_of_the_survivors() -> None:
    weights = {"a": 3, "b": 1, "c": 0}
    assert [(x.target, x.share) for x in weighted_answer(weights, [])] == [("a", 0.75), ("b", 0.25)]
    assert [(x.target, x.share) for x in weighted_answer(weights, ["a"])] == [("b", 1.0)]
    # Zero weights count only when no non-zero record is healthy.
    assert [(x.target, x.share) for x in weighted_answer(weights, ["a", "b"])] == [("c", 1.0)]
    assert weighted_answer(weights, ["a", "b", "c"]) == ()
    routing = Routing("weighted", weights=weights)
    assert serving_targets(routing, ["b"]) == ("a",)  # c idles while a is healthy
    assert all(targets_of(given) == ["a"] for given in answers(routing, ["b"]).values())


# --- failover ---


def test_failover_answers_the_primary_then_the_surviving_standbys_equally() -> None:
    standby = {"b": 1, "c": 1}
    assert targets_of(failover_answer("a", standby, [])) == ["a"]
    assert targets_of(failover_answer("a", standby, ["b"])) == ["a"]
    after = failover_answer("a", standby, ["a"])
    assert [(x.target, x.share) for x in after] == [("b", 0.5), ("c", 0.5)]
    assert [(x.target, x.share) for x in failover_answer("a", standby, ["a", "c"])] == [("b", 1.0)]
    assert failover_answer("a", standby, ["a", "b", "c"]) == ()
    routing = Routing("failover", weights=standby, primary="a")
    assert serving_targets(routing, []) == ("a",)  # standbys idle while the primary is healthy
    assert serving_targets(routing, ["a"]) == ("b", "c")


# --- geo ---

GEO = {("continent", "EU"): "eu", ("continent", "NA"): "na", ("country", "JP"): "eu"}


def test_geo_answers_the_continent_owner_then_the_default_per_the_route53_docs() -> None:
    assert targets_of(geo_answer(GEO, "dflt", [], "eu-central-1")) == ["eu"]
    assert targets_of(geo_answer(GEO, "dflt", [], "us-east-1")) == ["na"]
    assert targets_of(geo_answer(GEO, "dflt", [], "ap-northeast-1")) == ["dflt"]  # no AS record
    # The continent owner failed: Route 53 goes on to the larger area, here the default record.
    fallback = geo_answer(GEO, "dflt", ["eu"], "eu-west-1")
    assert targets_of(fallback) == ["dflt"] and "failed" in fallback[0].via
    # Owner and default both failed: no healthy record for that location.
    assert geo_answer(GEO, "dflt", ["eu", "dflt"], "eu-west-1") == ()
    assert targets_of(geo_answer(GEO, "dflt", ["eu", "dflt"], "us-east-1")) == ["na"]
    # Without a default record, a continent nobody owns gets no answer even with nothing failed.
    assert geo_answer(GEO, None, [], "sa-east-1") == ()


def test_geo_client_continents_and_serving_targets() -> None:
    routing = Routing("geo", locations=GEO, default="dflt")
    after = answers(routing, ["eu"])
    assert targets_of(after["ap-southeast-2"]) == ["dflt"]  # Sydney: OC
    assert targets_of(after["il-central-1"]) == ["dflt"]  # Israel counts as Asia
    assert serving_targets(routing, ["eu"]) == ("na", "dflt")


def test_losing_everything_leaves_no_answer_in_every_mode() -> None:
    routings = [
        Routing("latency", latency=PROD_LATENCY),
        Routing("weighted", weights=dict.fromkeys(PROD_TARGETS, 1)),
        Routing("failover", weights=dict.fromkeys(PROD_TARGETS[1:], 1), primary=PROD_TARGETS[0]),
        Routing("geo", locations={("continent", "EU"): PROD_TARGETS[1]}, default=PROD_TARGETS[0]),
    ]
    for routing in routings:
        after = answers(routing, PROD_TARGETS)
        assert all(given == () for given in after.values()), routing.mode
        assert serving_targets(routing, PROD_TARGETS) == ()


# --- capacity ---


def model(name: str, max_replicas: int, floor: int, canary: bool) -> ModelConfig:
    return ModelConfig(
        name=name,
        accelerator="T4",
        gpus_per_replica=1,
        min_replicas=1,
        max_replicas=max_replicas,
        on_demand_floor=floor,
        stable=VersionConfig("v1", f"{name}/v1", 90 if canary else 100),
        canary=VersionConfig("v2", f"{name}/v2", 10) if canary else None,
    )


def test_capacity_is_max_replicas_per_version_plus_the_floor_times_rps_per_replica() -> None:
    fraud = model("fraud", max_replicas=6, floor=1, canary=True)
    ranker = model("ranker", max_replicas=4, floor=0, canary=False)
    assert model_replicas(fraud) == 13 and model_replicas(ranker) == 4
    assert target_capacity_rps([fraud, ranker], rps_per_replica=10) == 170
    assert target_capacity_rps([], rps_per_replica=10) == 0
    assert capacity_formula([fraud], 10) == "fraud (6 max x 2 versions + 1 floor) x 10 rps = 130 rps"


def dns(**changes: Any) -> DnsConfig:
    values: dict[str, Any] = {
        "zone": "ml.example.com",
        "create_zone": False,
        "record_name": "api",
        "mode": "latency",
        "ttl": 20,
        "health_check_interval": 10,
        "failure_threshold": 2,
        "peak_rps": 100,
        "rps_per_replica": 10,
    }
    return DnsConfig(**{**values, **changes})


def report(routing: Routing, failed: list[str], peak_rps: int, target_rps: int = 130) -> DrillReport:
    return DrillReport(
        project="mlplatform",
        stack="prod",
        mode=routing.mode,
        targets=PROD_TARGETS,
        failed=tuple(failed),
        dns=dns(mode=routing.mode, peak_rps=peak_rps),
        answers=answers(routing, failed),
        serving=serving_targets(routing, failed),
        target_rps=target_rps,
        formula="fraud (6 max x 2 versions + 1 floor) x 10 rps = 130 rps",
    )


def test_verdicts_and_exit_codes() -> None:
    latency = Routing("latency", latency=PROD_LATENCY)
    fine = report(latency, ["aws-us-east-1"], peak_rps=390)
    assert (fine.capacity_rps, fine.verdict, fine.exit_code, fine.no_answer) == (390, "ok", 0, [])
    short = report(latency, ["aws-us-east-1"], peak_rps=391)
    assert (short.verdict, short.exit_code) == ("insufficient-capacity", 1)
    gone = report(latency, list(PROD_TARGETS), peak_rps=100)
    assert (gone.verdict, gone.exit_code, gone.capacity_rps) == ("no-answer", 1, 0)
    assert gone.no_answer == list(CLIENT_REGIONS)
    # Failover: the standbys carry nothing while the primary is up, so only the primary counts; losing a standby
    # changes nothing, so the shortfall is reported as there before the failure, not caused by it.
    failover = Routing("failover", weights=dict.fromkeys(PROD_TARGETS[1:], 1), primary=PROD_TARGETS[0])
    primary_only = report(failover, ["aws-eu-west-1"], peak_rps=131)
    primary_only = dataclasses.replace(primary_only, baseline_serving=serving_targets(failover, []))
    assert primary_only.capacity_rps == 130 and primary_only.verdict == "insufficient-before-failure"
    assert primary_only.idle == ["gcp-us-central1", "azure-swedencentral"]


def test_text_report_states_failover_arithmetic_answers_and_capacity() -> None:
    text = render_text(report(Routing("latency", latency=PROD_LATENCY), ["aws-us-east-1"], peak_rps=100))
    assert "Clients move within 50 s (worst case) = health check every 10 s x 2 failures + TTL 20 s + 10 s" in text
    assert "Every client region (33) still gets an answer." in text
    assert "Capacity: survivors carry 390 rps, peak is 100 rps: enough" in text
    assert any(line.split()[:3] == ["us-east-1", "NA", "gcp-us-central1"] for line in text.splitlines())
    assert text.endswith("Verdict: ok")

    gone = render_text(report(Routing("latency", latency=PROD_LATENCY), list(PROD_TARGETS), peak_rps=100))
    assert "NO ANSWER for 33 of 33 client regions: af-south-1, ap-east-1," in gone
    assert "peak is 100 rps: NOT ENOUGH" in gone and gone.endswith("Verdict: no-answer")


def test_json_report_has_the_documented_keys() -> None:
    document = report(Routing("weighted", weights={"aws-us-east-1": 3, "aws-eu-west-1": 1}), [], 100).to_json()
    assert {"failed", "mode", "failoverSeconds", "answers", "noAnswer", "capacityRps", "peakRps", "verdict"} <= set(
        document
    )
    assert document["answers"]["eu-west-1"] == ["aws-us-east-1", "aws-eu-west-1"]
    assert document["shares"]["eu-west-1"] == {"aws-us-east-1": 0.75, "aws-eu-west-1": 0.25}
    assert (document["failoverSeconds"], document["capacityRps"], document["verdict"]) == (50, 260, "ok")
    json.dumps(document)


# --- reading the routing set from a plan, checked against the config ---


def test_bad_drill_input_is_refused_before_synthesis() -> None:
    with pytest.raises(InputError, match=r"^Pulumi\.dev\.yaml: the stack has no global DNS to drill"):
        drill_config(PROJECT_DIR, "dev", ["aws-us-east-1"])
    with pytest.raises(InputError, match=r"^--fail nope: not a target of stack prod \(targets: aws-us-east-1, "):
        drill_config(PROJECT_DIR, "prod", ["nope"])
    config, failed = drill_config(PROJECT_DIR, "prod", ["aws-us-east-1", "aws-us-east-1"])
    assert failed == ("aws-us-east-1",) and config.dns is not None


SMALL_TARGETS = [
    {"cloud": "aws", "region": "us-east-1"},
    {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"},
    {"cloud": "azure", "region": "swedencentral"},
]
SMALL = {
    "gpuPools": [{"name": "t4", "accelerator": "T4"}],
    "models": [{"name": "m", "accelerator": "T4", "maxReplicas": 3, "stable": {"name": "v1", "path": "m/v1"}}],
}
MODE_DNS: dict[str, dict[str, Any]] = {
    "geo": {
        "mode": "geo",
        "geo": {
            "aws-us-east-1": {"continents": ["NA"]},
            "azure-swedencentral": {"continents": ["EU"], "countries": ["JP"]},
        },
        "default": "gcp-us-central1",
    },
    "failover": {"mode": "failover", "primary": "aws-us-east-1"},
    "weighted": {"mode": "weighted", "weights": {"aws-us-east-1": 3, "gcp-us-central1": 1, "azure-swedencentral": 0}},
}


def small_stack(mode: str) -> tuple[Plan, StackConfig]:
    values: dict[str, Any] = {"targets": SMALL_TARGETS, "dns": {"zone": "ml.example.com", **MODE_DNS[mode]}, **SMALL}
    stack_file = config_from_mapping("mlplatform", "test", {**BASE_CONFIG, **values})
    return stack_plan(**values), parse_stack_config(stack_file.config, stack="test")


SmallStacks = Callable[[str], tuple[Plan, StackConfig]]


@pytest.fixture(scope="module")
def small_stacks() -> SmallStacks:
    """Each mode's small stack is synthesized once for the module, by whichever test asks first."""
    cache: dict[str, tuple[Plan, StackConfig]] = {}

    def get(mode: str) -> tuple[Plan, StackConfig]:
        if mode not in cache:
            cache[mode] = small_stack(mode)
        return cache[mode]

    return get


@pytest.mark.parametrize("mode", sorted(MODE_DNS))
def test_the_routing_set_is_read_from_the_plan_records(small_stacks: SmallStacks, mode: str) -> None:
    plan, config = small_stacks(mode)
    routing = read_routing(plan, config)
    expected = {
        "geo": Routing(
            "geo",
            locations={
                ("continent", "NA"): "aws-us-east-1",
                ("continent", "EU"): "azure-swedencentral",
                ("country", "JP"): "azure-swedencentral",
            },
            default="gcp-us-central1",
        ),
        "failover": Routing(
            "failover", weights={"gcp-us-central1": 1, "azure-swedencentral": 1}, primary="aws-us-east-1"
        ),
        "weighted": Routing("weighted", weights={"aws-us-east-1": 3, "gcp-us-central1": 1, "azure-swedencentral": 0}),
    }[mode]
    assert routing == expected


def test_drill_on_a_geo_plan_falls_back_to_the_default(small_stacks: SmallStacks) -> None:
    plan, config = small_stacks("geo")
    result = run_drill(plan, config, ["azure-swedencentral"])
    assert targets_of(result.answers["eu-central-1"]) == ["gcp-us-central1"]
    assert targets_of(result.answers["us-west-2"]) == ["aws-us-east-1"]
    assert result.serving == ("aws-us-east-1", "gcp-us-central1")
    assert (result.capacity_rps, result.verdict) == (60, "insufficient-capacity")  # 2 x 3 replicas x 10 rps
    assert any("country records (JP) are not evaluated" in note for note in result.notes)


def with_resource(plan: Plan, old: PlannedResource, new: PlannedResource) -> Plan:
    """A copy of the plan with one resource changed (its own index: the original stays as it was)."""
    resources = tuple(new if r is old else r for r in plan.resources)
    return dataclasses.replace(plan, resources=resources, _by_urn={})


def test_a_plan_that_disagrees_with_the_config_is_a_program_failure(small_stacks: SmallStacks) -> None:
    plan, config = small_stacks("failover")
    assert config.dns is not None
    primary = next(r for r in plan.resources if r.name == "global-primary")
    longer = dataclasses.replace(primary, inputs={**primary.inputs, "ttl": config.dns.ttl + 1})
    changed = with_resource(plan, primary, longer)
    with pytest.raises(ProgramError, match="record global-primary: TTL"):
        read_routing(changed, config)
    unchecked = dataclasses.replace(primary, inputs={k: v for k, v in primary.inputs.items() if k != "healthCheckId"})
    changed = with_resource(plan, primary, unchecked)
    with pytest.raises(ProgramError, match="no health check"):
        read_routing(changed, config)


# --- the command on the shipped prod stack (each run synthesizes it: ~15 s) ---


def test_drill_losing_one_latency_target_keeps_every_region_answered() -> None:
    result = run_preflight("drill", "--stack", "prod", "--fail", "aws-us-east-1", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["mode"], document["failed"], document["verdict"]) == ("latency", ["aws-us-east-1"], "ok")
    assert document["failoverSeconds"] == 50 and document["noAnswer"] == []
    assert set(document["answers"]) == set(CLIENT_REGIONS)
    assert all(len(given) == 1 and given != ["aws-us-east-1"] for given in document["answers"].values())
    assert document["answers"]["us-east-1"] == ["gcp-us-central1"]
    assert (document["capacityRps"], document["peakRps"]) == (390, 100)


def test_drill_losing_every_target_names_the_regions_without_an_answer() -> None:
    fail = [arg for target in PROD_TARGETS for arg in ("--fail", target)]
    result = run_preflight("drill", "--stack", "prod", *fail)
    assert result.returncode == 1, result.stderr
    assert f"NO ANSWER for 33 of 33 client regions: {', '.join(CLIENT_REGIONS)}" in result.stdout
    assert "survivors carry 0 rps, peak is 100 rps: NOT ENOUGH" in result.stdout
    assert result.stdout.rstrip().endswith("Verdict: no-answer")


def test_drill_on_an_unknown_target_exits_2_with_one_line() -> None:
    result = run_preflight("drill", "--stack", "prod", "--fail", "nope")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "preflight: --fail nope: not a target of stack prod"
        " (targets: aws-us-east-1, aws-eu-west-1, gcp-us-central1, azure-swedencentral)\n"
    )
