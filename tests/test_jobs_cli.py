"""`mlplatform jobs submit`: the Job it prints, its reasons and cost, and one-line refusals that submit nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mlplatform_client.jobs.cli import main

from tests.k8s_schemas import builtin_error

OUTPUTS: dict[str, Any] = {
    "kubeconfigs": {"aws-east": "apiVersion: v1\nkind: Config\n", "gcp-cent": "apiVersion: v1\nkind: Config\n"},
    "trainingOffers": {
        name: {
            "cloud": cloud,
            "region": region,
            "teams": {"ml": {"namespace": "train-ml", "queue": "ml"}},
            "serviceAccount": "trainer",
            "checkpointUri": f"{scheme}://{name}-models/checkpoints/",
            "pools": [
                {"pool": "l4t", "accelerator": "L4", "machineType": machine, "gpusPerNode": 1, "maxNodes": 4,
                 "fallbackMaxNodes": 2, "spotPerGpuHour": spot, "onDemandPerGpuHour": on_demand}
            ],
        }
        for name, cloud, region, scheme, machine, spot, on_demand in [
            ("aws-east", "aws", "us-east-1", "s3", "g6.xlarge", 0.38, 0.8048),
            ("gcp-cent", "gcp", "us-central1", "gs", "g2-standard-4", 0.28184, 0.70683),
        ]
    },
}  # fmt: skip

SUBMIT = ["jobs", "submit", "--image", "trainer:1", "--gpus", "2", "--accelerator", "L4", "--hours", "10"]
COMMAND = ["--", "python", "train.py", "--epochs", "3"]


class Recorder:
    """Stands in for subprocess.run: records each command, succeeds."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str | None]] = []

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((command, kwargs.get("input")))
        return subprocess.CompletedProcess(command, 0, "", "")


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str, Recorder]:
    runner = Recorder()
    code = main(argv, run=runner)
    captured = capsys.readouterr()
    return code, captured.out, captured.err, runner


def test_dry_run_prints_the_kueue_job_for_the_cheapest_target(
    outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*SUBMIT, "--use-spot", "--max-price-per-hour", "0.5", "--stack-outputs", str(outputs), "--dry-run"]
    code, out, err, runner = _run([*argv, *COMMAND], capsys)
    assert code == 0 and runner.calls == []
    assert "why: gcp-cent (gcp us-central1): spot L4 at $0.2818/GPU-hour on g2-standard-4" in err
    assert "why: aws-east: spot $0.3800/GPU-hour, dearer" in err
    assert "expected cost: $5.64 for 10 h" in err  # 2 GPUs x 10 h x $0.28184
    job = json.loads(out)
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "ml"
    assert job["metadata"]["namespace"] == "train-ml"
    spec = job["spec"]
    assert spec["suspend"] is True and spec["parallelism"] == spec["completions"] == 2
    assert spec["completionMode"] == "Indexed"
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "trainer" and pod["restartPolicy"] == "Never"
    assert pod["nodeSelector"] == {"mlplatform.io/accelerator": "l4", "mlplatform.io/capacity": "spot"}
    container = pod["containers"][0]
    assert container["command"] == ["python", "train.py", "--epochs", "3"]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 1}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MLPLATFORM_CHECKPOINT_URI"] == f"gs://gcp-cent-models/checkpoints/ml/{job['metadata']['name']}"
    # A reclaim does not count as a failure: the Job makes a new pod, which resumes from the checkpoint.
    assert spec["podFailurePolicy"]["rules"][0] == {
        "action": "Ignore",
        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
    }
    again = _run([*argv, *COMMAND], capsys)
    assert again[1] == out  # stable: the same job prints the same bytes


def test_fallback_leaves_the_capacity_to_kueue_and_prints_the_worst_case(
    outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*SUBMIT, "--use-spot", "--fallback-to-on-demand", "--stack-outputs", str(outputs), "--dry-run", *COMMAND]
    code, out, err, _ = _run(argv, capsys)
    assert code == 0
    assert "expected cost: $5.64 for 10 h (all on demand: $14.14)" in err  # 2 x 10 x $0.70683
    assert json.loads(out)["spec"]["template"]["spec"]["nodeSelector"] == {"mlplatform.io/accelerator": "l4"}


def test_submit_applies_the_job_with_the_targets_kubeconfig(outputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*SUBMIT, "--use-spot", "--target", "aws-east", "--stack-outputs", str(outputs), *COMMAND]
    code, _, err, runner = _run(argv, capsys)
    assert code == 0
    [(command, manifest)] = runner.calls
    assert command[0] == "kubectl" and command[-3:] == ["apply", "-f", "-"]
    assert not Path(command[2]).exists()  # the kubeconfig file is removed after
    assert json.loads(manifest or "")["spec"]["template"]["spec"]["containers"][0]["image"] == "trainer:1"
    assert "submitted train-ml/train-" in err and "to aws-east" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--use-spot", "--max-price-per-hour", "0.1"], "no target can run 2 x L4 on spot at or under $0.1000"),
        (["--accelerator", "H100"], "--accelerator: no target has a H100 training pool"),
        (["--gpus", "0"], "--gpus: must be at least 1, got 0"),
        (["--target", "azure-west"], "--target: unknown target 'azure-west' (targets: aws-east, gcp-cent)"),
        (["--gpus", "two"], "argument --gpus: invalid int value: 'two'"),
        (["--team", "vision"], "--team: unknown team 'vision' (teams: ml)"),
        (["--max-reclaims", "-1"], "--max-reclaims: must be between 0 and 100, got -1"),
        (["--max-wait-minutes", "nan"], "--max-wait-minutes: must be between 0 and 10080 (a week), got nan"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_submitted(
    extra: list[str], message: str, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err, runner = _run([*SUBMIT, *extra, "--stack-outputs", str(outputs), *COMMAND], capsys)
    assert code == 2
    assert runner.calls == [] and out == ""
    assert err.startswith(f"mlplatform: {message}") and err.count("\n") == 1


def test_a_stack_without_training_offers_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "outputs.json"
    empty.write_text(json.dumps({"kubeconfigs": {}}))
    code, _, err, runner = _run([*SUBMIT, "--stack-outputs", str(empty), *COMMAND], capsys)
    assert (code, runner.calls) == (2, [])
    assert err == "mlplatform: the stack outputs have no trainingOffers: the stack declares no trainingPools\n"


@pytest.mark.parametrize("spot", ["--use-spot", "--fallback-to-on-demand"])
def test_the_job_validates_against_the_kubernetes_schema(
    spot: str, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--use-spot", spot] if spot != "--use-spot" else [spot]
    code, out, _, _ = _run([*SUBMIT, *flags, "--stack-outputs", str(outputs), "--dry-run", *COMMAND], capsys)
    assert code == 0
    assert builtin_error(json.loads(out)) is None


def test_outputs_without_secrets_are_refused_before_kubectl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    masked = tmp_path / "outputs.json"
    masked.write_text(json.dumps({**OUTPUTS, "kubeconfigs": {"aws-east": "[secret]", "gcp-cent": "[secret]"}}))
    code, _, err, runner = _run([*SUBMIT, "--use-spot", "--stack-outputs", str(masked), *COMMAND], capsys)
    assert (code, runner.calls) == (2, [])
    assert err.endswith("mlplatform: the stack outputs have no kubeconfig for gcp-cent (need --show-secrets)\n")


def test_pulumi_failing_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def failing(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 255, "", "error: no stack named 'prod' found\n")

    code = main([*SUBMIT, "--stack", "prod", *COMMAND], run=failing)
    assert code == 2
    assert capsys.readouterr().err == "mlplatform: pulumi stack output failed: error: no stack named 'prod' found\n"


def test_with_several_teams_the_job_names_its_team(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    teams = {"ml": {"namespace": "train-ml", "queue": "ml"}, "fraud": {"namespace": "train-fraud", "queue": "fraud"}}
    offers = {name: {**offer, "teams": teams} for name, offer in OUTPUTS["trainingOffers"].items()}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({**OUTPUTS, "trainingOffers": offers}))
    argv = [*SUBMIT, "--stack-outputs", str(path), "--dry-run"]
    code, _, err, _ = _run([*argv, *COMMAND], capsys)
    assert (code, err) == (2, "mlplatform: --team: the stack has several training teams; pick one of fraud, ml\n")
    code, out, _, _ = _run([*argv, "--team", "fraud", *COMMAND], capsys)
    job = json.loads(out)
    assert code == 0 and job["metadata"]["namespace"] == "train-fraud"
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "fraud"
