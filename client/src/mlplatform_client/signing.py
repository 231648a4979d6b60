"""Sign a model version's manifest, the publisher's half of model integrity.

A version is published as its files, then `<path>/.complete.sig`, then `<path>/.complete` last (the marker). The
marker is the MD5 manifest of every file (`md5sum` format: `<md5>  <relative path>`, one line per file, sorted); the
signature is Ed25519 over `mlplatform-model-manifest-v1 NUL <path> NUL <manifest>`, base64 on one line. The model
sync copies a version only if its signature verifies with the stack's public key (`mlplatform:modelPublishing`
`publicKey`), and every Triton pod checks it again before the server starts; a changed file, a rewritten manifest,
a signature for another path or a missing signature is refused.

Needs the optional `cryptography` package (`pip install 'mlplatform-client[signing]'`); the clusters verify with
the standard library only (components/model_signature.py in the platform repository).

    python -m mlplatform_client.signing keygen KEY_FILE           # writes the private key, prints the public key
    python -m mlplatform_client.signing manifest DIR              # prints DIR's manifest
    python -m mlplatform_client.signing sign KEY_FILE PATH MANIFEST   # prints the signature
    python -m mlplatform_client.signing verify PUBLIC_KEY PATH MANIFEST SIGNATURE
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DOMAIN = b"mlplatform-model-manifest-v1"
MARKER = ".complete"
SIGNATURE = ".complete.sig"
_CHUNK = 1 << 20


def signed_message(path: str, manifest: bytes) -> bytes:
    """What is signed: the domain, the version's path (no leading or trailing slash) and the manifest's bytes."""
    return DOMAIN + b"\0" + path.strip("/").encode() + b"\0" + manifest


def manifest(directory: str | os.PathLike[str]) -> bytes:
    """The MD5 manifest of every file under `directory` (markers excluded), in `md5sum` format, sorted by path:
    the same lines `rclone md5sum` prints, which is what the sync and the pods check the buckets against."""
    root = Path(directory)
    lines = []
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = file.relative_to(root).as_posix()
        if relative in (MARKER, SIGNATURE):
            continue
        digest = hashlib.md5(usedforsecurity=False)
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        lines.append(f"{digest.hexdigest()}  {relative}\n")
    return "".join(lines).encode()


def _crypto() -> type[Ed25519PrivateKey]:
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError:  # pragma: no cover - depends on the installation
        raise SystemExit("signing needs the cryptography package: pip install 'mlplatform-client[signing]'") from None
    return Ed25519PrivateKey


def generate_key() -> tuple[bytes, str]:
    """A new key pair: (the private key as unencrypted PKCS#8 PEM, the public key as the stack config wants it)."""
    from cryptography.hazmat.primitives import serialization

    key = _crypto().generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private, public_key_text(private)


def _load(private_pem: bytes) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, _crypto()):
        raise ValueError("not an Ed25519 private key")
    return key


def public_key_text(private_pem: bytes) -> str:
    """The public key for `mlplatform:modelPublishing.publicKey`: its 32 raw bytes, base64."""
    from cryptography.hazmat.primitives import serialization

    raw = _load(private_pem).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(private_pem: bytes, path: str, manifest_bytes: bytes) -> bytes:
    """The `.complete.sig` file's content for a version published at `path`."""
    signature = _load(private_pem).sign(signed_message(path, manifest_bytes))
    return base64.b64encode(signature) + b"\n"


def verify(public_key: str, path: str, manifest_bytes: bytes, signature: bytes) -> bool:
    """The clusters' check, with `cryptography`: the signature is good for this path and manifest."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature.strip(), validate=True), signed_message(path, manifest_bytes))
    except (InvalidSignature, ValueError):
        return False
    return True


def main(argv: list[str]) -> int:
    """The command line (module docstring), for any publishing tool to call."""
    command, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    if command == "keygen" and len(args) == 1:
        private, public = generate_key()
        Path(args[0]).write_bytes(private)
        os.chmod(args[0], 0o600)
        print(public)
        return 0
    if command == "manifest" and len(args) == 1:
        sys.stdout.buffer.write(manifest(args[0]))
        return 0
    if command == "sign" and len(args) == 3:
        sys.stdout.buffer.write(sign(Path(args[0]).read_bytes(), args[1], Path(args[2]).read_bytes()))
        return 0
    if command == "verify" and len(args) == 4:
        good = verify(args[0], args[1], Path(args[2]).read_bytes(), Path(args[3]).read_bytes())
        print("signature good" if good else "signature refused")
        return 0 if good else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
