"""Verify a model version's signed manifest: Ed25519 (RFC 8032) in the Python standard library only.

Why this file is a script as well as a module: it is what the clusters run. The model sync's verify step and the
Triton pods' `verify-model` init container run this very file (its text goes into a ConfigMap or the container's
command) with `python3` from a small pinned image, which carries no third-party package; so Ed25519 verification is
written out here from RFC 8032, section 5.1 (encoding, decoding, point addition, verification), rather than taken
from `cryptography`. tests/test_model_signature.py checks it against `cryptography` (OpenSSL) on many keys and
messages, and against tampered signatures, keys and manifests. Signing stays with the publisher
(mlplatform_client.signing, which uses `cryptography`); nothing here ever holds a private key.

What is signed: `mlplatform-model-manifest-v1 NUL <version path> NUL <the .complete manifest's bytes>`. The path
(`fraud-detection/v3`, no leading or trailing slash) binds a manifest to where it was published, so a signed
manifest copied under another path is refused. The manifest lists every file's MD5 (components/rclone.py, MARKER);
readers check the files against it, this checks who wrote it.

Usage (exit 0 when good; 1 with one line naming what was refused):
    python3 model_signature.py version KEY PATH MANIFEST SIGNATURE
    python3 model_signature.py tree KEY DIR   # every <version>/.complete under DIR; refused ones are removed
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys

DOMAIN = b"mlplatform-model-manifest-v1"
MARKER = ".complete"  # the same names as components/rclone.py (kept standalone: this file runs on its own)
SIGNATURE = ".complete.sig"
REFUSED = ".refused"  # tree mode: one line per refused version, for the sync to report

# The image that runs this file in the clusters: `python` in components/data/images.yaml.

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, x*y = T/Z


def signed_message(path: str, manifest: bytes) -> bytes:
    """The bytes the publisher signs and every reader verifies."""
    return DOMAIN + b"\0" + path.strip("/").encode() + b"\0" + manifest


def _add(p: Point, q: Point) -> Point:
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(scalar: int, point: Point) -> Point:
    result: Point = (0, 1, 1, 0)  # the neutral element
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _same(p: Point, q: Point) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % _P == 0 and (p[1] * q[2] - q[1] * p[2]) % _P == 0


def _decode(data: bytes) -> Point | None:
    """A point from its 32-byte encoding (RFC 8032, 5.1.3), or None if it is not one."""
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x2 = u * pow(v, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, x * y % _P)


_BASE = _decode(bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666"))


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Ed25519 verification (RFC 8032, 5.1.7, cofactorless): [S]B == R + [k]A."""
    if len(signature) != 64 or _BASE is None:
        return False
    key, r_point = _decode(public_key), _decode(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if key is None or r_point is None or s >= _L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % _L
    return _same(_multiply(s, _BASE), _add(r_point, _multiply(k, key)))


def public_key_bytes(text: str) -> bytes:
    """The stack config's form: the 32 raw key bytes in base64 (mlplatform_client.signing prints it)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32 or _decode(raw) is None:
        raise ValueError("not an Ed25519 public key (32 bytes, base64)")
    return raw


def signature_bytes(text: bytes) -> bytes:
    return base64.b64decode(text.strip(), validate=True)


def shipped_library(manifest: bytes) -> str | None:
    """The first shared library the version ships, or None. Triton looks for a model's backend library
    (libtriton_<backend>.so) in the model's version directory and the model's directory before its backend directory
    (TRITONSERVER_ServerOptionsSetBackendDirectory, Triton C API docs), so a version carrying one would run its own
    native code whatever backends the stack allows; backends come from the image only."""
    for line in manifest.decode("utf-8", "replace").splitlines():
        name = line.split("  ", 1)[-1].rsplit("/", 1)[-1]
        if name.endswith(".so") or ".so." in name:
            return line.split("  ", 1)[-1]
    return None


def check_version(public_key: bytes, path: str, manifest: bytes, signature_text: bytes) -> str | None:
    """Why the version is refused, or None when its manifest carries a good signature for `path` and lists no
    shared library."""
    try:
        signature = signature_bytes(signature_text)
    except ValueError:
        return "its signature is not base64"
    if not verify(public_key, signed_message(path, manifest), signature):
        return "its manifest's signature does not verify with the stack's public key"
    library = shipped_library(manifest)
    if library is not None:
        return f"it ships a shared library ({library}), which Triton would load as a backend"
    return None


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def check_tree(public_key: bytes, root: str) -> list[str]:
    """Every `<version>/.complete` under `root`: refused versions lose their local marker (so nothing downstream
    copies them) and are returned as `<version>: <reason>` lines."""
    refused = []
    for folder, _, files in sorted(os.walk(root)):
        if MARKER not in files:
            continue
        version = os.path.relpath(folder, root).replace(os.sep, "/")
        manifest = _read(os.path.join(folder, MARKER)) or b""
        signature = _read(os.path.join(folder, SIGNATURE))
        reason = "it has no signature" if signature is None else check_version(public_key, version, manifest, signature)
        if reason is not None:
            os.remove(os.path.join(folder, MARKER))
            refused.append(f"{version}: {reason}")
    return refused


def main(argv: list[str]) -> int:
    """The command line the clusters run (module docstring)."""
    if len(argv) == 6 and argv[1] == "version":
        _, _, key, path, manifest_file, signature_file = argv
        manifest, signature = _read(manifest_file), _read(signature_file)
        if manifest is None or signature is None:
            print(f"verify-model: {path}: refused: its manifest or signature is missing", flush=True)
            return 1
        reason = check_version(public_key_bytes(key), path, manifest, signature)
        if reason is not None:
            print(f"verify-model: {path}: refused: {reason}", flush=True)
            return 1
        print(f"verify-model: {path}: signature good", flush=True)
        return 0
    if len(argv) == 4 and argv[1] == "tree":
        _, _, key, root = argv
        refused = check_tree(public_key_bytes(key), root)
        with open(os.path.join(root, REFUSED), "w") as handle:
            handle.writelines(f"{line}\n" for line in refused)
        for line in refused:
            print(f"verify-model: {line}: refused, not copied", flush=True)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


def script() -> str:
    """This file's text: what the clusters run with `python3`."""
    with open(__file__, encoding="utf-8") as handle:
        return handle.read()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
