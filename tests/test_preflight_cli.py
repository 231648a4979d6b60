"""`python -m preflight plan`: the JSON shape, secrets masked, exit 2 with one line on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_random as random
import pytest

from preflight.plan import Plan
from tests.helpers import program_plan

ROOT = Path(__file__).resolve().parent.parent
RESOURCE_KEYS = {"urn", "type", "name", "custom", "parent", "provider", "dependencies", "protect", "inputs"}


def run_preflight(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def prod_json(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("plan") / "out.json"
    result = run_preflight("plan", "--stack", "prod", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "aws-us-east-1" in result.stdout and "resources" in result.stdout
    return json.loads(out.read_text())


def test_plan_json_has_the_documented_shape(prod_json: dict) -> None:
    assert prod_json["project"] == "mlplatform" and prod_json["stack"] == "prod"
    assert isinstance(prod_json["outputs"], dict)
    urns = {r["urn"] for r in prod_json["resources"]}
    for resource in prod_json["resources"]:
        assert set(resource) >= RESOURCE_KEYS
        assert isinstance(resource["custom"], bool) and isinstance(resource["protect"], bool)
        assert isinstance(resource["dependencies"], list) and isinstance(resource["inputs"], dict)
        for reference in [resource["parent"], resource["provider"], *resource["dependencies"]]:
            assert reference is None or reference in urns, f"{resource['urn']} points at unknown {reference}"


def test_plan_json_carries_the_policy_packs_verdict(prod_json: dict) -> None:
    policy = prod_json["policy"]
    assert policy["packs"] == ["mlplatform"] and policy["resources"] == len(prod_json["resources"])
    # only the advisory digest policy, on the images no public source gives a digest for (tests/test_policy_cli.py)
    assert {(v["policy"], v["level"]) for v in policy["violations"]} <= {("prod-images-pinned-by-digest", "advisory")}


def test_prod_plan_has_a_model_bucket_and_storage_for_every_target(prod_json: dict) -> None:
    by_urn = {r["urn"]: r for r in prod_json["resources"]}
    targets = {r["name"] for r in prod_json["resources"] if r["type"] == "mlplatform:platform:Footprint"}
    assert targets == {"aws-us-east-1", "aws-eu-west-1", "gcp-us-central1", "azure-swedencentral"}
    buckets = [r for r in prod_json["resources"] if r["type"] == "mlplatform:storage:ModelBucket"]
    assert not any(b["custom"] for b in buckets)
    assert {by_urn[b["parent"]]["name"] for b in buckets} == targets
    storage = {r["type"] for r in prod_json["resources"] if r["parent"] in {b["urn"] for b in buckets}}
    assert {"aws:s3/bucket:Bucket", "gcp:storage/bucket:Bucket", "azure-native:storage:StorageAccount"} <= storage


def test_secrets_are_masked_in_inputs_and_outputs() -> None:
    def program() -> None:
        password = random.RandomPassword("db", length=24)
        holder = random.RandomPet("holder", keepers={"password": password.result})
        pulumi.export("password", password.result)
        pulumi.export("holder", holder.id)

    plan: Plan = program_plan(program)
    holder = plan.of_type("random:index/randomPet:RandomPet")[0]
    assert holder.inputs["keepers"] == {"password": "[secret]"}
    assert plan.outputs["password"] == "[secret]"
    assert "[secret]" not in json.dumps(plan.outputs["holder"])


def write_stack(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    for part in ("__main__.py", "components", "stacks"):
        (tmp_path / part).symlink_to(ROOT / part)
    (tmp_path / f"Pulumi.{name}.yaml").write_text(text)
    return tmp_path


BAD_STACKS = {
    "unknown-cloud": (
        "config:\n  mlplatform:environment: dev\n  mlplatform:owner: a\n  mlplatform:costCenter: b\n"
        "  mlplatform:targets:\n    - {cloud: ibm, region: x}\n",
        "Pulumi.unknown-cloud.yaml: mlplatform:targets[0].cloud: unknown cloud 'ibm'",
    ),
    "not-yaml": ("config: [unclosed\n", "Pulumi.not-yaml.yaml: not valid YAML at line"),
    "spot-cap-on-aws": (
        "config:\n  mlplatform:environment: dev\n  mlplatform:owner: a\n  mlplatform:costCenter: b\n"
        "  mlplatform:targets: [{cloud: aws, region: us-east-1}]\n"
        "  mlplatform:gpuPools: [{name: t4, accelerator: T4, spotMaxPrice: 0.3}]\n",
        "Pulumi.spot-cap-on-aws.yaml: mlplatform:gpuPools[0].spotMaxPrice: only Azure offers a spot price cap",
    ),
    "old-postgres": (
        "config:\n  mlplatform:environment: dev\n  mlplatform:owner: a\n  mlplatform:costCenter: b\n"
        "  mlplatform:targets: [{cloud: azure, region: eastus}]\n"
        "  mlplatform:database: {version: 12}\n",
        "Pulumi.old-postgres.yaml: mlplatform:database.version: azure offers no PostgreSQL 12 for new servers",
    ),
    "bad-weights": (
        "config:\n  mlplatform:environment: dev\n  mlplatform:owner: a\n  mlplatform:costCenter: b\n"
        "  mlplatform:targets: [{cloud: gcp, region: us-central1, project: ml-test-123}]\n"
        "  mlplatform:models: [{name: m, accelerator: T4, stable: {name: v1, path: m/v1, weight: 80},"
        " canary: {name: v2, path: m/v2, weight: 10}}]\n",
        "Pulumi.bad-weights.yaml: mlplatform:models[0].canary.weight: the weights must add up to 100",
    ),
    "missing-owner": (
        "config:\n  mlplatform:environment: dev\n  mlplatform:costCenter: b\n"
        "  mlplatform:targets: [{cloud: aws, region: us-east-1}]\n",
        "Pulumi.missing-owner.yaml: mlplatform:owner: missing",
    ),
}


@pytest.mark.parametrize("stack", sorted(BAD_STACKS))
def test_bad_stack_file_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, stack: str) -> None:
    text, expected = BAD_STACKS[stack]
    project = write_stack(tmp_path, stack, text)
    out = tmp_path / "out.json"
    result = run_preflight("--project-dir", str(project), "plan", "--stack", stack, "--json", str(out))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert expected in lines[0]
    assert not out.exists()


def test_missing_stack_file_exits_2() -> None:
    result = run_preflight("plan", "--stack", "nosuchstack")
    assert result.returncode == 2
    assert result.stderr == "preflight: Pulumi.nosuchstack.yaml: no such stack file (stacks here: dev, prod)\n"


def test_secure_config_is_masked_and_reported(tmp_path: Path) -> None:
    text = (ROOT / "Pulumi.dev.yaml").read_text() + "  gcp:credentials:\n    secure: v1:c2VjcmV0LWNpcGhlcnRleHQ=\n"
    project = write_stack(tmp_path, "masked", text)
    out = tmp_path / "plan.json"
    result = run_preflight("--project-dir", str(project), "plan", "--stack", "masked", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "cannot be decrypted offline" in result.stdout
    document = out.read_text()
    assert json.loads(document)["maskedConfig"] == ["gcp:credentials"]
    assert "c2VjcmV0LWNpcGhlcnRleHQ" not in document + result.stdout
