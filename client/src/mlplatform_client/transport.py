"""The KServe V2 HTTP/JSON protocol over httpx: where each call goes, and what each answer means.

Paths (KServe V2 "HTTP/REST", which Triton serves): server readiness at the target's health path
(/v2/health/ready), model readiness at /v2/models/<m>[/versions/<v>]/ready, metadata at
/v2/models/<m>[/versions/<v>], inference by POST to .../infer. Errors come back as {"error": "..."}.

A target certified for another name (the global host, see endpoints.py) is reached at its own address
with that name as the TLS SNI (httpcore's `sni_hostname` request extension, which is also the name the
certificate is verified against) and as the Host header, which the gateway routes by.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from mlplatform_client.attempts import Attempt, Outcome
from mlplatform_client.endpoints import Endpoint

JSON = "application/json"


@dataclass(frozen=True)
class Route:
    """How requests reach one endpoint: base URL, headers and request extensions, computed once."""

    base: str
    headers: dict[str, str]
    extensions: dict[str, Any]

    @classmethod
    def of(cls, endpoint: Endpoint) -> Route:
        headers = {"accept": JSON}
        extensions: dict[str, Any] = {}
        if endpoint.server_name:
            headers["host"] = endpoint.server_name
            extensions["sni_hostname"] = endpoint.server_name
        return cls(endpoint.url, headers, extensions)


@dataclass(frozen=True)
class Request:
    """One V2 call, encoded once and sent as is to every target the call tries."""

    method: str
    path: str
    body: bytes | None = None


@dataclass(frozen=True)
class Answer:
    attempt: Attempt
    payload: Any = None  # the decoded JSON of a 200


def model_path(model: str, version: str | None = None) -> str:
    path = f"/v2/models/{quote(model, safe='')}"
    return f"{path}/versions/{quote(version, safe='')}" if version else path


def infer_request(model: str, body: dict[str, Any], version: str | None = None) -> Request:
    return Request("POST", f"{model_path(model, version)}/infer", json.dumps(body, separators=(",", ":")).encode())


def timeout_for(seconds: float, connect: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, connect))


def build(
    http: httpx.Client | httpx.AsyncClient,
    route: Route,
    request: Request,
    timeout: httpx.Timeout,
    token: str | None = None,
) -> httpx.Request:
    headers = route.headers if request.body is None else {**route.headers, "content-type": JSON}
    if token is not None:
        headers = {**headers, "authorization": f"Bearer {token}"}
    return http.build_request(
        request.method,
        route.base + request.path,
        content=request.body,
        headers=headers,
        timeout=timeout,
        extensions=route.extensions,
    )


def send(
    http: httpx.Client,
    route: Route,
    target: str,
    request: Request,
    timeout: httpx.Timeout,
    token: str | None = None,
) -> Answer:
    started = time.monotonic()
    try:
        response = http.send(build(http, route, request, timeout, token))
    except httpx.RequestError as error:
        return Answer(_failed(target, started, error))
    return read(target, started, response.status_code, response.content, response.headers.get("retry-after"))


async def send_async(
    http: httpx.AsyncClient,
    route: Route,
    target: str,
    request: Request,
    timeout: httpx.Timeout,
    token: str | None = None,
) -> Answer:
    started = time.monotonic()
    try:
        response = await http.send(build(http, route, request, timeout, token))
    except httpx.RequestError as error:
        return Answer(_failed(target, started, error))
    return read(target, started, response.status_code, response.content, response.headers.get("retry-after"))


def read(target: str, started: float, status: int, content: bytes, retry_after: str | None = None) -> Answer:
    """What an HTTP answer means for routing (see attempts.py)."""
    duration = time.monotonic() - started
    if status == 429:
        wait = parse_retry_after(retry_after)
        attempt = Attempt(target, started, duration, Outcome.RATE_LIMITED, status, error_message(content), wait)
        return Answer(attempt)
    if status == 200:
        try:
            payload = json.loads(content) if content else None
        except ValueError:
            return Answer(Attempt(target, started, duration, Outcome.SERVER_ERROR, status, "answer is not JSON"))
        return Answer(Attempt(target, started, duration, Outcome.OK, status), payload)
    if status >= 500:
        outcome = Outcome.SERVER_ERROR
    elif status == 404:
        outcome = Outcome.NOT_SERVED
    elif status >= 400:
        outcome = Outcome.REJECTED
    else:  # 1xx/3xx: a redirect is a misconfigured endpoint (http:// to a TLS gateway answers 301)
        outcome = Outcome.SERVER_ERROR
    return Answer(Attempt(target, started, duration, outcome, status, error_message(content)))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After (RFC 9110 section 10.2.3) in seconds from now: delay-seconds or an HTTP-date; None if absent
    or unreadable. A date in the past means "now" (0)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110's IMF-fixdate is always GMT; obsolete forms may parse naive
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_message(content: bytes) -> str:
    """The server's own words: V2's {"error": ...}, FastAPI's {"detail": ...}, or the start of the body."""
    try:
        body = json.loads(content)
    except ValueError:
        return content[:200].decode(errors="replace").strip()
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            if key in body:
                return str(body[key])[:500]
    return str(body)[:200]


def _failed(target: str, started: float, error: httpx.RequestError) -> Attempt:
    outcome = Outcome.TIMEOUT if isinstance(error, httpx.TimeoutException) else Outcome.CONNECT_ERROR
    detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return Attempt(target, started, time.monotonic() - started, outcome, None, detail)
