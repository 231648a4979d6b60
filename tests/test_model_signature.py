"""The clusters' Ed25519 check (components/model_signature.py, standard library only) agrees with OpenSSL's
(`cryptography`), and the publisher's side (mlplatform_client.signing) makes what both accept."""

from __future__ import annotations

import base64
import hashlib
import random
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mlplatform_client import signing

from components import model_signature

CONFIG = b'backend: "onnxruntime"\n'


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_the_standard_library_check_accepts_what_openssl_signs_and_refuses_what_it_refuses() -> None:
    generator = random.Random(19)
    for _ in range(40):
        key = Ed25519PrivateKey.generate()
        message = generator.randbytes(generator.randrange(0, 300))
        signature = key.sign(message)
        assert model_signature.verify(raw_public(key), message, signature)
        flipped = bytearray(signature)
        flipped[generator.randrange(64)] ^= 1 << generator.randrange(8)
        assert not model_signature.verify(raw_public(key), message, bytes(flipped))
        assert not model_signature.verify(raw_public(key), message + b"x", signature)
        assert not model_signature.verify(raw_public(Ed25519PrivateKey.generate()), message, signature)


def test_rfc_8032_test_vector_1() -> None:
    """RFC 8032, section 7.1, TEST 1 (the empty message)."""
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert model_signature.verify(public, b"", signature)
    assert not model_signature.verify(public, b"\0", signature)


def test_a_signature_with_s_not_below_the_group_order_is_refused() -> None:
    """Malleability: S + L verifies the same equation and must be refused (RFC 8032, 5.1.7 step 1)."""
    key = Ed25519PrivateKey.generate()
    signature = key.sign(b"m")
    s = int.from_bytes(signature[32:], "little") + model_signature._L
    assert not model_signature.verify(raw_public(key), b"m", signature[:32] + s.to_bytes(32, "little"))


def test_the_public_key_in_config_must_be_32_base64_bytes_of_a_point() -> None:
    key = Ed25519PrivateKey.generate()
    assert model_signature.public_key_bytes(base64.b64encode(raw_public(key)).decode()) == raw_public(key)
    for bad in ("", "not base64!", base64.b64encode(b"\1" * 31).decode()):
        with pytest.raises(ValueError):
            model_signature.public_key_bytes(bad)


def test_the_publisher_signs_a_directory_that_the_cluster_check_accepts_for_its_path_only(tmp_path: Path) -> None:
    version = tmp_path / "ranker"
    (version / "1").mkdir(parents=True)
    (version / "config.pbtxt").write_bytes(CONFIG)
    (version / "1" / "model.onnx").write_bytes(b"\0" * 1000)
    manifest = signing.manifest(version)
    # md5sum format, sorted by path: `md5sum` of b"\0" * 1000 and of the config's text.
    assert manifest.decode().splitlines() == [
        "ede3d3b685b4e137ba4cb2521329a75e  1/model.onnx",
        hashlib.md5(CONFIG).hexdigest() + "  config.pbtxt",
    ]
    private, public = signing.generate_key()
    signature = signing.sign(private, "ranker/v1", manifest)
    key = model_signature.public_key_bytes(public)
    assert model_signature.check_version(key, "ranker/v1", manifest, signature) is None
    assert model_signature.check_version(key, "/ranker/v1/", manifest, signature) is None
    assert model_signature.check_version(key, "ranker/v2", manifest, signature) is not None
    assert signing.verify(public, "ranker/v1", manifest, signature)
    assert not signing.verify(public, "ranker/v1", manifest.replace(b"1/model", b"2/model"), signature)


def test_the_signing_command_line_round_trip(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.bin").write_bytes(b"a")

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "mlplatform_client.signing", *args], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    public = cli("keygen", str(tmp_path / "key.pem")).strip()
    (tmp_path / "manifest").write_text(cli("manifest", str(tmp_path / "m")))
    (tmp_path / "sig").write_text(cli("sign", str(tmp_path / "key.pem"), "m/v1", str(tmp_path / "manifest")))
    assert cli("verify", public, "m/v1", str(tmp_path / "manifest"), str(tmp_path / "sig")) == "signature good\n"
    assert oct((tmp_path / "key.pem").stat().st_mode & 0o777) == "0o600"


def test_a_signed_version_that_ships_a_shared_library_is_refused() -> None:
    """Triton would load <model>/1/libtriton_<backend>.so before the allowed backends of its backend directory."""
    private, public = signing.generate_key()
    key = model_signature.public_key_bytes(public)
    for library in ("ranker/1/libtriton_onnxruntime.so", "ranker/libcustom_ops.so.1"):
        manifest = f"0cc175b9c0f1b6a831c399e269772661  ranker/config.pbtxt\n1  {library}\n".encode()
        reason = model_signature.check_version(key, "ranker/v1", manifest, signing.sign(private, "ranker/v1", manifest))
        assert reason == f"it ships a shared library ({library}), which Triton would load as a backend"
    plain = b"0cc175b9c0f1b6a831c399e269772661  ranker/1/model.onnx\n"
    assert model_signature.check_version(key, "ranker/v1", plain, signing.sign(private, "ranker/v1", plain)) is None
