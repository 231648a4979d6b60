"""Bearer tokens for the gateways: a static token, any callable, or OAuth2 client credentials refreshed early.

The gateways authenticate every call with a JWT (`Authorization: Bearer <token>`). The client reads the
token once per call, before its first attempt, and sends it on every attempt of that call (retries,
hedges, the retry after a 429), so a call never mixes tokens. A machine caller uses the OAuth2 client
credentials grant (RFC 6749 section 4.4): `ClientCredentials` fetches a token from the identity provider's
token URL and fetches the next one before the current one expires (at 80% of `expires_in`, or 60 s
before expiry when that is earlier), so a call never carries a token about to lapse mid-flight. One
fetch at a time: the sync client's threads share a threading.Lock, the asyncio client's tasks an
asyncio.Lock, and every waiter uses the token the first one fetched.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import httpx

from mlplatform_client.durations import seconds
from mlplatform_client.errors import ConfigError, TokenError

REFRESH_FRACTION = 0.8  # of expires_in: refresh once this much of the token's life has passed
REFRESH_MARGIN = 60.0  # seconds before expiry, when that comes earlier (long-lived tokens)


@runtime_checkable
class TokenProvider(Protocol):
    """What the clients ask for a token: `token()` from the sync client, `atoken()` from the asyncio one."""

    def token(self) -> str: ...

    async def atoken(self) -> str: ...

    def invalidate(self) -> None:
        """A gateway answered 401 with this token: the next call should get a new one."""


@dataclass(frozen=True)
class StaticToken:
    """One token for the client's life (a personal access token, or one the caller refreshes by making a new client)."""

    value: str

    def __post_init__(self) -> None:
        try:
            _check_token(self.value, "token")
        except TokenError as error:
            raise ConfigError(str(error)) from None

    def token(self) -> str:
        return self.value

    async def atoken(self) -> str:
        return self.value

    def invalidate(self) -> None:
        pass


@dataclass(frozen=True)
class CallableToken:
    """Any function returning the current token (a cloud SDK's credential, a file the platform mounts...).

    Called once per call; caching is the function's own business. The asyncio client calls it on the loop,
    so it must not block for long there.
    """

    function: Callable[[], str]

    def token(self) -> str:
        return _check_token(self.function(), "token callable")

    async def atoken(self) -> str:
        return self.token()

    def invalidate(self) -> None:
        pass


class ClientCredentials:
    """OAuth2 client credentials: POST grant_type=client_credentials to `token_url`, cache, refresh early.

    The client authenticates with HTTP Basic (client_secret_basic, which RFC 6749 section 2.3.1 requires
    every authorization server to support); `scope` and `audience` (Auth0 and others name the API this
    way) are sent when given. `clock` and `transport` are for tests and special networks.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        audience: str | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not token_url.startswith(("https://", "http://")):
            raise ConfigError(f"token_url must be an http(s) URL, got {token_url!r}")
        if not client_id or not client_secret:
            raise ConfigError("client credentials need a client_id and a client_secret")
        self.token_url = token_url
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._form = {"grant_type": "client_credentials"}
        if scope:
            self._form["scope"] = scope
        if audience:
            self._form["audience"] = audience
        self._timeout = seconds("ClientCredentials timeout", timeout)  # the one rule for every time (durations.py)
        self._clock = clock
        self._transport = transport
        self._async_transport = async_transport
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()
        self._async_lock: asyncio.Lock | None = None

    def token(self) -> str:
        with self._lock:
            if self._fresh() is None:
                with httpx.Client(transport=self._transport, timeout=self._timeout) as http:
                    self._store(self._ask(lambda: http.post(self.token_url, data=self._form, auth=self._auth)))
            assert self._token is not None
            return self._token

    async def atoken(self) -> str:
        if self._async_lock is None:  # made on first use: a lock belongs to the loop it is used on
            self._async_lock = asyncio.Lock()
        async with self._async_lock:
            if self._fresh() is None:
                async with httpx.AsyncClient(transport=self._async_transport, timeout=self._timeout) as http:
                    try:
                        response = await http.post(self.token_url, data=self._form, auth=self._auth)
                    except httpx.HTTPError as error:
                        raise TokenError(f"token request to {self.token_url} failed: {error!r}") from None
                self._store(response)
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._refresh_at = 0.0

    def _fresh(self) -> str | None:
        return self._token if self._token is not None and self._clock() < self._refresh_at else None

    def _ask(self, post: Callable[[], httpx.Response]) -> httpx.Response:
        try:
            return post()
        except httpx.HTTPError as error:
            raise TokenError(f"token request to {self.token_url} failed: {error!r}") from None

    def _store(self, response: httpx.Response) -> None:
        """Keep the token and when to replace it; the clock is read after the answer, so a slow fetch errs early."""
        if response.status_code != 200:
            raise TokenError(f"token endpoint {self.token_url} answered {response.status_code}: {response.text[:300]}")
        try:
            body = response.json()
            token = _check_token(body["access_token"], "access_token")
            lifetime = float(body.get("expires_in", 0))  # RFC 6749 5.1: RECOMMENDED, so it may be missing
        except (ValueError, KeyError, TypeError) as error:
            raise TokenError(
                f"token endpoint {self.token_url} answered without a usable access_token: {error}"
            ) from None
        self._token = token
        self._refresh_at = self._clock() + refresh_after(lifetime)


def refresh_after(expires_in: float) -> float:
    """Seconds after a fetch when the next token is fetched: the earlier of 80% of the life and 60 s before its end.

    A token without `expires_in` (or with 0) is used for one call only, as nothing says how long it lives.
    """
    if expires_in <= 0:
        return 0.0
    return max(0.0, min(expires_in * REFRESH_FRACTION, expires_in - REFRESH_MARGIN))


def token_provider(spec: str | TokenProvider | Callable[[], str] | None) -> TokenProvider | None:
    """What `token=` takes: a token string, a TokenProvider, or a callable returning a token."""
    if spec is None or isinstance(spec, TokenProvider):
        return spec
    if isinstance(spec, str):
        return StaticToken(spec)
    if callable(spec):
        return CallableToken(spec)
    raise ConfigError(f"token must be a string, a TokenProvider or a callable returning a string, got {spec!r}")


def _check_token(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "\r\n"):
        raise TokenError(f"{what} is not a usable bearer token (empty, not a string, or with a line break)")
    return value.strip()
