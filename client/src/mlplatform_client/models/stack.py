"""What the stack's outputs say about model publishing: targets, buckets, the primary, the models it serves.

Read from `pulumi stack output --json` (on a machine with Pulumi and the stack's state) or from a file holding that
JSON (CI, a laptop without Pulumi, the tests). Keys used (stacks/platform.py exports them): `targets` ({name: {cloud,
region}}), `bucketUris` ({name: s3://B | gs://B | https://A.blob.core.windows.net/C}), `modelSync` ({primary,
replicas}; absent on a one-target stack, whose one target is then the primary), `bucketKeys` ({name: the S3 bucket's
KMS key ARN}, AWS targets) and `models` ({name: {stable: {name, path, weight}, canary?}}).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mlplatform_client.models.errors import ModelsError


@dataclass(frozen=True)
class Bucket:
    """One target's model bucket as its cloud names it."""

    target: str
    cloud: str  # aws | gcp | azure
    region: str
    bucket: str  # the S3/GCS bucket or the Azure container
    account: str = ""  # Azure: the storage account
    kms_key: str = ""  # AWS: the bucket's KMS key, which every object is written under


@dataclass(frozen=True)
class StackFacts:
    primary: Bucket
    replicas: tuple[Bucket, ...]
    models: Mapping[str, Any]  # name -> {stable, canary?}, as exported

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        return (self.primary, *self.replicas)


def read_outputs(outputs_file: str | None, stack: str | None) -> dict[str, Any]:
    """The outputs as JSON: from the file, or from `pulumi stack output --json [--stack S]`."""
    if outputs_file is not None:
        try:
            text = Path(outputs_file).read_text()
        except OSError as error:
            raise ModelsError(f"--outputs {outputs_file}: cannot read it: {error.strerror}") from None
        source = f"--outputs {outputs_file}"
    else:
        pulumi = shutil.which("pulumi")
        if pulumi is None:
            raise ModelsError("pulumi is not installed: pass --outputs FILE, the JSON of `pulumi stack output --json`")
        command = [pulumi, "stack", "output", "--json", *(["--stack", stack] if stack else [])]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            said = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ModelsError(f"pulumi stack output failed: {said}")
        text, source = done.stdout, "pulumi stack output"
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelsError(f"{source}: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(outputs, dict):
        raise ModelsError(f"{source}: expected a JSON object of stack outputs")
    return outputs


def _bucket(target: str, outputs: Mapping[str, Any]) -> Bucket:
    targets, uris = outputs.get("targets", {}), outputs.get("bucketUris", {})
    if target not in uris or target not in targets:
        raise ModelsError(f"stack outputs: target {target!r} has no bucketUris or targets entry")
    facts, uri = targets[target], urlparse(str(uris[target]))
    cloud, region = str(facts.get("cloud", "")), str(facts.get("region", ""))
    if cloud == "aws" and uri.scheme == "s3":
        key = str(outputs.get("bucketKeys", {}).get(target, ""))
        if not key:
            raise ModelsError(f"stack outputs: bucketKeys has no KMS key for {target} (a stack older than publish?)")
        return Bucket(target, cloud, region, uri.netloc, kms_key=key)
    if cloud == "gcp" and uri.scheme == "gs":
        return Bucket(target, cloud, region, uri.netloc)
    if cloud == "azure" and uri.scheme == "https" and uri.netloc.endswith(".blob.core.windows.net"):
        return Bucket(target, cloud, region, uri.path.strip("/"), account=uri.netloc.split(".", 1)[0])
    raise ModelsError(f"stack outputs: bucketUris[{target}] = {uris[target]!r} is not a {cloud or 'known'} bucket")


def stack_facts(outputs: Mapping[str, Any]) -> StackFacts:
    targets = outputs.get("bucketUris")
    if not isinstance(targets, dict) or not targets:
        raise ModelsError("stack outputs: no bucketUris (is this an mlplatform stack?)")
    sync = outputs.get("modelSync")
    if isinstance(sync, dict):
        primary, replicas = str(sync.get("primary", "")), [str(r) for r in sync.get("replicas", [])]
    elif len(targets) == 1:
        primary, replicas = next(iter(targets)), []
    else:
        raise ModelsError("stack outputs: no modelSync, so no primary bucket to publish to (mlplatform:modelSync)")
    models = outputs.get("models", {})
    if not isinstance(models, dict):
        raise ModelsError("stack outputs: models is not an object")
    return StackFacts(_bucket(primary, outputs), tuple(_bucket(r, outputs) for r in replicas), models)
