"""`mlplatform models status`: does each target's gateway report each served version ready?

Asked through the gateways the stack exports (`endpoints`, and `globalUrl` for TLS: endpoints.py, as the inference
client reaches them), with the caller's token, KServe V2 `GET /v2/models/{name}/ready`. How the gateway picks a
version decides what the answer means (components/serving_stack/traffic.py):
- routing ab or blueGreen: the request carries VERSION_HEADER with the version's name, and the gateway's header
  route sends it to that version's replicas alone: the answer is that version's Triton;
- routing canary: only weights choose, so no one version can be asked; the answer is the model's, from whichever
  version the weights picked, shown once for the model.
`/v2/models/{name}/versions/{n}/ready` would not help: that n is Triton's own numbered version inside one
repository, and the gateway routes that path by weight like any other.

States: ready (200), `not ready (HTTP n)` (Triton or the gateway answered something else: 503 while loading or with
no ready replica, 404 for a model it does not have), `refused (HTTP 401|403)` (the token), unreachable (no answer in
the timeout).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from mlplatform_client.auth import TokenProvider
from mlplatform_client.endpoints import Endpoint, endpoints_from_outputs
from mlplatform_client.errors import ConfigError, TokenError
from mlplatform_client.models.errors import ModelsError
from mlplatform_client.models.tokens import gateway_token
from mlplatform_client.transport import Request, Route, build, model_path, timeout_for

VERSION_HEADER = "x-model-version"  # the program's (components/serving_stack/contract.py); the client stands alone
HEADER_ROUTED = ("ab", "blueGreen")
READY, UNREACHABLE = "ready", "unreachable"
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Readiness:
    model: str
    version: str | None  # None: the model as the weights route it (routing canary)
    states: tuple[tuple[str, str], ...]  # (target, state), in the stack's order

    @property
    def label(self) -> str:
        return f"version {self.version}" if self.version else "any version (routing canary: by weight only)"


def gateways(outputs: Mapping[str, Any]) -> tuple[Endpoint, ...]:
    """The stack's gateways, or none when the outputs have no `endpoints` (the caller then sees no readiness)."""
    if "endpoints" not in outputs:
        return ()
    try:
        return endpoints_from_outputs(outputs)
    except ConfigError as error:
        raise ModelsError(str(error)) from None


def _state(http: httpx.Client, request: httpx.Request) -> str:
    try:
        code = http.send(request).status_code
    except httpx.HTTPError:
        return UNREACHABLE
    if code == 200:
        return READY
    return f"refused (HTTP {code})" if code in (401, 403) else f"not ready (HTTP {code})"


def readiness(
    served: Mapping[str, Any],
    gateways: tuple[Endpoint, ...],
    token: TokenProvider | None,
    timeout: float = TIMEOUT_SECONDS,
) -> list[Readiness]:
    """Per model in `served` (the `models` output, one model or all) and version: each gateway's answer."""
    try:
        bearer = token.token() if token is not None else None
    except (TokenError, ConfigError) as error:
        raise ModelsError(f"gateway token: {error}") from None
    found = []
    with httpx.Client() as http:
        for model, facts in served.items():
            roles = [facts.get(role) for role in ("stable", "canary")]
            names = [str(v["name"]) for v in roles if isinstance(v, dict) and v.get("name")]
            versions: list[str | None] = list(names) if facts.get("routing") in HEADER_ROUTED else [None]
            for version in versions:
                states = []
                for gateway in gateways:
                    ask = Request("GET", f"{model_path(model)}/ready")
                    request = build(http, Route.of(gateway), ask, timeout_for(timeout, timeout), bearer)
                    if version is not None:
                        request.headers[VERSION_HEADER] = version
                    states.append((gateway.name, _state(http, request)))
                found.append(Readiness(model, version, tuple(states)))
    return found


def report(outputs: Mapping[str, Any], served: Mapping[str, Any], timeout: float) -> dict[str, list[str]]:
    """`models status`'s readiness lines per model: `ready  <version>  <target>: <state>  ...` (none without
    gateways in the outputs)."""
    found = gateways(outputs)
    if not found or not served:
        return {}
    lines: dict[str, list[str]] = {}
    for entry in readiness(served, found, gateway_token(), timeout):
        states = "  ".join(f"{target}: {state}" for target, state in entry.states)
        lines.setdefault(entry.model, []).append(f"ready?  {entry.label}  {states}")
    return lines
