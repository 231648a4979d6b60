"""`preflight doctor --live` on AWS, against moto's server: offerings, the hosted zone and a Service Quota.

moto answers DescribeInstanceTypeOfferings by zone ID from its recorded EC2 data, Route 53, and Service Quotas
for the `vpc` service code only; the ec2 quota calls get its "not available" answer, which must read as
"not read" (check), never as a pass.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from moto.server import ThreadedMotoServer

from preflight.cli import main
from preflight.plan import Plan, PlannedResource


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for key, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_url


def _doctor(capsys: pytest.CaptureFixture[str], plan: Plan, tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.to_json()))
    code = main(["doctor", "--plan", str(path), "--live", "--json", "-", *args])
    return code, json.loads(capsys.readouterr().out)


def test_prod_live_reads_offerings_the_hosted_zone_and_the_vpc_quota(
    aws_env: str, prod_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert aws_env.startswith("http://127.0.0.1:")  # every call below goes to moto on loopback
    boto3.client("route53").create_hosted_zone(Name="ml.example.com", CallerReference="doctor-test")
    _, document = _doctor(capsys, prod_plan, tmp_path, "--cloud", "aws")
    assert document["live"] is True and "(live)" in document["summary"]
    items = {(f["target"], f["item"]): f for f in document["findings"]}
    offered = items[("aws-us-east-1", "g6.xlarge offered (pool l4-cb578238)")]
    assert offered["verdict"] == "ok" and "use1-az" in offered["have"]
    zone = items[("stack-wide", "Route 53 hosted zone")]
    assert zone["verdict"] == "ok" and zone["have"].startswith("exists")
    vpcs = items[("aws-us-east-1", "VPCs per Region (L-F678F1CE)")]
    assert vpcs["verdict"] == "ok" and vpcs["have"] == "5 applied"  # moto's value; the plan needs 1
    spot = items[("aws-us-east-1", "All G and VT Spot Instance Requests (L-3819A6DF)")]
    assert spot["verdict"] == "check" and spot["have"].startswith("not read (")


def _resource(type_token: str, name: str, inputs: dict[str, Any], parent: str | None = None) -> PlannedResource:
    return PlannedResource(
        urn=f"urn:pulumi:s::p::{type_token}::{name}",
        type=type_token,
        name=name,
        custom=not type_token.startswith("mlplatform:"),
        parent=parent,
        provider=None,
        dependencies=(),
        protect=False,
        retain_on_delete=False,
        inputs=inputs,
    )


def test_live_blocks_an_instance_type_no_zone_offers_and_a_missing_zone(
    aws_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert aws_env.startswith("http://127.0.0.1:")
    footprint = _resource("mlplatform:platform:Footprint", "aws-eu-west-1", {"cloud": "aws", "region": "eu-west-1"})
    # Pulumi.prod.yaml keeps L4 out of eu-west-1: EC2 offers no G6 there (moto's recorded offerings agree).
    group = _resource(
        "eks:index:ManagedNodeGroup",
        "l4",
        {"instanceTypes": ["g6.xlarge"], "capacityType": "SPOT", "scalingConfig": {"minSize": 0, "maxSize": 1}},
        parent=footprint.urn,
    )
    record = _resource("aws:route53/record:Record", "api", {"name": "api.nowhere.example.org", "type": "A"})
    code, document = _doctor(capsys, Plan("p", "s", (footprint, group, record), {}), tmp_path)
    blocked = {f["item"]: f["have"] for f in document["findings"] if f["verdict"] == "block"}
    assert code == 1
    assert blocked["g6.xlarge offered (pool l4)"] == "offered in no zone of eu-west-1"
    assert blocked["Route 53 hosted zone"] == "no such public zone"
    (zone,) = [f for f in document["findings"] if f["item"] == "Route 53 hosted zone"]
    assert zone["needed"] == "nowhere.example.org exists"


def test_live_without_aws_credentials_is_one_line_and_exit_2(
    prod_plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(prod_plan.to_json()))
    assert main(["doctor", "--plan", str(path), "--live"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("preflight: --live: no AWS credentials") and len(err.splitlines()) == 1
