"""docs/openapi.yaml, the public API's document, against a real validator, the real routes and real answers.

- The document is valid OpenAPI 3.1 (openapi-spec-validator, the reference validator on PyPI).
- Its paths are exactly what the gateways route (traffic.py's VirtualService routes): every documented operation is
  routed, every route is documented, and the paths a caller must not reach are in neither.
- MLServer behind a real Envoy built from the program's own gateway configuration (tests/gateway_envoy.py) answers
  every documented operation, and every refusal the document lists, with a status, headers and a body the document
  allows (jsonschema, Draft 2020-12, the dialect of OpenAPI 3.1's schemas).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from components.serving_stack.contract import HEALTH_PATH, CallerRateLimit, ModelSpec, ModelVersion, RequestLimits
from components.serving_stack.traffic import http_routes
from tests.client_servers import MODEL, REPO, ServerFarm, free_port
from tests.gateway_envoy import Envoy, SigningKey, bootstrap, gateway_listener

DOCUMENT = REPO / "docs" / "openapi.yaml"
URI = "urn:mlplatform:openapi"
GROUP = "scorers"
LIMIT = CallerRateLimit(requests_per_second=1, burst=3)
LIMITS = RequestLimits(max_body_bytes=32 * 1024, max_headers_kib=8)
MODEL_SPEC = ModelSpec(MODEL, (ModelVersion("v1", f"{MODEL}/v1", 100),), "T4")
METHODS = ("get", "post", "put", "delete", "patch")


def document() -> dict[str, Any]:
    return yaml.safe_load(DOCUMENT.read_text())


def operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, item in doc["paths"].items() for method in item if method in METHODS]


def concrete(path: str, model: str = MODEL, version: str = "v1") -> str:
    return path.replace("{model}", model).replace("{version}", version)


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    validate(doc)


def test_the_validator_can_fail() -> None:
    broken = document()
    broken["components"]["securitySchemes"]["bearer"]["type"] = "jwt"  # not a security scheme type
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


# --- the document against the routes --------------------------------------------------------------------------


def _routed(method: str, path: str) -> str | None:
    """The name of the gateway route (traffic.py) that takes this request, as Envoy matches it: RE2 regex or exact
    path over the whole path, and the method when the route names one."""
    for route in http_routes(MODEL_SPEC, health=True):
        for match in route["match"]:
            uri = match["uri"]
            hit = re.fullmatch(uri["regex"], path) if "regex" in uri else uri["exact"] == path
            if hit and match.get("method", {}).get("exact", method) == method:
                return str(route["name"])
    return None


# What a caller must not reach through the gateway (Triton's control APIs and the repository API).
UNROUTED = [
    ("GET", f"/v2/models/{MODEL}/config"),
    ("GET", f"/v2/models/{MODEL}/stats"),
    ("POST", f"/v2/models/{MODEL}/trace/setting"),
    ("GET", f"/v2/models/{MODEL}/versions/v1/stats"),
    ("POST", "/v2/repository/index"),
    ("POST", f"/v2/repository/models/{MODEL}/load"),
    ("POST", f"/v2/repository/models/{MODEL}/unload"),
    ("GET", f"/v2/models/{MODEL}/infer"),
    ("POST", f"/v2/models/{MODEL}"),
    ("GET", "/v2"),
    ("GET", "/metrics"),
]


def test_every_documented_operation_is_routed_and_every_route_documented() -> None:
    doc = document()
    names = set()
    for method, path in operations(doc):
        name = _routed(method, concrete(path))
        assert name is not None, f"{method} {path} is documented but no gateway route takes it"
        names.add(name)
    assert names == {route["name"] for route in http_routes(MODEL_SPEC, health=True)}  # no route undocumented


@pytest.mark.parametrize(("method", "path"), UNROUTED)
def test_control_paths_are_neither_routed_nor_documented(method: str, path: str) -> None:
    assert _routed(method, path) is None
    documented = {(m, concrete(p)) for m, p in operations(document())}
    assert (method, path) not in documented


def test_the_documented_operations_are_exactly_the_v2_ones() -> None:
    assert sorted(operations(document())) == sorted(
        [
            ("GET", HEALTH_PATH),
            ("GET", "/v2/models/{model}"),
            ("GET", "/v2/models/{model}/versions/{version}"),
            ("GET", "/v2/models/{model}/ready"),
            ("GET", "/v2/models/{model}/versions/{version}/ready"),
            ("POST", "/v2/models/{model}/infer"),
            ("POST", "/v2/models/{model}/versions/{version}/infer"),
        ]
    )


# --- the document against real answers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Gateway:
    url: str
    key: SigningKey
    farm: ServerFarm


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    workdir = Path(tempfile.mkdtemp(prefix="mlplatform-openapi-"))
    farm = ServerFarm(["gateway"], workdir)
    key = SigningKey()
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps(key.jwks()))
    port = free_port()
    listen = gateway_listener("gateway", port, jwks, [MODEL_SPEC], GROUP, LIMIT, limits=LIMITS)
    envoy = Envoy(bootstrap(farm["gateway"].http_port, free_port(), [listen]), workdir / "envoy")
    try:
        farm.start()
        envoy.start()
        yield Gateway(f"http://127.0.0.1:{port}", key, farm)
    finally:
        envoy.stop()
        farm.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def check_answer(doc: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """The answer's status is documented for the operation; its documented headers are there and match their
    schemas; a JSON body matches the documented schema, a text body the documented text."""
    operation = doc["paths"][path][method.lower()]
    documented = operation["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method} {path}: {status} is not documented ({sorted(documented)})"
    answer = _resolve(doc, documented[status])
    registry = Registry().with_resource(URI, Resource.from_contents(doc, default_specification=DRAFT202012))
    for name, header in answer.get("headers", {}).items():
        header = _resolve(doc, header)
        if name.lower() not in response.headers:
            assert not header.get("required"), f"{method} {path} {status}: no {name}"
            continue
        Draft202012Validator(header["schema"], registry=registry).validate(response.headers[name.lower()])
    content = answer.get("content", {})
    if not response.content:
        return  # an empty body (readiness, the gateway's own 404) needs no schema
    kind = response.headers.get("content-type", "").split(";")[0]
    assert kind in content or (kind == "" and "text/plain" in content), f"{method} {path} {status}: {kind}"
    schema = content[kind or "text/plain"]["schema"]
    body = response.json() if kind == "application/json" else response.text
    Draft202012Validator(
        {"$ref": f"{URI}#{_pointer(doc, schema)}"} if "$ref" in schema else schema, registry=registry
    ).validate(body)


def _pointer(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).removeprefix("#")


def _auth(gateway: Gateway, subject: str = "svc-openapi") -> dict[str, str]:
    return {"authorization": f"Bearer {gateway.key.token(subject, groups=[GROUP])}"}


def test_every_operation_answers_as_documented(gateway: Gateway) -> None:
    doc = document()
    for method, path in operations(doc):
        body = gateway.farm.infer_body() if method == "POST" else None
        headers = {} if path == HEALTH_PATH else _auth(gateway, f"svc-{path}")
        response = httpx.request(method, gateway.url + concrete(path), json=body, headers=headers, timeout=10.0)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        check_answer(doc, method, path, response)


def test_every_refusal_answers_as_documented(gateway: Gateway) -> None:
    doc = document()
    infer = "/v2/models/{model}/infer"
    url = gateway.url + concrete(infer)
    body = gateway.farm.infer_body()
    cases: list[tuple[int, httpx.Response]] = [
        (401, httpx.post(url, json=body, timeout=10.0)),
        (401, httpx.post(url, json=body, headers={"authorization": f"Bearer {SigningKey().token('x')}"}, timeout=10.0)),
        (403, httpx.post(url, json=body, headers={"authorization": f"Bearer {gateway.key.token('x')}"}, timeout=10.0)),
        (
            413,
            httpx.post(
                url,
                json=body | {"parameters": {"pad": "x" * LIMITS.max_body_bytes}},
                headers=_auth(gateway),
                timeout=10.0,
            ),
        ),
        (431, httpx.post(url, json=body, headers=_auth(gateway) | {"x-pad": "y" * 9000}, timeout=10.0)),
    ]
    missing_version = gateway.url + concrete("/v2/models/{model}/versions/{version}", version="v9")
    cases.append((404, httpx.get(missing_version, headers=_auth(gateway), timeout=10.0)))
    for expected, response in cases:
        assert response.status_code == expected, response.text
        path = "/v2/models/{model}/versions/{version}" if expected == 404 else infer
        check_answer(doc, "GET" if expected == 404 else "POST", path, response)
    greedy = _auth(gateway, "svc-greedy")
    for _ in range(LIMIT.burst + 20):
        response = httpx.post(url, json=body, headers=greedy, timeout=10.0)
        if response.status_code == 429:
            break
    assert response.status_code == 429
    check_answer(doc, "POST", infer, response)
    assert response.headers["retry-after"] == "1"


def test_an_undocumented_answer_fails_the_check(gateway: Gateway) -> None:
    """The check can fail: an answer the document does not allow is caught."""
    doc = document()
    fake = httpx.Response(200, json={"outputs": []}, request=httpx.Request("POST", gateway.url))
    with pytest.raises(Exception, match="model_name"):
        check_answer(doc, "POST", "/v2/models/{model}/infer", fake)
    teapot = httpx.Response(418, text="no", request=httpx.Request("POST", gateway.url))
    with pytest.raises(AssertionError, match="418 is not documented"):
        check_answer(doc, "POST", "/v2/models/{model}/infer", teapot)
