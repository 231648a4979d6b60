"""`mlplatform models publish`'s last step: the version's record in the model registry (registry.py).

The record is written after the marker, so the registry never names a version the sync would not copy. The files are
the truth and the record follows them: a registry that is down or refuses the token after a complete publish exits 1
saying so, and running the same publish again (a no-op for the files) writes the record.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlplatform_client.auth import TokenProvider
from mlplatform_client.models.errors import ModelsError
from mlplatform_client.models.publish import Published
from mlplatform_client.models.registry import (
    TAG_MANIFEST,
    TAG_PUBLISHER,
    TAG_VERSION,
    Record,
    Registry,
    RegistryError,
    publisher,
    registry_url,
    token_from_environment,
    version_uri,
)
from mlplatform_client.models.stack import StackFacts


@dataclass(frozen=True)
class RegistryTarget:
    url: str
    tokens: TokenProvider


def registry_target(outputs: Mapping[str, Any], override: str | None) -> RegistryTarget | None:
    """Where to record, with the caller's token; checked before anything is uploaded (a missing token is exit 2)."""
    url = registry_url(outputs, override)
    return None if url is None else RegistryTarget(url, token_from_environment())


def record_version(target: RegistryTarget | None, stack: StackFacts, done: Published, skipped: bool) -> int:
    """Record `done` in the registry; 0 when recorded (or already), 1 when the files are published but not recorded."""
    if target is None:
        why = "--no-registry" if skipped else "the stack has no modelRegistry output and no --registry-url was given"
        print(f"{done.path}: not recorded in a model registry ({why})")
        return 0
    model, version = done.path.split("/", 1)
    primary = stack.primary
    registry = Registry(target.url, target.tokens)
    try:
        record = Record(
            model=model,
            version=version,
            source=version_uri(primary.cloud, primary.bucket, primary.account, done.path),
            manifest_sha256=done.manifest_sha256,
            signer=done.signer,
            publisher=publisher(registry.token()),
        )
        number, made = registry.record(record)
    except RegistryError as error:
        print(
            f"mlplatform: {done.path}: the files are published at {done.where}, but its record in the model registry "
            f"is missing: {error}; run the same publish again to record it",
            file=sys.stderr,
        )
        return 1
    finally:
        registry.close()
    said = "recorded" if made else "already recorded"
    print(f"{done.path}: {said} in the model registry as {model} version {number} ({target.url})")
    return 0


def recorded_lines(outputs: Mapping[str, Any], override: str | None, models: list[str]) -> dict[str, list[str]]:
    """`models status`'s registry lines, per model: each recorded version with MLflow's number, its manifest's
    SHA-256 (first 12 digits) and publisher; one line saying why when the registry cannot be read. Nothing where the
    stack has no registry URL. Never changes status's exit code: the buckets decide completeness."""
    url = registry_url(outputs, override)
    if url is None or not models:
        return {}
    try:
        tokens = token_from_environment()
    except ModelsError:
        return {model: ["registry: not read (no gateway token: set MLPLATFORM_TOKEN)"] for model in models}
    registry = Registry(url, tokens)
    found: dict[str, list[str]] = {}
    try:
        for model in models:
            entries = sorted(registry.versions(model), key=lambda entry: int(entry.get("version", 0)))
            found[model] = [_line(model, entry) for entry in entries] or ["registry: no version recorded"]
    except RegistryError as error:
        return {model: [f"registry: not read: {error}"] for model in models}
    finally:
        registry.close()
    return found


def _line(model: str, entry: Mapping[str, Any]) -> str:
    tags = {str(t.get("key")): str(t.get("value")) for t in entry.get("tags", []) if isinstance(t, dict)}
    version = tags.get(TAG_VERSION, "?")
    manifest = tags.get(TAG_MANIFEST, "?")[:12]
    return (
        f"registry: {model}/{version} = version {entry.get('version')} "
        f"(manifest {manifest}, by {tags.get(TAG_PUBLISHER, '?')})"
    )
