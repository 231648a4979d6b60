"""The rclone configuration and the scripts the model sync runs: pure functions of resolved values.

The CronJob (components/model_sync/cronjob.py) and the emulator test (tests/test_model_sync_emulators.py) both
build their files here; they differ only in each remote's `auth` options and environment (workload identity in a
cluster, endpoints and emulator keys in the test), never in the script or the storage options.

Options used, checked against rclone's backends at v1.75.0 (the pinned image) and v1.60.1 (Debian 12's rclone,
which the test runs); `PINNED_ONLY_OPTIONS` are the ones v1.60.1 does not know, all auth options the test swaps:
- s3 (backend/s3/s3.go): `provider`, `region`, `server_side_encryption`, `sse_kms_key_id`, `no_check_bucket`;
  auth `env_auth`, `profile`, `shared_credentials_file` (v1.75 loads that file as an AWS *config* file:
  awsconfig.WithSharedConfigFiles, so a profile there may name `role_arn` + `web_identity_token_file`).
  `server_side_encryption = aws:kms` is required on SSE-KMS buckets: it makes rclone treat ETags as not MD5 and
  store each object's MD5 in `X-Amz-Meta-Md5chksum` (both versions: `etagIsNotMD5`), or uploads fail their
  MD5 check (rclone/rclone#1824). `sse_kms_key_id` names the bucket's own key, since an `aws:kms` request
  without a key id is encrypted with the AWS-managed `aws/s3` key instead (S3 User Guide, "Specifying SSE-KMS").
- google cloud storage (backend/googlecloudstorage): `bucket_policy_only` (uniform access: rclone sets no ACL),
  `no_check_bucket`; auth `env_auth` (v1.75: Google's default credentials, the GKE metadata server or an
  `external_account` file named by GOOGLE_APPLICATION_CREDENTIALS; `service_account_file` takes only
  service-account keys: google.JWTConfigFromJSON).
- azureblob (backend/azureblob/auth/auth.go at v1.75): `account`, `no_check_container`; auth `env_auth`
  (azidentity.DefaultAzureCredential, whose chain includes the workload identity credential: AZURE_CLIENT_ID,
  AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

MARKER = ".complete"
"""A version's checksum manifest (`md5sum` format, paths relative to the version), written last. A version whose
marker is missing is not there yet, for the sync and for readers alike."""

HASH = "md5"  # the one hash S3 (ETag or X-Amz-Meta-Md5chksum), GCS (md5Hash) and Azure (Content-MD5) all give rclone
PINNED_ONLY_OPTIONS = frozenset(
    {("google cloud storage", "env_auth"), ("azureblob", "env_auth"), ("azureblob", "no_check_container")}
)
"""Options the pinned image (v1.75.0) has and Debian's v1.60.1 has not; only cluster auth uses them."""

_SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


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
        for key, value in {**remote.options, **remote.auth}.items():
            if "\n" in value:
                raise ValueError(f"remote {remote.name}: option {key} spans lines")
            lines.append(f"{key} = {value}")
        lines.append("")
    return "\n".join(lines)


def aws_web_identity_config(profiles: Mapping[str, tuple[str, str]], token_file: str) -> str:
    """An AWS config file with one profile per role: `{profile: (role ARN, region)}`, each assumed with the pod's
    projected token (AssumeRoleWithWebIdentity). Profiles let one rclone process hold several AWS roles at once."""
    lines: list[str] = []
    for profile, (role_arn, region) in profiles.items():
        lines += [
            f"[profile {profile}]",  # config-file syntax (AWS CLI User Guide, "Configuration and credential file")
            f"role_arn = {role_arn}",
            f"web_identity_token_file = {token_file}",
            "role_session_name = model-sync",
            f"region = {region}",  # STS is called in this region
            "",
        ]
    return "\n".join(lines)


def gcp_external_account(audience: str, token_file: str) -> str:
    """A credential configuration for Workload Identity Federation with direct resource access: Google's auth
    libraries trade the projected token at STS for a federated token, with no service account to impersonate.
    Format: cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes (credential configuration)."""
    return json.dumps(
        {
            "type": "external_account",
            "audience": audience,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "https://sts.googleapis.com/v1/token",
            "credential_source": {"file": token_file, "format": {"type": "text"}},
        },
        indent=2,
    )


def _exports(env: Mapping[str, str]) -> str:
    return "".join(f"export {key}={shlex.quote(value)}; " for key, value in env.items())


def sync_script(source: Remote, destinations: Sequence[Remote]) -> str:
    """The POSIX sh script the CronJob runs (RCLONE_CONFIG names the config): every version whose marker exists
    at the source and matches its manifest is made identical at each destination, verified, then marked.

    Per destination and version:
    1. up to date: the destination's marker equals the source's and every file there matches the manifest (hashes
       only, nothing is downloaded) -> nothing is copied;
    2. otherwise the destination's marker is deleted first (readers stop trusting that copy), the version is synced
       with hash comparison (only differing files move; strays are deleted), verified against the manifest, and
       only then is the marker copied: a run that stops anywhere before leaves the version unmarked.
    """
    if not destinations:
        raise ValueError("model sync needs at least one destination")
    q = shlex.quote
    marker = q(MARKER)
    body = [
        "#!/bin/sh",
        "# Model sync: the primary bucket is the one writer; every other bucket gets a verified copy.",
        "# Generated by components/model_sync/rclone.py (sync_script); tests/test_model_sync_emulators.py runs it too.",
        "set -u",
        f"SOURCE={q(source.root)}",
        f"MARKER={marker}",
        "failed=0",
        "",
        'log() { echo "model-sync: $*"; }',
        "",
        "# Versions: every directory holding a marker at the source.",
        'listing=$(rclone lsf --recursive --files-only --include "**/$MARKER" "$SOURCE") || {',
        '  log "cannot list $SOURCE"; exit 1; }',
        "",
        "# $1 version, $2 destination root. Returns non-zero if the version could not be published there.",
        "sync_version() {",
        '  src="$SOURCE/$1"; dst="$2/$1"',
        '  want=$(rclone cat "$src/$MARKER") || return 1',
        '  have=$(rclone cat "$dst/$MARKER" 2>/dev/null) || have=""',
        '  if [ "$have" = "$want" ] &&',
        f'    rclone checksum {HASH} "$src/$MARKER" "$dst" --exclude "/$MARKER" 2>/dev/null; then',
        '    log "$2 $1: up to date"; return 0',
        "  fi",
        '  [ -z "$have" ] || rclone deletefile "$dst/$MARKER" || return 1',
        '  rclone sync --checksum --verbose "$src" "$dst" --exclude "/$MARKER" || return 1',
        f'  rclone checksum {HASH} "$src/$MARKER" "$dst" --exclude "/$MARKER" || return 1',
        '  rclone copyto --verbose "$src/$MARKER" "$dst/$MARKER" || return 1',
        '  log "$2 $1: published"',
        "}",
        "",
        "# Read from fd 3: rclone inherits stdin and would swallow the rest of the list.",
        "while IFS= read -r entry <&3; do",
        '  [ -n "$entry" ] || continue',
        '  version=${entry%/"$MARKER"}',
        "  # The publisher wrote the marker last: the source must match it before anything is copied.",
        f'  if ! rclone checksum {HASH} "$SOURCE/$version/$MARKER" "$SOURCE/$version" --exclude "/$MARKER"; then',
        '    log "$SOURCE $version: does not match its manifest, not copied"; failed=$((failed + 1)); continue',
        "  fi",
    ]
    for destination in destinations:
        body.append(f"  dest={q(destination.root)}")
        body.append(
            f'  ({_exports(destination.env)}sync_version "$version" "$dest") || '
            '{ log "$dest $version: FAILED"; failed=$((failed + 1)); }'
        )
    body += [
        "done 3<<EOF",
        "$listing",
        "EOF",
        '[ "$failed" -eq 0 ] || { log "$failed failure(s)"; exit 1; }',
        'log "done"',
        "",
    ]
    return "\n".join(body)


def publish_script() -> str:
    """How a model version is published at the primary: `sh publish.sh <local dir> <remote>:<bucket>/<path>`.
    Files first, verified, then the manifest last as the marker (the same order the sync keeps)."""
    return "\n".join(
        [
            "#!/bin/sh",
            "# Publish one model version to the primary bucket; the marker goes last. Generated by",
            "# components/model_sync/rclone.py (publish_script).",
            "set -eu",
            "local_dir=$1; target=$2",
            f"marker={shlex.quote(MARKER)}",
            "manifest=$(mktemp); trap 'rm -f \"$manifest\"' EXIT",
            f'rclone {HASH}sum "$local_dir" --exclude "/$marker" > "$manifest"',
            'rclone copy --checksum "$local_dir" "$target" --exclude "/$marker"',
            f'rclone checksum {HASH} "$manifest" "$target" --exclude "/$marker"',
            'rclone copyto "$manifest" "$target/$marker"',
            "",
        ]
    )
