"""What `mlplatform models publish` refuses before it touches a bucket, and what it reads from the stack.

The repository checks run through the command (in process) with a stack-outputs file, so each case is the user's
one line and exit 2; the buckets are never reached (the outputs name no reachable bucket). The storage options are
compared with the platform's own remotes (components/rclone.py), which the sync and the pods use on the same buckets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlplatform_client.commands import main
from mlplatform_client.models import storage
from mlplatform_client.models.stack import Bucket, stack_facts

from components.rclone import azure_remote, gcs_remote, s3_remote
from tests.helpers import Plan

MODEL = "fraud-detection"
ONNX = f'name: "{MODEL}"\nbackend: "onnxruntime"\n'
OUTPUTS = {
    "targets": {"aws-us-east-1": {"cloud": "aws", "region": "us-east-1"}},
    "bucketUris": {"aws-us-east-1": "s3://unreachable-models"},
    "bucketKeys": {"aws-us-east-1": "arn:aws:kms:us-east-1:111122223333:key/k"},
    "models": {MODEL: {"stable": {"name": "v1", "path": f"{MODEL}/v1", "weight": 100}}},
}


def publish(tmp_path: Path, files: dict[str, bytes | str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    root = tmp_path / "repo"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            (root / name).write_text(data)
        else:
            (root / name).write_bytes(data)
    (tmp_path / "outputs.json").write_text(json.dumps(OUTPUTS))
    outputs = ["--outputs", str(tmp_path / "outputs.json")]
    code = main(["models", "publish", str(root), "--model", MODEL, "--version", "v2", "--unsigned", *outputs])
    err = capsys.readouterr().err
    return code, err.removeprefix("mlplatform: ").replace(str(root), "DIR")


REFUSED = {
    "another model beside it": (
        {f"{MODEL}/config.pbtxt": ONNX, f"{MODEL}/1/model.onnx": b"x", "churn/config.pbtxt": ONNX},
        "DIR: a model repository for fraud-detection holds the directory fraud-detection/ only, found: churn, "
        "fraud-detection",
    ),
    "no config.pbtxt": (
        {f"{MODEL}/1/model.onnx": b"x"},
        "DIR: not a Triton model repository: fraud-detection/config.pbtxt is missing",
    ),
    "config names another model": (
        {f"{MODEL}/config.pbtxt": 'name: "churn"\nbackend: "onnxruntime"\n', f"{MODEL}/1/model.onnx": b"x"},
        "DIR/fraud-detection/config.pbtxt: name is 'churn', the model directory is 'fraud-detection': they must match",
    ),
    "unknown field": (
        {f"{MODEL}/config.pbtxt": ONNX + "max_batch: 8\n", f"{MODEL}/1/model.onnx": b"x"},
        "DIR/fraud-detection/config.pbtxt: does not parse as a Triton model config: 3:1 : Message type "
        '"inference.ModelConfig" has no field named "max_batch".',
    ),
    "no backend or platform": (
        {f"{MODEL}/config.pbtxt": f'name: "{MODEL}"\n', f"{MODEL}/1/model.onnx": b"x"},
        "DIR/fraud-detection/config.pbtxt: it names no backend or platform (backend: onnxruntime, tensorrt, ...)",
    ),
    "python backend": (
        {f"{MODEL}/config.pbtxt": f'name: "{MODEL}"\nbackend: "python"\n', f"{MODEL}/1/model.py": "import os\n"},
        "DIR/fraud-detection/config.pbtxt: backend 'python' runs code from the bucket; not published",
    ),
    "no version directory": (
        {f"{MODEL}/config.pbtxt": ONNX, f"{MODEL}/latest/model.onnx": b"x"},
        "DIR/fraud-detection: no numeric version directory (such as fraud-detection/1/)",
    ),
    "version without its model file": (
        {f"{MODEL}/config.pbtxt": ONNX, f"{MODEL}/1/model.onnx": b"x", f"{MODEL}/2/weights.bin": b"x"},
        "DIR/fraud-detection/2: has no model.onnx, the file backend onnxruntime loads",
    ),
    "platform's file": (
        {
            f"{MODEL}/config.pbtxt": f'name: "{MODEL}"\nplatform: "tensorrt_plan"\n',
            f"{MODEL}/1/model.onnx": b"x",
        },
        "DIR/fraud-detection/1: has no model.plan, the file backend tensorrt loads",
    ),
    "shared library": (
        {f"{MODEL}/config.pbtxt": ONNX, f"{MODEL}/1/model.onnx": b"x", f"{MODEL}/1/libtriton_onnxruntime.so": b"x"},
        "DIR/fraud-detection/1/libtriton_onnxruntime.so: a shared library, which Triton would load as a backend; "
        "the clusters refuse it",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_repository_the_platform_cannot_serve_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    files, said = REFUSED[case]
    assert publish(tmp_path, files, capsys) == (2, said + "\n")


def test_a_symbolic_link_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "elsewhere.onnx").write_bytes(b"x")
    (tmp_path / "repo" / MODEL / "1").mkdir(parents=True)
    (tmp_path / "repo" / MODEL / "1" / "model.onnx").symlink_to(tmp_path / "elsewhere.onnx")
    code, said = publish(tmp_path, {f"{MODEL}/config.pbtxt": ONNX}, capsys)
    assert code == 2
    assert (
        said
        == "DIR/fraud-detection/1/model.onnx: a symbolic link; copy the file in (the upload does not follow links)\n"
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--version", "V2"], "--version 'V2': a DNS label of at most 15 characters, such as v3"),
        (
            ["--version", "v2", "--key", "/no/such.pem"],
            "signing key /no/such.pem: cannot read it: No such file or directory",
        ),
    ],
)
def test_bad_names_and_keys_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    (tmp_path / "repo" / MODEL / "1").mkdir(parents=True)
    (tmp_path / "repo" / MODEL / "config.pbtxt").write_text(ONNX)
    (tmp_path / "repo" / MODEL / "1" / "model.onnx").write_bytes(b"x")
    (tmp_path / "outputs.json").write_text(json.dumps(OUTPUTS))
    argv = ["models", "publish", str(tmp_path / "repo"), "--model", MODEL, "--outputs", str(tmp_path / "outputs.json")]
    assert main(argv + args) == 2
    assert capsys.readouterr().err == f"mlplatform: {said}\n"


def test_the_client_writes_with_the_platforms_storage_options() -> None:
    """The options the sync and the pods use on the same buckets (components/rclone.py), with each cloud's default
    credentials (env_auth) where the clusters use workload identity."""
    key = "arn:aws:kms:us-east-1:111122223333:key/k"
    cases = [
        (Bucket("a", "aws", "us-east-1", "b", kms_key=key), s3_remote("a", "b", "us-east-1", key, {})),
        (Bucket("g", "gcp", "europe-west4", "b"), gcs_remote("g", "b", {})),
        (Bucket("z", "azure", "swedencentral", "models", account="acct"), azure_remote("z", "acct", "models", {})),
    ]
    for bucket, remote in cases:
        client = storage.options(bucket)
        assert (client.pop("type"), client.pop("env_auth")) == (remote.type, "true")
        assert client == dict(remote.options), bucket.cloud


def test_the_stack_exports_what_publish_reads(prod_plan: Plan) -> None:
    """The prod stack (Pulumi.prod.yaml): primary aws-us-east-1, fraud-detection v1 stable at 90 and v2 canary at 10."""
    facts = stack_facts(prod_plan.outputs)
    assert facts.primary.target == "aws-us-east-1" and facts.primary.cloud == "aws"
    assert facts.primary.kms_key and facts.primary.bucket
    assert sorted(b.target for b in facts.replicas) == ["aws-eu-west-1", "azure-swedencentral", "gcp-us-central1"]
    assert sorted(prod_plan.outputs["bucketKeys"]) == ["aws-eu-west-1", "aws-us-east-1"]
    (served,) = facts.models.values()
    assert list(facts.models) == ["fraud-detection"] and served["routing"] == "canary"
    assert served["stable"] == {"name": "v1", "path": "fraud-detection/v1", "weight": 90}
    assert served["canary"] == {"name": "v2", "path": "fraud-detection/v2", "weight": 10}
