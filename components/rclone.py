"""rclone as every component reaches the model buckets: the pinned image, one remote per store, its configuration
(as a file or as environment), the version marker, and the reader's wait for that marker.

Neutral on purpose: the model sync (components/model_sync/) writes versions with it and the model server's pods
(components/serving_stack/) wait for them with it, so neither component imports the other for it. The tests run the
same functions' output with rclone v1.75 (requirements-dev.txt) against storage emulators; only each remote's `auth`
differs (workload identity in a cluster; keys and endpoints in the tests), never the storage options or the scripts.

Options used, checked against rclone's backends at v1.75.0 (the pinned image):
- s3 (backend/s3/s3.go): `provider`, `region`, `server_side_encryption`, `sse_kms_key_id`, `no_check_bucket`;
  auth `env_auth`, `profile`, `shared_credentials_file` (v1.75 loads that file as an AWS *config* file:
  awsconfig.WithSharedConfigFiles, so a profile there may name `role_arn` + `web_identity_token_file`).
  `env_auth` alone takes the AWS SDK's default chain, which includes the web identity EKS's webhook sets up
  (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE; rclone docs, s3 "Authentication": "run rclone in an EKS pod with an
  IAM role that is associated with a service account"). `server_side_encryption = aws:kms` is required on
  SSE-KMS buckets: it makes rclone treat ETags as not MD5 and store (and read back) each object's MD5 in
  `X-Amz-Meta-Md5chksum` (`etagIsNotMD5`), or uploads fail their MD5 check (rclone/rclone#1824).
  `sse_kms_key_id` names the bucket's own key, since an `aws:kms` request without a key id is encrypted with the
  AWS-managed `aws/s3` key instead (S3 User Guide, "Specifying SSE-KMS").
- google cloud storage (backend/googlecloudstorage): `bucket_policy_only` (uniform access: rclone sets no ACL),
  `no_check_bucket`; auth `env_auth` (v1.75: Google's default credentials, the GKE metadata server or an
  `external_account` file named by GOOGLE_APPLICATION_CREDENTIALS; `service_account_file` takes only
  service-account keys: google.JWTConfigFromJSON).
- azureblob (backend/azureblob/auth/auth.go at v1.75): `account`, `no_check_container`; auth `env_auth`
  (azidentity.DefaultAzureCredential, whose chain includes the workload identity credential: AZURE_CLIENT_ID,
  AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE).
- Configuration from the environment (rclone docs, "Config file", v1.75): `RCLONE_CONFIG_<REMOTE>_<OPTION>`
  (uppercase) defines a remote, which needs its `..._TYPE`; `RCLONE_CONFIG=/dev/null` keeps the config in memory
  only, so rclone looks for no file and logs no "Config file not found".
- A missing object is not an error on bucket stores: `rclone lsf` and `rclone cat` of a path that does not exist
  list or print nothing and exit 0 (a prefix with no objects is an empty directory), so the wait compares
  `lsf --files-only` output with the marker's name instead of trusting the exit code (tests: the emulators).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from components.images import image as platform_image

# rclone's official image, 1.75.0, pinned by tag and index digest: its source is in the platform's image table.
IMAGE = platform_image("rclone").ref

MARKER = ".complete"
"""A version's checksum manifest (`md5sum` format, paths relative to the version), written last by whoever writes
the version (the publisher at the primary, the sync at a replica). A version whose marker is missing, or whose
files do not match it, is not there yet: for the sync and for the model server alike."""

SIGNATURE = ".complete.sig"
"""The publisher's Ed25519 signature over the marker (components/model_signature.py), written just before it. With
a public key in the stack config, the sync copies only versions whose signature verifies, and the model pods verify
it again before Triton starts."""

HASH = "md5"  # the one hash S3 (ETag or X-Amz-Meta-Md5chksum), GCS (md5Hash) and Azure (Content-MD5) all give rclone

_SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_ENV_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class Remote:
    """One bucket as rclone reaches it: a named remote section, the bucket (or container) and what its calls need."""

    name: str  # the rclone remote, named after the target
    type: str  # s3 | google cloud storage | azureblob
    bucket: str  # S3/GCS bucket or Azure container: every path is under it
    options: Mapping[str, str]  # storage options (the same in a cluster and in the test)
    auth: Mapping[str, str]  # how rclone authenticates (workload identity in a cluster; keys/endpoints in the test)
    env: Mapping[str, str] = field(default_factory=dict)
    """Environment for the rclone calls that write this destination (process-wide credentials: GCP, Azure)."""

    @property
    def root(self) -> str:
        return f"{self.name}:{self.bucket}"


def s3_remote(name: str, bucket: str, region: str, kms_key_arn: str, auth: Mapping[str, str]) -> Remote:
    options = {
        "provider": "AWS",
        "region": region,
        "server_side_encryption": "aws:kms",
        "sse_kms_key_id": kms_key_arn,
        "no_check_bucket": "true",  # the bucket exists; rclone needs no CreateBucket (and is not allowed it)
    }
    return Remote(name, "s3", bucket, options, dict(auth))


def gcs_remote(name: str, bucket: str, auth: Mapping[str, str], env: Mapping[str, str] | None = None) -> Remote:
    options = {"bucket_policy_only": "true", "no_check_bucket": "true"}
    return Remote(name, "google cloud storage", bucket, options, dict(auth), dict(env or {}))


def azure_remote(
    name: str, account: str, container: str, auth: Mapping[str, str], env: Mapping[str, str] | None = None
) -> Remote:
    return Remote(name, "azureblob", container, {"account": account}, dict(auth), dict(env or {}))


def _settings(remote: Remote) -> dict[str, str]:
    settings = {**remote.options, **remote.auth}
    for key, value in settings.items():
        if "\n" in value:
            raise ValueError(f"remote {remote.name}: option {key} spans lines")
    return settings


def rclone_config(remotes: Sequence[Remote]) -> str:
    """rclone.conf: one section per remote. Holds no secret in a cluster (auth comes from workload identity)."""
    lines: list[str] = []
    seen: set[str] = set()
    for remote in remotes:
        if remote.name in seen:
            raise ValueError(f"remote {remote.name!r} is listed twice")
        if not remote.name or set(remote.name) - _SAFE_NAME:
            raise ValueError(f"remote name {remote.name!r}: lowercase letters, digits, '-' and '_' only")
        seen.add(remote.name)
        lines.append(f"[{remote.name}]")
        lines.append(f"type = {remote.type}")
        lines += [f"{key} = {value}" for key, value in _settings(remote).items()]
        lines.append("")
    return "\n".join(lines)


def remote_env(remote: Remote) -> dict[str, str]:
    """The same remote as environment variables, for a container that has no config file to mount: one remote,
    `RCLONE_CONFIG_<NAME>_TYPE` and one variable per option, and an in-memory config."""
    if not remote.name or set(remote.name) - _ENV_NAME:
        raise ValueError(f"remote name {remote.name!r}: lowercase letters, digits and '_' only in the environment")
    prefix = f"RCLONE_CONFIG_{remote.name.upper()}_"
    env = {"RCLONE_CONFIG": "/dev/null", f"{prefix}TYPE": remote.type}
    env.update({f"{prefix}{key.upper()}": value for key, value in _settings(remote).items()})
    return env


# What the wait script reads from its environment (the pod spec and the tests set them).
WAIT_VERSION = "MODEL_VERSION"  # the version as rclone reaches it: <remote>:<bucket>/<path>
WAIT_REPOSITORY = "MODEL_REPOSITORY"  # the same place as the model server names it (s3://B/p), for the log lines
WAIT_SECONDS = "WAIT_SECONDS"  # how long one attempt waits before it fails
WAIT_POLL_SECONDS = "POLL_SECONDS"  # how often it looks
WAIT_MANIFEST_DIR = "MANIFEST_DIR"  # a local directory: the marker and signature the files were checked against


def wait_script() -> str:
    """The POSIX sh a reader runs before it loads a version: succeed once `<version>/.complete` exists and every
    file of the version matches it (hashes from listings and HEADs, nothing downloaded but the manifest); otherwise
    log what is missing and look again, and after WAIT_SECONDS exit 1 with one line naming the marker, so the
    kubelet restarts the attempt with its back-off and the pod's state shows it.

    The marker (and its signature, when there is one) is first copied to MANIFEST_DIR and the files are checked
    against that copy, so the next step (the signature check, model_signature.py) judges exactly the manifest the
    files matched, not whatever the bucket holds a moment later.

    Checking the files and not only the marker's existence is the same test the sync makes before it copies: a
    replica the sync is repairing has lost its marker first, and a damaged file fails the match.
    """
    q = shlex.quote
    return "\n".join(
        [
            "set -u",
            f'version="${WAIT_VERSION}"; shown="${WAIT_REPOSITORY}"',
            f"marker={q(MARKER)}",
            'log() { echo "wait-for-model: $*"; }',
            "start=$(date +%s)",
            f"signature={q(SIGNATURE)}",
            f'local="${WAIT_MANIFEST_DIR}"',
            "while :; do",
            '  rm -f "$local/$marker" "$local/$signature"',
            '  if ! found=$(rclone lsf --files-only "$version/$marker"); then',
            '    reason="cannot list the bucket (rclone said why above)"',
            '  elif [ "$found" != "$marker" ]; then',
            '    reason="no marker yet: the version is not published (or not copied) yet"',
            '  elif ! rclone copyto "$version/$marker" "$local/$marker"; then',
            '    reason="cannot read the marker (rclone said why above)"',
            '  elif [ -n "$(rclone lsf --files-only "$version/$signature")" ] &&',
            '    ! rclone copyto "$version/$signature" "$local/$signature"; then',
            '    reason="cannot read the signature (rclone said why above)"',
            f'  elif rclone checksum {HASH} "$local/$marker" "$version" \\',
            '    --exclude "/$marker" --exclude "/$signature"; then',
            '    log "$shown: complete, starting"; exit 0',
            "  else",
            '    reason="its files do not match the marker yet"',
            "  fi",
            "  waited=$(( $(date +%s) - start ))",
            f'  if [ "$waited" -ge "${WAIT_SECONDS}" ]; then',
            '    log "gave up after ${waited} s: $shown/$marker: $reason; publish the version with its marker last,'
            ' or wait for the model sync"',
            "    exit 1",
            "  fi",
            f'  log "waiting for $shown/$marker ($reason); next look in ${WAIT_POLL_SECONDS} s"',
            f'  sleep "${WAIT_POLL_SECONDS}"',
            "done",
            "",
        ]
    )
