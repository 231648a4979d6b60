"""What the sync and asyncio clients are besides how they wait: their targets, settings, Router and figures.

Each client adds its own HTTP client (httpx.Client or httpx.AsyncClient), its probes and its attempt loop;
everything a caller reads back (endpoints, strategy, stats, Prometheus figures) is the same object here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import httpx
from prometheus_client.registry import Collector

from mlplatform_client._common import Listener, call_deadline
from mlplatform_client.attempts import Attempt
from mlplatform_client.auth import TokenProvider, token_provider
from mlplatform_client.endpoints import Endpoint, check_endpoints, endpoints_from_outputs
from mlplatform_client.errors import ClientClosedError, ConfigError
from mlplatform_client.metrics import ClientStats, PrometheusCollector, prometheus_text
from mlplatform_client.options import ClientOptions
from mlplatform_client.router import Router
from mlplatform_client.strategies import Strategy, make_strategy
from mlplatform_client.transport import Route


class ClientBase:
    """Builds the parts both clients share, then calls the client's own `_connect` for its HTTP client and probes.

    `token`: a bearer token string, a TokenProvider (auth.py: StaticToken, ClientCredentials, CallableToken)
    or a callable returning a token; sent as `Authorization: Bearer` on every attempt. `transport`: an httpx
    transport for every request and probe (httpx.MockTransport in tests, a proxy-aware transport...).
    """

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        strategy: str | Strategy = "round-robin",
        *,
        options: ClientOptions | None = None,
        on_attempt: Listener | None = None,
        token: str | TokenProvider | Callable[[], str] | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        **settings: Any,
    ) -> None:
        endpoints = check_endpoints(endpoints)
        self.options = ClientOptions.build(options, settings)
        self._token = token_provider(token)
        if on_attempt is not None and not callable(on_attempt):
            raise ConfigError(f"on_attempt must be a function taking an Attempt, got {on_attempt!r}")
        if transport is not None and not isinstance(transport, self._transport_type):
            raise ConfigError(
                f"transport must be an httpx.{self._transport_type.__name__}, got {type(transport).__name__}"
            )
        self._transport = transport
        self._router = Router(endpoints, make_strategy(strategy), self.options)
        self._routes = {e.name: Route.of(e) for e in endpoints}
        self._listener = on_attempt
        self._closed = False
        self._connect()

    _transport_type: type = httpx.BaseTransport  # what `transport=` must be: the asyncio client takes an async one

    def _connect(self) -> None:
        raise NotImplementedError

    def _http_settings(self) -> dict[str, Any]:
        """httpx client arguments: a connection per worker at most, TLS as configured, the attempt timeout."""
        size = self.options.max_connections
        return {
            "limits": httpx.Limits(max_connections=size, max_keepalive_connections=size),
            "verify": self.options.ssl_verify(),
            "timeout": self.options.attempt_timeout,
            **({"transport": self._transport} if self._transport is not None else {}),
        }

    def _deadline(self, deadline: object) -> float:
        """A call's deadline (None: the client's), checked before anything else happens; a closed client refuses."""
        seconds = call_deadline(deadline, self.options.deadline)
        self._check_open()
        return seconds

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("the client is closed: make a new one")

    def _token_refused(self, attempt: Attempt) -> None:
        """A 401 says the token is no good: the provider fetches a new one for the next call (not this one)."""
        if attempt.status == 401 and self._token is not None:
            self._token.invalidate()

    @classmethod
    def from_stack_outputs(
        cls,
        outputs: str | os.PathLike[str] | Mapping[str, Any],
        strategy: str | Strategy = "round-robin",
        *,
        weights: Mapping[str, int] | None = None,
        **kwargs: Any,
    ) -> Self:
        """A client for every target of a stack, from `pulumi stack output --json` (a file path or the parsed dict)."""
        return cls(endpoints_from_outputs(outputs, weights=weights), strategy, **kwargs)

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return self._router.endpoints

    @property
    def strategy(self) -> Strategy:
        return self._router.strategy

    # --- what the client has seen ---

    def stats(self) -> ClientStats:
        return self._router.stats()

    def prometheus_collector(self, prefix: str = "mlplatform_client") -> Collector:
        return PrometheusCollector(self._router.stats, prefix)

    def prometheus_text(self) -> str:
        return prometheus_text(self.prometheus_collector())
