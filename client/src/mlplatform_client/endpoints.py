"""Serving targets as the client reaches them, given explicitly or read from the stack's outputs.

The stack (stacks/platform.py) exports `endpoints`: {target: {cloud, region, address, healthPath}}, where
address is the target's Istio ingress gateway (an IP on GKE and AKS, a host name on EKS), and, when
GlobalDns is on, `globalUrl` (https://api.<zone>). How a target is reached follows from that:

- With GlobalDns, every gateway serves HTTPS on 443 with a certificate for the global host only (port 80
  just redirects). The client connects to the target's own address and speaks TLS with the global host
  as SNI and Host header, so the certificate verifies and the gateway routes as it would for the global
  name: in effect the global host name resolved to that one target, which DNS would not let us pick.
- Without GlobalDns the gateways serve plain HTTP on port 80, and the client uses http://<address>.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlplatform_client.errors import ConfigError

HEALTH_PATH = "/v2/health/ready"  # KServe V2 server readiness, what Triton and the stack's gateways answer
SECRET = "[secret]"  # how `pulumi stack output --json` prints a secret without --show-secrets


@dataclass(frozen=True)
class Endpoint:
    """One serving target.

    `url` is where connections go (scheme, host, optional port); `server_name`, when set, is the name TLS
    verifies and the Host header carries, for a target reached by address but certified for another name.
    `weight` is the weighted strategy's share; 0 keeps a target out of weighted traffic except as a fallback.
    """

    name: str
    url: str
    cloud: str = ""
    region: str = ""
    weight: int = 1
    health_path: str = HEALTH_PATH
    server_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or _unsafe(self.name):
            raise ConfigError(f"endpoint {self.url!r}: name {self.name!r} must be a non-empty string without spaces")
        where = f"endpoint {self.name}"
        object.__setattr__(self, "url", check_url(self.url, where).rstrip("/"))
        for key in ("cloud", "region"):
            if not isinstance(getattr(self, key), str):
                raise ConfigError(f"{where}: {key} must be a string, got {getattr(self, key)!r}")
        if isinstance(self.weight, bool) or not isinstance(self.weight, int) or self.weight < 0:
            raise ConfigError(f"{where}: weight {self.weight!r} is not an integer >= 0")
        path = self.health_path
        if not isinstance(path, str) or not path.startswith("/") or _unsafe(path):
            raise ConfigError(f"{where}: health path {path!r} must be a path starting with '/', without spaces")
        if self.server_name is not None:
            if urlsplit(self.url).scheme != "https":
                raise ConfigError(f"{where}: server_name needs an https url")
            if not isinstance(self.server_name, str) or not _HOST_NAME.fullmatch(self.server_name):
                raise ConfigError(f"{where}: server_name {self.server_name!r} is not a host name")


# A DNS name (RFC 1123 labels; underscores let through, as container and service names use them).
_HOST_NAME = re.compile(
    r"(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?", re.I
)
_PORT = re.compile(r"[0-9]{1,5}")


def _unsafe(text: str) -> bool:
    return any(c.isspace() or not c.isprintable() for c in text)


def check_url(url: object, where: str) -> str:
    """`url` if it is http(s)://host[:port] with a host name or IP address and a port in 1-65535, and nothing else
    (no path, query, credentials or spaces: the V2 paths are the client's to add, tokens go in `token=`)."""
    if not isinstance(url, str):
        raise ConfigError(f"{where}: url must be a string such as 'https://203.0.113.10', got {url!r}")
    shown = f"{where}: url {url!r}"
    if _unsafe(url):
        raise ConfigError(f"{shown} holds spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as error:  # an unclosed IPv6 bracket, say
        raise ConfigError(f"{shown} is not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{shown} is not http(s)://host[:port]")
    if "@" in parts.netloc:
        raise ConfigError(f"{shown} carries credentials: pass a token with token= instead")
    if parts.path not in ("", "/") or parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigError(f"{shown} must have no path (the V2 paths are added)")
    host, port = _host_port(parts.netloc)
    if not _valid_host(host):
        raise ConfigError(f"{shown} has no valid host name or IP address ({host!r})")
    if port is not None and (not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535):
        raise ConfigError(f"{shown}: port {port!r} is not a number in 1-65535")
    return url


def _host_port(netloc: str) -> tuple[str, str | None]:
    if netloc.startswith("["):  # an IPv6 literal: [addr] or [addr]:port
        host, _, rest = netloc.partition("]")
        return host + "]", (rest[1:] if rest.startswith(":") else (rest or None))
    host, colon, port = netloc.partition(":")
    return host, (port if colon else None)


def _valid_host(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        try:
            return ipaddress.ip_address(host[1:-1]).version == 6
        except ValueError:
            return False
    if re.fullmatch(r"[0-9.]+", host):  # digits and dots are an IPv4 address or nothing
        try:
            return ipaddress.ip_address(host).version == 4
        except ValueError:
            return False
    try:
        ascii_host = host.encode("idna").decode()  # an internationalised name as DNS carries it
    except UnicodeError:
        return False
    return bool(_HOST_NAME.fullmatch(ascii_host))


def check_endpoints(endpoints: Sequence[Endpoint]) -> tuple[Endpoint, ...]:
    """The endpoints as a tuple; no endpoints or a repeated name is a configuration error."""
    if not isinstance(endpoints, (list, tuple)):
        raise ConfigError(f"endpoints must be a list of Endpoint, got {type(endpoints).__name__}")
    endpoints = tuple(endpoints)
    if not endpoints:
        raise ConfigError("no endpoints: give at least one Endpoint, or a stack's outputs with targets in 'endpoints'")
    for endpoint in endpoints:
        if not isinstance(endpoint, Endpoint):
            raise ConfigError(f"endpoints must be Endpoint objects, got {type(endpoint).__name__}: {endpoint!r}")
    names = [e.name for e in endpoints]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"endpoint names must be unique: {', '.join(repeated)} given more than once")
    return endpoints


def read_stack_outputs(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """The outputs as a mapping and a name for error messages (the file's path, or 'stack outputs')."""
    if isinstance(source, Mapping):
        return source, "stack outputs"
    path = Path(source)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (expected the JSON of `pulumi stack output --json`)") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not JSON ({error})") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a JSON object of stack outputs, got {type(data).__name__}")
    return data, str(path)


def endpoints_from_outputs(
    source: str | os.PathLike[str] | Mapping[str, Any], *, weights: Mapping[str, int] | None = None
) -> tuple[Endpoint, ...]:
    """The targets of an mlplatform stack from its outputs (`pulumi stack output --json`, as a file or a dict).

    `weights` gives the weighted strategy's share per target (1 when not named); the stack does not
    export the DNS weights, which are config, so a client that wants them says so.
    """
    outputs, where = read_stack_outputs(source)
    raw = outputs.get("endpoints")
    if raw is None:
        keys = ", ".join(sorted(outputs)) or "none"
        raise ConfigError(
            f"{where}: no 'endpoints' key (keys: {keys}); expected `pulumi stack output --json` of an mlplatform stack"
        )
    if raw == SECRET:
        raise ConfigError(f"{where}: 'endpoints' is a secret; run `pulumi stack output --json --show-secrets`")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: 'endpoints' must map target names to {{cloud, region, address, healthPath}}")
    if not raw:
        raise ConfigError(f"{where}: 'endpoints' is empty: the stack has no targets")
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(raw))
    if unknown:
        raise ConfigError(f"weights name targets the stack does not have: {', '.join(unknown)} (has {', '.join(raw)})")
    server_name = _global_host(outputs.get("globalUrl"), where)
    return tuple(
        _endpoint(name, entry, server_name, weights.get(name, 1), f"{where}: endpoints.{name}")
        for name, entry in raw.items()
    )


def _global_host(global_url: Any, where: str) -> str | None:
    if global_url is None:
        return None
    if global_url == SECRET:
        raise ConfigError(f"{where}: 'globalUrl' is a secret; run `pulumi stack output --json --show-secrets`")
    host = urlsplit(str(global_url)).hostname
    if not host:
        raise ConfigError(f"{where}: 'globalUrl' {global_url!r} has no host name")
    return host


def _endpoint(name: str, entry: Any, server_name: str | None, weight: int, where: str) -> Endpoint:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected {{cloud, region, address, healthPath}}, got {entry!r}")
    missing = [key for key in ("cloud", "region", "address") if not entry.get(key)]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    address = str(entry["address"])
    if address == SECRET:
        raise ConfigError(f"{where}.address is a secret; run `pulumi stack output --json --show-secrets`")
    host = _url_host(address)
    url = f"https://{host}" if server_name else f"http://{host}"
    return Endpoint(
        name=name,
        url=url,
        cloud=str(entry["cloud"]),
        region=str(entry["region"]),
        weight=weight,
        health_path=str(entry.get("healthPath") or HEALTH_PATH),
        server_name=server_name,
    )


def _url_host(address: str) -> str:
    """An address as a URL's host: IPv6 literals in brackets; a host or IPv4 (with an optional :port) as is."""
    try:
        if ipaddress.ip_address(address).version == 6:
            return f"[{address}]"
    except ValueError:
        pass
    return address
