"""`mlplatform models status [NAME]`: per version and per target, is the version complete there?

Complete at the primary: its marker is there and every file matches it. Complete at a replica: its marker and
signature are the primary's bytes and every file there matches that marker (the test the sync makes before it calls
a copy up to date, and the pods make before Triton starts). Nothing is downloaded but markers and signatures.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplatform_client.models.errors import ModelsError
from mlplatform_client.models.stack import Bucket, StackFacts
from mlplatform_client.models.storage import MARKER, SIGNATURE, Storage, StorageError

COMPLETE = "complete"
MISSING = "missing"
NO_MARKER = "incomplete: no marker"
DAMAGED = "damaged: files do not match the marker"
DIFFERS = "differs from the primary"
NOT_AT_PRIMARY = "not at the primary"


@dataclass(frozen=True)
class VersionStatus:
    path: str  # <model>/<version>
    states: tuple[tuple[str, str], ...]  # (target, state), primary first

    @property
    def complete(self) -> bool:
        return all(state == COMPLETE for _, state in self.states)


def _versions(storage: Storage, buckets: tuple[Bucket, ...], model: str | None) -> list[str]:
    paths: set[str] = set()
    for bucket in buckets:
        root = storage.root(bucket)
        models = [model] if model else storage.dirs(root)
        for name in models:
            paths.update(f"{name}/{version}" for version in storage.dirs(f"{root}/{name}"))
    return sorted(paths)


def _state(storage: Storage, bucket: Bucket, path: str, want: tuple[bytes, bytes] | None, work: Path) -> str:
    where = f"{storage.root(bucket)}/{path}"
    present = storage.files(where)
    if MARKER not in present:
        return NO_MARKER if storage.has_anything(where) else MISSING
    marker = storage.read(f"{where}/{MARKER}")
    signature = storage.read(f"{where}/{SIGNATURE}") if SIGNATURE in present else b""
    if want is None:
        return NOT_AT_PRIMARY
    if (marker, signature) != want:
        return DIFFERS
    manifest = work / "manifest"
    manifest.write_bytes(marker)
    return COMPLETE if storage.matches(manifest, where) else DAMAGED


def status(stack: StackFacts, model: str | None) -> list[VersionStatus]:
    with tempfile.TemporaryDirectory(prefix="mlplatform-status-") as work:
        storage = Storage(stack.buckets, Path(work))
        try:
            found = []
            for path in _versions(storage, stack.buckets, model):
                primary = f"{storage.root(stack.primary)}/{path}"
                present = storage.files(primary)
                want = None
                if MARKER in present:
                    sig = storage.read(f"{primary}/{SIGNATURE}") if SIGNATURE in present else b""
                    want = (storage.read(f"{primary}/{MARKER}"), sig)
                states = []
                for bucket in stack.buckets:
                    if bucket is stack.primary:
                        state = (
                            _state(storage, bucket, path, want, Path(work))
                            if want
                            else (NO_MARKER if storage.has_anything(primary) else MISSING)
                        )
                    else:
                        state = _state(storage, bucket, path, want, Path(work))
                    states.append((bucket.target, state))
                found.append(VersionStatus(path, tuple(states)))
        except StorageError as error:
            raise ModelsError(f"cannot read the buckets: {error}") from None
    return found


def serving(stack: StackFacts, model: str) -> str:
    """What the stack routes to the model: `stable v1 (90%), canary v2 (10%)`, from the `models` output."""
    facts: Any = stack.models.get(model) or {}
    parts = []
    for role in ("stable", "canary"):
        version = facts.get(role)
        if isinstance(version, dict):
            parts.append(f"{role} {version.get('name')} at {version.get('path')} ({version.get('weight')}%)")
    return ", ".join(parts)
