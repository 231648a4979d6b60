"""`mlplatform models publish DIR --model NAME --version V`: one version into the primary bucket, marker last.

Order (the one the model sync and the pods rely on, docs/OPERATIONS.md "Publishing a model version"):
1. every check that needs no bucket: the repository (repository.py), the model is one the stack serves, the key;
2. one read of the primary at `<model>/<version>/`: it proves the credentials before anything is written, and finds a
   version already there: the same manifest is a no-op, another manifest is refused (a version never changes);
3. the files (`rclone sync --checksum`: a stray file from an earlier cut-off attempt is removed), then the files are
   checked against the manifest in the bucket, then `.complete.sig`, then `.complete` last.
A run that stops anywhere before step 3's last write leaves the version without a marker: the sync does not copy it
and the pods keep waiting; publishing again finishes it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlplatform_client import signing
from mlplatform_client.models import repository
from mlplatform_client.models.errors import ModelsError
from mlplatform_client.models.registry import public_key_id
from mlplatform_client.models.stack import StackFacts
from mlplatform_client.models.storage import EXCLUDE_MARKERS, MARKER, SIGNATURE, Storage, StorageError

# The stack's own rules for names (mlplatform:models[].name and .stable/.canary name, stacks/serving_config.py).
MODEL_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
VERSION_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")
KEY_ENV = "MODEL_SIGNING_KEY"


@dataclass(frozen=True)
class Published:
    path: str  # <model>/<version>, what the stack's `path` names and the signature binds
    where: str  # remote:bucket/path
    files: int
    already: bool  # the same version was there already: nothing was written
    manifest_sha256: str = ""  # the marker's SHA-256: what the model registry's record names (registry.py)
    signer: str = "unsigned"  # the signing key's id (registry.public_key_id)


def _signing_key(key_file: str | None, unsigned: bool) -> bytes | None:
    if unsigned:
        return None
    key_file = key_file or os.environ.get(KEY_ENV)
    if not key_file:
        raise ModelsError(f"no signing key: pass --key FILE or set {KEY_ENV} (or --unsigned for a stack without one)")
    try:
        pem = Path(key_file).read_bytes()
    except OSError as error:
        raise ModelsError(f"signing key {key_file}: cannot read it: {error.strerror}") from None
    try:
        signing.public_key_text(pem)
    except ImportError:
        raise ModelsError("signing needs cryptography: pip install 'mlplatform-client[models]'") from None
    except (ValueError, TypeError) as error:
        raise ModelsError(f"signing key {key_file}: not an Ed25519 private key in PEM ({error})") from None
    return pem


def check_names(stack: StackFacts, model: str, version: str, new_model: bool = False) -> None:
    """`new_model`: the first version of a model not in mlplatform:models yet (Pulumi waits for a served model's pods,
    which wait for a published version, so a model's first version is published before the stack serves it)."""
    if not MODEL_NAME.fullmatch(model):
        raise ModelsError(f"--model {model!r}: a DNS label of at most 40 characters, as in mlplatform:models")
    if not VERSION_NAME.fullmatch(version):
        raise ModelsError(f"--version {version!r}: a DNS label of at most 15 characters, such as v3")
    if model not in stack.models and not new_model:
        served = ", ".join(sorted(stack.models)) or "none"
        raise ModelsError(
            f"--model {model}: the stack serves no such model (it serves: {served}); add it to mlplatform:models, "
            "or pass --new-model for its first version"
        )


def publish(
    stack: StackFacts,
    directory: Path,
    model: str,
    version: str,
    key_file: str | None,
    unsigned: bool = False,
    new_model: bool = False,
) -> Published:
    check_names(stack, model, version, new_model)
    repository.check(directory, model)
    key = _signing_key(key_file, unsigned)
    path = f"{model}/{version}"
    manifest = signing.manifest(directory)
    facts = {
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        "signer": public_key_id(signing.public_key_text(key)) if key is not None else "unsigned",
    }
    with tempfile.TemporaryDirectory(prefix="mlplatform-publish-") as work:
        storage = Storage([stack.primary], Path(work))
        where = f"{storage.root(stack.primary)}/{path}"
        try:
            present = storage.files(where)
        except StorageError as error:
            raise ModelsError(f"cannot read the primary bucket {stack.primary.target} ({where}): {error}") from None
        files = len(manifest.splitlines())
        if MARKER in present:
            if storage.read(f"{where}/{MARKER}") != manifest:
                raise ModelsError(
                    f"{path} is already published at {stack.primary.target} with other content; a version never "
                    "changes: publish a new version"
                )
            return Published(path, where, files, already=True, **facts)
        (Path(work) / MARKER).write_bytes(manifest)
        try:
            storage.run("sync", "--checksum", str(directory), where, *EXCLUDE_MARKERS)
            if not storage.matches(Path(work) / MARKER, where):
                raise StorageError("the uploaded files do not match the manifest")
            if key is not None:
                (Path(work) / SIGNATURE).write_bytes(signing.sign(key, path, manifest))
                # A run cut before the marker left the same bytes (Ed25519 is deterministic): not rewritten, which
                # a GCS publisher (objectCreator) could not do.
                storage.run("copyto", "--checksum", str(Path(work) / SIGNATURE), f"{where}/{SIGNATURE}")
            storage.run("copyto", str(Path(work) / MARKER), f"{where}/{MARKER}")
        except StorageError as error:
            raise UploadFailedError(
                f"{path}: upload to {stack.primary.target} failed, no marker written: {error}"
            ) from None
    return Published(path, where, files, already=False, **facts)


class UploadFailedError(Exception):
    """The upload broke part way (network, quota, a cut connection): the version has no marker; run again."""
