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
from collections.abc import Mapping
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
    encoded = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()  # NaN is no JSON: checked before
    return Request("POST", f"{model_path(model, version)}/infer", encoded)


def timeout_for(seconds: float, connect: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, connect))


def build(
    http: httpx.Client | httpx.AsyncClient,
    route: Route,
    request: Request,
    timeout: httpx.Timeout,
    token: str | None = None,
    trace: Mapping[str, str] | None = None,
) -> httpx.Request:
    headers = route.headers if request.body is None else {**route.headers, "content-type": JSON}
    if token is not None:
        headers = {**headers, "authorization": f"Bearer {token}"}
    if trace:  # the attempt's traceparent (tracing.py)
        headers = {**headers, **trace}
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
    trace: Mapping[str, str] | None = None,
) -> Answer:
    started = time.monotonic()
    try:
        response = http.send(build(http, route, request, timeout, token, trace))
    except httpx.RequestError as error:
        return Answer(_failed(target, started, error))
    return _read(target, started, response)


async def send_async(
    http: httpx.AsyncClient,
    route: Route,
    target: str,
    request: Request,
    timeout: httpx.Timeout,
    token: str | None = None,
    trace: Mapping[str, str] | None = None,
) -> Answer:
    started = time.monotonic()
    try:
        response = await http.send(build(http, route, request, timeout, token, trace))
    except httpx.RequestError as error:
        return Answer(_failed(target, started, error))
    return _read(target, started, response)


def _read(target: str, started: float, response: httpx.Response) -> Answer:
    headers = response.headers
    return read(
        target, started, response.status_code, response.content, headers.get("retry-after"), headers.get("content-type")
    )


def read(
    target: str,
    started: float,
    status: int,
    content: bytes,
    retry_after: str | None = None,
    content_type: str | None = None,
) -> Answer:
    """What an HTTP answer means for routing (see attempts.py). A 200 must be JSON to count as an answer: a
    Content-Type other than JSON (an HTML error page from a proxy, say), an empty body or a body that does not
    parse makes it MALFORMED, a failure of that target; whether the JSON is a V2 answer is the caller's to say
    (_common.decoded)."""
    duration = time.monotonic() - started
    if status == 429:
        wait = parse_retry_after(retry_after)
        attempt = Attempt(target, started, duration, Outcome.RATE_LIMITED, status, error_message(content), wait)
        return Answer(attempt)
    if status == 200:
        problem = _not_json(content_type, content)
        if problem is None:
            try:
                return Answer(Attempt(target, started, duration, Outcome.OK, status), json.loads(content))
            except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's recursion
                problem = f"the answer is not JSON: {_start(content)}"
        return Answer(Attempt(target, started, duration, Outcome.MALFORMED, status, problem))
    if status >= 500:
        outcome = Outcome.SERVER_ERROR
    elif status == 404:
        outcome = Outcome.NOT_SERVED
    elif status >= 400:
        outcome = Outcome.REJECTED
    else:  # 1xx/3xx: a redirect is a misconfigured endpoint (http:// to a TLS gateway answers 301)
        outcome = Outcome.SERVER_ERROR
    return Answer(Attempt(target, started, duration, outcome, status, error_message(content)))


def _not_json(content_type: str | None, content: bytes) -> str | None:
    """Why a 200 cannot be a JSON answer, or None. No Content-Type at all is judged by the body alone."""
    if content_type is not None:
        media = content_type.partition(";")[0].strip().lower()
        if media != JSON and not media.endswith("+json"):
            return f"the answer is {media or 'an empty Content-Type'}, not {JSON}: {_start(content)}"
    if not content.strip():
        return "the answer is empty"
    return None


def _start(content: bytes) -> str:
    text = content[:80].decode(errors="replace").strip()
    return repr(text + ("..." if len(content) > 80 else ""))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After (RFC 9110 section 10.2.3) in seconds from now: delay-seconds or an HTTP-date; None if absent
    or unreadable. A date in the past means "now" (0)."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit also takes digits float() refuses, as "²"
        return float(value)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:  # RFC 9110's IMF-fixdate is always GMT; obsolete forms may parse naive
            return None
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def error_message(content: bytes) -> str:
    """The server's own words: V2's {"error": ...}, FastAPI's {"detail": ...}, or the start of the body."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
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
