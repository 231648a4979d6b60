"""Record a published version in the platform's model registry: MLflow's, on the primary target, behind the gateway.

The registry RECORDS versions; it holds no files. Each version's `source` is the version's own directory in the
primary bucket (s3://B/M/V, gs://B/M/V, wasbs://C@A.blob.core.windows.net/M/V: the URIs MLflow's artifact
repositories read), and the server runs with `--no-serve-artifacts`, so it never needs a grant on the bucket, whose
writes stay fenced to the publishers (docs/OPERATIONS.md, "The model registry").

MLflow REST API 2.0 (mlflow.org/docs/latest/api_reference/rest-api.html, read 2026-12):
- POST registered-models/create {name}: 400 RESOURCE_ALREADY_EXISTS when the model is there (not an error here);
- GET model-versions/search?filter=name='M' (paged by next_page_token);
- POST model-versions/create {name, source, description, tags: [{key, value}]}: MLflow numbers versions 1, 2, ...;
  our version name goes in the tag `mlplatform.version`, which makes a re-publish find its record and add none.

Calls carry `Authorization: Bearer <token>` as the inference client's do (mlplatform_client.auth): the gateway
checks the JWT and lets only `mlplatform:auth.registry`'s callers through.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx

from mlplatform_client.auth import TokenProvider
from mlplatform_client.errors import TokenError
from mlplatform_client.models.errors import ModelsError
from mlplatform_client.models.tokens import CLIENT_ENV, TOKEN_ENV, gateway_token

OUTPUT = "modelRegistry"  # the stack output: {target, url}; url null where the gateway does not expose it
API = "api/2.0/mlflow"
TAG_VERSION = "mlplatform.version"
TAG_MANIFEST = "mlplatform.manifest_sha256"
TAG_SIGNER = "mlplatform.signer_key_id"
TAG_PUBLISHER = "mlplatform.publisher"
TIMEOUT_SECONDS = 30.0


class RegistryError(Exception):
    """The registry could not be reached or refused a call: the version's files are published, its record is not."""


@dataclass(frozen=True)
class Record:
    """What the registry keeps of one published version."""

    model: str
    version: str  # the version's name, such as v3
    source: str  # the version's directory in the primary bucket
    manifest_sha256: str
    signer: str  # the signing key's id (public_key_id), or "unsigned"
    publisher: str

    @property
    def tags(self) -> dict[str, str]:
        return {
            TAG_VERSION: self.version,
            TAG_MANIFEST: self.manifest_sha256,
            TAG_SIGNER: self.signer,
            TAG_PUBLISHER: self.publisher,
        }


def registry_url(outputs: Mapping[str, Any], override: str | None) -> str | None:
    """The registry's base URL (`https://<host>/mlflow`): `--registry-url`, else the stack output; None: no registry."""
    url: Any = override
    if not override:
        facts = outputs.get(OUTPUT)
        url = facts.get("url") if isinstance(facts, dict) else None
        if not url:
            return None
    parsed = urlparse(str(url))
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise ModelsError(f"registry URL {url!r}: expected an http(s) URL such as https://ml.example.com/mlflow")
    return str(url).rstrip("/")


def token_from_environment() -> TokenProvider:
    """The caller's gateway token: $MLPLATFORM_TOKEN, or OAuth2 client credentials from the three CLIENT_ENV
    variables ($MLPLATFORM_TOKEN_SCOPE optional). Read before anything is uploaded: a missing one is bad input."""
    tokens = gateway_token()
    if tokens is not None:
        return tokens
    raise ModelsError(
        f"the model registry needs a gateway token: set {TOKEN_ENV}, or {', '.join(CLIENT_ENV)}; "
        "or pass --no-registry to publish without recording the version"
    )


def public_key_id(public_key: str) -> str:
    """A signing key's id: the first 16 hex digits of the SHA-256 of its raw 32 bytes (the base64 the stack holds)."""
    return hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:16]


def publisher(token: str) -> str:
    """Who published: the token's `sub` claim (the gateway verified the token; read here as a label only), else the
    local user name (a token that is not a JWT)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        subject = claims.get("sub") if isinstance(claims, dict) else None
        if isinstance(subject, str) and subject:
            return subject
    except (IndexError, ValueError):
        pass
    return getpass.getuser()


def version_uri(cloud: str, bucket: str, account: str, path: str) -> str:
    """The version's directory as MLflow's artifact repositories name it."""
    if cloud == "aws":
        return f"s3://{bucket}/{path}"
    if cloud == "gcp":
        return f"gs://{bucket}/{path}"
    return f"wasbs://{bucket}@{account}.blob.core.windows.net/{path}"


class Registry:
    """The registry's REST API through the gateway, with the caller's token."""

    def __init__(self, url: str, tokens: TokenProvider, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url
        self._tokens = tokens
        self._http = httpx.Client(transport=transport, timeout=TIMEOUT_SECONDS)

    def close(self) -> None:
        self._http.close()

    def token(self) -> str:
        try:
            return self._tokens.token()
        except TokenError as error:
            raise RegistryError(f"no gateway token: {error}") from None

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> httpx.Response:
        where = f"{self.url}/{API}/{endpoint}"
        headers = {"Authorization": f"Bearer {self.token()}"}
        try:
            return self._http.request(method, where, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise RegistryError(f"{where}: {type(error).__name__}: {error}") from None

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                return body
        said = response.text.strip().replace("\n", " ")[:200]
        raise RegistryError(f"{response.request.url} answered {response.status_code}: {said}")

    def versions(self, model: str) -> list[dict[str, Any]]:
        """Every recorded version of `model` (none if the model is not registered)."""
        found: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            params = {"filter": f"name='{model}'", "max_results": "1000", **({"page_token": page} if page else {})}
            body = self._ok(self._call("GET", "model-versions/search", params=params))
            found += body.get("model_versions", [])
            page = body.get("next_page_token")
            if not page:
                return found

    def find(self, model: str, version: str) -> dict[str, Any] | None:
        """The record of MODEL/VERSION (our version name, in its tag), or None."""
        for entry in self.versions(model):
            if _tags(entry).get(TAG_VERSION) == version:
                return entry
        return None

    def record(self, record: Record) -> tuple[str, bool]:
        """Record a version once: (MLflow's version number, whether this call made the record)."""
        existing = self.find(record.model, record.version)
        if existing is not None:
            if _tags(existing).get(TAG_MANIFEST) != record.manifest_sha256:
                raise RegistryError(
                    f"{record.model}/{record.version} is recorded with another manifest "
                    f"(sha256 {_tags(existing).get(TAG_MANIFEST)}): the registry and the bucket disagree"
                )
            return str(existing.get("version")), False
        created = self._call("POST", "registered-models/create", json={"name": record.model})
        if created.status_code != 200 and "RESOURCE_ALREADY_EXISTS" not in created.text:
            self._ok(created)
        body = {
            "name": record.model,
            "source": record.source,
            "description": f"{record.model}/{record.version}, published by mlplatform models publish",
            "tags": [{"key": key, "value": value} for key, value in record.tags.items()],
        }
        made = self._ok(self._call("POST", "model-versions/create", json=body))
        return str(made.get("model_version", {}).get("version")), True


def _tags(entry: Mapping[str, Any]) -> dict[str, str]:
    return {str(tag.get("key")): str(tag.get("value")) for tag in entry.get("tags", []) if isinstance(tag, dict)}
