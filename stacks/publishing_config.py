"""Model publishing config (`mlplatform:modelPublishing`): who may publish, the key that proves it, what may run.

    mlplatform:modelPublishing:
      publicKey: 0gC9MD/yaQGnC4QYY99fFihsGHmYJ4ud7htCB36eBXw=   # Ed25519, base64 (required in prod)
      publishers:          # the only identities that may write the bucket models are published to (required in prod)
        aws: [arn:aws:iam::111122223333:role/model-publisher]
        gcp: [serviceAccount:publisher@my-project.iam.gserviceaccount.com]
        azure: [00000000-0000-0000-0000-000000000000]     # object id; group:<id> or user:<id> for those kinds
      backends: [onnxruntime, tensorrt]   # the Triton backends models may use (default); no Python backend
      lockDays: 30         # S3 Object Lock (GOVERNANCE) on the AWS buckets; prod default 30, dev 0 (off)

`python -m mlplatform_client.signing keygen publisher.pem` prints a public key. Publishers are given per cloud; only
the cloud of a bucket that takes publishes needs them: the model sync's primary (replicas are written by the sync
alone), or every bucket when the stack runs no sync. docs/SECURITY.md, "Model integrity".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components import model_signature
from components.target import Cloud
from stacks.validate import ConfigError, integer, kind, mapping, string, string_list

KEYS = {"publicKey", "publishers", "backends", "lockDays"}
CLOUD_KEYS = ("aws", "gcp", "azure")
# The backends a model server may load unless the stack says otherwise: model formats that are data, not code.
# Triton's Python backend (and the Python-based ones: vLLM, TensorRT-LLM's Python path) runs the model.py a
# version ships, which is what turns a bucket write into code execution.
DEFAULT_BACKENDS = ("onnxruntime", "tensorrt")
DEFAULT_LOCK_DAYS = {"dev": 0, "prod": 30}
MAX_LOCK_DAYS = 3650
_AWS_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]{1,512}$")
_GCP_MEMBER = re.compile(r"^(serviceAccount|user|group):[^\s@]+@[^\s@]+$|^principal(Set)?://iam\.googleapis\.com/\S+$")
_AZURE_PRINCIPAL = re.compile(r"^((group|user):)?[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_BACKEND = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_FORMS = {
    "aws": (_AWS_PRINCIPAL, "an IAM role or user ARN"),
    "gcp": (_GCP_MEMBER, "an IAM member: serviceAccount:, user:, group: or a principal:// / principalSet:// id"),
    "azure": (_AZURE_PRINCIPAL, "an Entra object id (a UUID), or group:<id> / user:<id>"),
}


@dataclass(frozen=True)
class PublishingConfig:
    public_key: str | None = None
    """Base64 Ed25519 public key; None: versions are not signature-checked (dev only)."""
    publishers: tuple[tuple[Cloud, tuple[str, ...]], ...] = ()
    """Per cloud, the principals that may write a bucket models are published to; none: writes are not fenced."""
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    lock_days: int = 0
    """S3 Object Lock default retention (GOVERNANCE) in days on every AWS model bucket; 0: no lock."""

    def publishers_for(self, cloud: Cloud) -> tuple[str, ...]:
        return dict(self.publishers).get(cloud, ())


def parse_publishing(
    key: str,
    value: Any,
    environment: str,
    target_clouds: Sequence[tuple[str, Cloud]],
    published_targets: Sequence[str],
) -> PublishingConfig:
    """`published_targets`: the targets whose bucket takes publishes (the sync's primary, or every target)."""
    fields = mapping(key, value if value is not None else {}, KEYS)
    prod = environment == "prod"
    public_key = None
    if "publicKey" in fields:
        public_key = string(f"{key}.publicKey", fields["publicKey"]).strip()
        try:
            model_signature.public_key_bytes(public_key)
        except ValueError as error:
            problem = f"{error}; `python -m mlplatform_client.signing keygen` makes one"
            raise ConfigError(f"{key}.publicKey", problem) from None
    elif prod:
        raise ConfigError(f"{key}.publicKey", "prod must verify what it serves: give the publishers' Ed25519 key")

    clouds = {cloud for _, cloud in target_clouds}
    published = {cloud for name, cloud in target_clouds if name in published_targets}
    publishers = _publishers(f"{key}.publishers", fields.get("publishers", {}), clouds)
    if prod:
        for cloud in sorted(published - {cloud for cloud, _ in publishers}):
            raise ConfigError(
                f"{key}.publishers.{cloud}", "prod must name who may publish to its model bucket on this cloud"
            )

    backends = tuple(string_list(f"{key}.backends", fields.get("backends", list(DEFAULT_BACKENDS))))
    if not backends:
        raise ConfigError(f"{key}.backends", "name at least one Triton backend (e.g. onnxruntime)")
    for index, backend in enumerate(backends):
        if not _BACKEND.match(backend):
            raise ConfigError(f"{key}.backends[{index}]", f"{backend!r} is not a Triton backend name")
    if len(set(backends)) != len(backends):
        raise ConfigError(f"{key}.backends", "a backend is listed twice")

    lock_days = integer(f"{key}.lockDays", fields.get("lockDays", DEFAULT_LOCK_DAYS[environment]), 0, MAX_LOCK_DAYS)
    return PublishingConfig(public_key=public_key, publishers=publishers, backends=backends, lock_days=lock_days)


def _publishers(key: str, value: Any, clouds: set[Cloud]) -> tuple[tuple[Cloud, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(key, f"expected a map of cloud to a list of principals, got {kind(value)}")
    found: list[tuple[Cloud, tuple[str, ...]]] = []
    for cloud in CLOUD_KEYS:
        if cloud not in value:
            continue
        if cloud not in clouds:
            raise ConfigError(f"{key}.{cloud}", f"this stack has no {cloud} target")
        principals = string_list(f"{key}.{cloud}", value[cloud])
        pattern, form = _FORMS[cloud]
        for index, principal in enumerate(principals):
            if not pattern.match(principal):
                raise ConfigError(f"{key}.{cloud}[{index}]", f"{principal!r} is not {form}")
        if not principals:
            raise ConfigError(f"{key}.{cloud}", "an empty list fences nobody out: name a principal or drop the key")
        found.append((cloud, tuple(principals)))
    for unknown in sorted(set(value) - set(CLOUD_KEYS)):
        raise ConfigError(f"{key}.{unknown}", f"unknown cloud (known: {', '.join(CLOUD_KEYS)})")
    return tuple(found)
