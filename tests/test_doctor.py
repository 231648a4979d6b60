"""`preflight doctor`: quotas by the clouds' own names, prerequisites, hidden dependencies; exit 0, 1 or 2.

Expected figures are worked out from Pulumi.prod.yaml and the machine catalog's vCPU and GPU counts, not read
back from doctor: every pool counts at its maximum, fallback pools at fallbackMaxNodes.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from preflight.cli import main
from preflight.doctor import run_doctor
from preflight.doctor.quota_table import load_quota_table
from preflight.plan import Plan, PlannedResource

TODAY = date(2026, 12, 2)


def _write(plan: Plan, path: Path) -> Path:
    path.write_text(json.dumps(plan.to_json()))
    return path


def _doctor_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", *args, "--json", "-"])
    return code, json.loads(capsys.readouterr().out)


def _quotas(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["target"], f["item"]): f["needed"] for f in document["findings"] if f["section"] == "quota"}


@pytest.fixture(scope="module")
def prod_file(prod_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(prod_plan, tmp_path_factory.mktemp("doctor") / "prod.json")


@pytest.fixture(scope="module")
def prod_databases_file(prod_every_database_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prod with a database on every target (costSavings.databases: every-target): Cloud SQL and Azure's too."""
    return _write(prod_every_database_plan, tmp_path_factory.mktemp("doctor") / "prod-databases.json")


def test_prod_lists_each_aws_quota_by_name_code_region_and_capacity_type(
    prod_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document = _doctor_json(capsys, "--plan", str(prod_file))
    quotas = _quotas(document)
    # us-east-1: t4 6 x g4dn.xlarge (4 vCPUs) + l4 4 x g6.xlarge (4) + training t4t 2 x g4dn.xlarge spot = 48;
    # fallbacks 3 + 2 + 1 nodes on demand = 24.
    assert quotas[("aws-us-east-1", "All G and VT Spot Instance Requests (L-3819A6DF)")] == "48 vCPUs"
    assert quotas[("aws-us-east-1", "Running On-Demand G and VT instances (L-DB2E81BA)")] == "24 vCPUs"
    # eu-west-1 has no L4 pool and no training pool: t4 only.
    assert quotas[("aws-eu-west-1", "All G and VT Spot Instance Requests (L-3819A6DF)")] == "24 vCPUs"
    assert quotas[("aws-eu-west-1", "Running On-Demand G and VT instances (L-DB2E81BA)")] == "12 vCPUs"
    # The system pool: 4 x m6i.large (2 vCPUs), on demand, on the Standard quota.
    assert (
        quotas[("aws-us-east-1", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (L-1216C47A)")]
        == "8 vCPUs"
    )
    # Three NAT gateways, one Elastic IP each.
    assert quotas[("aws-us-east-1", "EC2-VPC Elastic IPs (L-0263D0A3)")] == "3"
    assert not [f for f in document["findings"] if f["section"] == "quota" and f["verdict"] == "block"]


def test_prod_lists_gcp_gpu_quotas_per_model_preemptible_apart_and_across_regions(
    prod_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document = _doctor_json(capsys, "--plan", str(prod_file), "--cloud", "gcp")
    quotas = _quotas(document)
    # Serving's t4 6 + 3 and l4 4 + 2, training's t4t 2 + 1 and l4t 2 + 1 (spot + on demand).
    assert quotas[("gcp-us-central1", "PREEMPTIBLE_NVIDIA_T4_GPUS")] == "8 GPUs"
    assert quotas[("gcp-us-central1", "NVIDIA_T4_GPUS")] == "4 GPUs"
    assert quotas[("gcp-us-central1", "PREEMPTIBLE_NVIDIA_L4_GPUS")] == "6 GPUs"
    assert quotas[("gcp-us-central1", "NVIDIA_L4_GPUS")] == "3 GPUs"
    assert quotas[("gcp (all regions)", "GPUS_ALL_REGIONS")] == "21 GPUs"
    (all_regions,) = [f for f in document["findings"] if f["item"] == "GPUS_ALL_REGIONS"]
    assert all_regions["detail"].startswith("new accounts start at 0: request 21")
    # On-demand vCPUs: l4od 2 x g2-standard-4, t4od 3 x n1-standard-4, t4tod and l4tod 1 each, system 4 x
    # e2-standard-4 (4 each): 11 x 4.
    assert quotas[("gcp-us-central1", "CPUS")] == "44 vCPUs"
    assert all(not target.startswith("aws") and not target.startswith("azure") for target, _ in quotas)


def test_prod_counts_azure_spot_against_low_priority_vcpus_not_the_family(
    prod_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document = _doctor_json(capsys, "--plan", str(prod_file), "--cloud", "azure")
    quotas = _quotas(document)
    # Spot: t4 6 x NC4as_T4_v3 (4) + a10 2 x NV36ads_A10_v5 (36) + training t4t 2 x 4.
    assert quotas[("azure-swedencentral", "Total Regional Low-priority vCPUs (lowPriorityCores)")] == "104 vCPUs"
    # The family quota counts the on-demand fallbacks only: t4od 3 x 4 + t4tod 1 x 4.
    assert quotas[("azure-swedencentral", "Standard NCASv3_T4 Family vCPUs (standardNCASv3_T4Family)")] == "16 vCPUs"
    # On demand: a10od 36 + t4od 12 + t4tod 4 + system 4 x D4ds_v5 (4).
    assert quotas[("azure-swedencentral", "Total Regional vCPUs (cores)")] == "68 vCPUs"


def test_every_machine_type_of_dev_and_prod_maps_to_a_quota(stack_plan: Plan) -> None:
    report = run_doctor(stack_plan, TODAY)
    unmapped = [f for f in report.findings if f.section == "quota" and f.verdict == "block"]
    assert not unmapped, [f.needed for f in unmapped]
    assert any(f.section == "quota" for f in report.findings)


def _resource(type_token: str, name: str, inputs: dict[str, Any], depends: tuple[str, ...] = ()) -> PlannedResource:
    return PlannedResource(
        urn=f"urn:pulumi:s::p::{type_token}::{name}",
        type=type_token,
        name=name,
        custom=True,
        parent=None,
        provider=None,
        dependencies=depends,
        protect=False,
        retain_on_delete=False,
        inputs=inputs,
    )


def _footprint(cloud: str, region: str) -> PlannedResource:
    footprint = _resource("mlplatform:platform:Footprint", f"{cloud}-{region}", {"cloud": cloud, "region": region})
    return PlannedResource(**{**footprint.__dict__, "custom": False})


def _in(footprint: PlannedResource, resource: PlannedResource) -> PlannedResource:
    return PlannedResource(**{**resource.__dict__, "parent": footprint.urn})


def _node_group(instance_type: str, capacity: str = "ON_DEMAND") -> PlannedResource:
    return _resource(
        "eks:index:ManagedNodeGroup",
        f"gpu-{instance_type}",
        {
            "instanceTypes": [instance_type],
            "capacityType": capacity,
            "scalingConfig": {"minSize": 0, "maxSize": 2},
        },
    )


def test_an_unmapped_machine_type_is_reported_as_blocking_not_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    footprint = _footprint("aws", "us-east-1")
    plan = Plan(
        "p", "s", (footprint, _in(footprint, _node_group("x9z.huge")), _in(footprint, _node_group("g5.xlarge"))), {}
    )
    code, document = _doctor_json(capsys, "--plan", str(_write(plan, tmp_path / "plan.json")))
    blocked = [f for f in document["findings"] if f["verdict"] == "block"]
    assert code == 1 and document["blocking"] is True
    assert [f["item"] for f in blocked] == ["pool gpu-x9z.huge"] and "x9z.huge" in blocked[0]["needed"]
    # The mapped pool is still counted: 2 x g5.xlarge (4 vCPUs).
    assert _quotas(document)[("aws-us-east-1", "Running On-Demand G and VT instances (L-DB2E81BA)")] == "8 vCPUs"


def test_a_hidden_dependency_blocks_and_names_both_resources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = "acme-prod.svc.id.goog"
    cluster = _resource(
        "gcp:container/cluster:Cluster",
        "c",
        {"name": "acme-cluster", "minMasterVersion": "1.35", "workloadIdentityConfig": {"workloadPool": pool}},
    )
    member = (
        f"principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/{pool}/subject/ns/a/sa/b"
    )
    grant = _resource(
        "gcp:storage/bucketIAMMember:BucketIAMMember", "grant", {"bucket": "models-1234567", "member": member}
    )
    path = _write(Plan("p", "s", (cluster, grant), {}), tmp_path / "plan.json")
    code, document = _doctor_json(capsys, "--plan", str(path))
    (hidden,) = [f for f in document["findings"] if f["section"] == "hidden-dependency"]
    assert code == 1 and hidden["verdict"] == "block"
    assert cluster.urn in hidden["detail"] or "'c'" in hidden["detail"]
    assert grant.urn in hidden["detail"]
    path = _write(
        Plan("p", "s", (cluster, PlannedResource(**{**grant.__dict__, "dependencies": (cluster.urn,)})), {}), path
    )
    code, document = _doctor_json(capsys, "--plan", str(path))
    assert code == 0 and [f["verdict"] for f in document["findings"] if f["section"] == "hidden-dependency"] == ["ok"]


def _allowed(document: dict[str, Any]) -> dict[str, str]:
    return {f["target"]: f["verdict"] for f in document["findings"] if f["item"] == "Kubernetes API allowed networks"}


def test_documentation_ranges_in_api_allowed_cidrs_are_warned_on_every_prod_cluster(
    prod_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document = _doctor_json(capsys, "--plan", str(prod_file))
    # Pulumi.prod.yaml ships 203.0.113.0/24 and 198.51.100.0/24 (RFC 5737) as placeholders.
    assert _allowed(document) == {
        "aws-us-east-1": "warn",
        "aws-eu-west-1": "warn",
        "gcp-us-central1": "warn",
        "azure-swedencentral": "warn",
    }


def test_a_real_network_is_left_to_check_not_warned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    footprint = _footprint("aws", "us-east-1")
    cluster = _in(
        footprint, _resource("eks:index:Cluster", "eks", {"version": "1.35", "publicAccessCidrs": ["198.51.99.0/24"]})
    )
    _, document = _doctor_json(
        capsys, "--plan", str(_write(Plan("p", "s", (footprint, cluster), {}), tmp_path / "p.json"))
    )
    assert _allowed(document) == {"aws-us-east-1": "check"}


def test_gcp_apis_the_program_enables_are_ok_and_others_are_named_with_the_command(
    prod_databases_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document = _doctor_json(capsys, "--plan", str(prod_databases_file), "--cloud", "gcp")
    apis = {f["item"]: f["verdict"] for f in document["findings"] if f["item"].startswith("API ")}
    assert apis["API container.googleapis.com"] == "ok" and apis["API sqladmin.googleapis.com"] == "ok"
    assert set(apis.values()) == {"ok"}
    footprint = _footprint("gcp", "us-central1")
    network = _in(footprint, _resource("gcp:compute/network:Network", "vpc", {"project": "acme"}))
    _, document = _doctor_json(
        capsys, "--plan", str(_write(Plan("p", "s", (footprint, network), {}), tmp_path / "p.json"))
    )
    (api,) = [f for f in document["findings"] if f["item"] == "API compute.googleapis.com"]
    assert api["verdict"] == "check" and "gcloud services enable compute.googleapis.com --project acme" in api["detail"]


def test_prod_names_the_azure_providers_aws_roles_and_the_existing_hosted_zone(
    prod_databases_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document = _doctor_json(capsys, "--plan", str(prod_databases_file))
    items = {f["item"]: f for f in document["findings"]}
    assert items["provider Microsoft.ContainerService"]["verdict"] == "check"
    assert items["provider Microsoft.DBforPostgreSQL"]["verdict"] == "check"
    assert "AWS role AWSServiceRoleForEC2Spot" in items and "AWS role AWSServiceRoleForAmazonEKS" in items
    # Pulumi.prod.yaml: dns.zone ml.example.com, createZone off.
    assert items["Route 53 hosted zone"]["needed"] == "ml.example.com exists"


def test_prod_clusters_are_in_standard_support_and_gke_gpus_are_offered_in_their_zones(
    prod_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document = _doctor_json(capsys, "--plan", str(prod_file))
    support = [f for f in document["findings"] if f["item"].startswith("Kubernetes 1.")]
    assert len(support) == 4 and {f["verdict"] for f in support} == {"ok"}
    offered = [f for f in document["findings"] if f["target"] == "gcp-us-central1" and " offered " in f["item"]]
    assert len(offered) == 8 and {f["verdict"] for f in offered} == {"ok"}  # serving's 4 pools, training's 4


def test_a_gke_gpu_pool_in_a_zone_without_its_gpu_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    footprint = _footprint("gcp", "us-central1")
    pool = _in(
        footprint,
        _resource(
            "gcp:container/nodePool:NodePool",
            "l4",
            {
                "location": "us-central1",
                "nodeLocations": ["us-central1-a", "us-central1-f"],
                "nodeConfig": {"machineType": "g2-standard-4"},
                "autoscaling": {"totalMaxNodeCount": 2},
            },
        ),
    )
    code, document = _doctor_json(
        capsys, "--plan", str(_write(Plan("p", "s", (footprint, pool), {}), tmp_path / "p.json"))
    )
    # gcp_zones: L4 in us-central1 a, b and c only.
    (offered,) = [f for f in document["findings"] if " offered " in f["item"]]
    assert code == 1 and offered["verdict"] == "block" and "us-central1-f" in offered["have"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stack", "nosuch"], "Pulumi.nosuch.yaml: no such stack file"),
        (["--plan", "/nonexistent/plan.json", "--cloud", "aws"], "cannot read"),
        (["--plan", "/nonexistent/plan.json", "--cloud", "mars"], "--cloud: unknown cloud 'mars'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_the_table_per_target_and_the_summary_line(
    prod_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "doctor.json"
    code = main(["doctor", "--plan", str(prod_file), "--json", str(out)])
    text = capsys.readouterr().out
    for target in ("aws-us-east-1:", "aws-eu-west-1:", "gcp-us-central1:", "azure-swedencentral:", "stack-wide:"):
        assert f"\n{target}\n" in f"\n{text}"
    assert "verdict  section" in text and "unknown (offline)" in text
    document = json.loads(out.read_text())
    assert text.rstrip().splitlines()[-2] == document["summary"]
    assert code == (1 if document["blocking"] else 0)
    assert document["summary"].startswith("doctor prod (offline): ")
    assert f"{document['counts']['warn']} warning(s)" in document["summary"]
    assert main(["doctor", "--plan", str(prod_file), "--summary"]) == code
    assert capsys.readouterr().out.strip() == document["summary"]


def test_doctor_runs_from_a_stack_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _doctor_json(capsys, "--stack", "dev")
    assert code == (1 if document["blocking"] else 0) and document["stack"] == "dev"
    assert all(f["have"] for f in document["findings"])


def test_the_quota_table_is_sourced_and_fresh() -> None:
    """Fails four months after the oldest source was read: re-read them and bump `read`."""
    table = load_quota_table()
    assert date.today() < table.stale_from(), f"re-read the sources of quotas.yaml (oldest {table.oldest_read()})"
    assert all(source.url.startswith("https://") for source in table.sources.values())
    assert table.stale_from() == date(2027, 5, 1)  # read 2026-12: fresh through April 2027


def test_a_resource_type_with_no_known_api_or_provider_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = _resource("gcp:pubsub/topic:Topic", "events", {"project": "acme"})
    vault = _resource("azure-native:keyvault:Vault", "secrets", {})
    code, document = _doctor_json(
        capsys, "--plan", str(_write(Plan("p", "s", (topic, vault), {}), tmp_path / "p.json"))
    )
    needed = {f["needed"] for f in document["findings"] if f["verdict"] == "block" and f["section"] == "prerequisite"}
    assert code == 1
    assert needed == {
        "(no API known for gcp:pubsub/topic:Topic)",
        "(no provider known for azure-native:keyvault:Vault)",
    }


def test_a_kubernetes_minor_out_of_standard_support_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    footprint = _footprint("aws", "us-east-1")
    # 1.33 left standard support on every cloud in 2026 (EKS extended support since 2026-07-29).
    cluster = _in(footprint, _resource("eks:index:Cluster", "eks", {"version": "1.33", "publicAccessCidrs": []}))
    code, document = _doctor_json(
        capsys, "--plan", str(_write(Plan("p", "s", (footprint, cluster), {}), tmp_path / "p.json"))
    )
    (support,) = [f for f in document["findings"] if f["item"] == "Kubernetes 1.33 support"]
    assert code == 1 and support["verdict"] == "block" and "left standard support" in support["detail"]
