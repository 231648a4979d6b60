"""Alert routing config (`mlplatform:alerting`): who hears about which alerts, the same in every cluster.

    mlplatform:alerting:
      receivers:
        - name: oncall
          kind: pagerduty               # slack | pagerduty | webhook | email
          secret: alertPagerdutyKey     # the config key holding the routing key: pulumi config set --secret ...
        - name: ml-platform-slack
          kind: slack
          channel: "#ml-platform-alerts"
          secret: alertSlackUrl         # the incoming-webhook URL
        - name: ops-mail
          kind: email
          to: ml-platform@example.com
          from: alertmanager@example.com
          smarthost: smtp.example.com:587
          authUsername: alertmanager    # with it, `secret` names the SMTP password's key
          secret: alertSmtpPassword
      routes:                           # severity -> receivers; a severity left out goes nowhere
        critical: [oncall, ml-platform-slack]
        warning: [ml-platform-slack]
      groupBy: [alertname, target]      # and groupWait, groupInterval, repeatInterval (Alertmanager durations)

What would let anyone post to a receiver (the Slack or webhook URL, the PagerDuty routing key, the SMTP password)
is never in this map: `secret` names another key of the stack, set with `pulumi config set --secret`, which the
program reads as a Pulumi secret. That key must be set, and set as a secret (platform.py refuses a plain one).

prod must send critical alerts somewhere: without `alerting`, or with no receiver for `critical`, the config is refused.
dev may leave it out: every cluster's Alertmanager then routes everything to `null`, as the chart does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.observability import AlertGrouping, AlertingSettings, AlertReceiver, AlertRoute, EmailSettings
from components.observability.contract import RECEIVER_KINDS, SEVERITIES, ReceiverKind
from stacks.validate import ConfigError, boolean, kind, mapping, string, string_list

ALERTING_KEYS = {"receivers", "routes", "groupBy", "groupWait", "groupInterval", "repeatInterval"}
COMMON_KEYS = {"name", "kind", "secret"}
KIND_KEYS: dict[str, set[str]] = {
    "slack": COMMON_KEYS | {"channel"},
    "pagerduty": set(COMMON_KEYS),
    "webhook": set(COMMON_KEYS),
    "email": COMMON_KEYS | {"to", "from", "smarthost", "authUsername", "requireTls"},
}
SECRET_WHAT = {"slack": "webhook URL", "pagerduty": "routing key", "webhook": "URL", "email": "SMTP password"}
# A receiver's name is also its key in the receivers' Secret (Kubernetes allows [-._a-zA-Z0-9]).
_RECEIVER_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")  # Prometheus's duration syntax, which Alertmanager reads
_SMARTHOST = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")
_ADDRESS = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


@dataclass(frozen=True)
class ReceiverConfig:
    name: str
    kind: ReceiverKind
    secret_key: str | None = None  # the stack config key (in this project's namespace) holding the secret
    channel: str | None = None
    email: EmailSettings | None = None


@dataclass(frozen=True)
class AlertingConfig:
    receivers: tuple[ReceiverConfig, ...] = ()
    routes: tuple[AlertRoute, ...] = ()
    grouping: AlertGrouping = field(default_factory=AlertGrouping)

    @property
    def secret_keys(self) -> frozenset[str]:
        """The config keys the receivers read their secrets from (without the project prefix)."""
        return frozenset(r.secret_key for r in self.receivers if r.secret_key is not None)

    def receivers_for(self, severity: str) -> tuple[str, ...]:
        return next((route.receivers for route in self.routes if route.severity == severity), ())

    def settings(self, read_secret: Callable[[str], pulumi.Output[str]]) -> AlertingSettings:
        """The component's settings, each receiver's secret read (as a Pulumi secret) through `read_secret`."""
        receivers = tuple(
            AlertReceiver(
                name=r.name,
                kind=r.kind,
                secret=read_secret(r.secret_key) if r.secret_key is not None else None,
                channel=r.channel,
                email=r.email,
            )
            for r in self.receivers
        )
        return AlertingSettings(receivers=receivers, routes=self.routes, grouping=self.grouping)


def parse_alerting(
    key: str, value: Any, environment: str, set_keys: Collection[str], reserved: Collection[str] = ()
) -> AlertingConfig:
    """`set_keys`: the keys this stack sets in the project's namespace (without the prefix); `reserved`: the
    platform's own keys, which cannot hold a receiver's secret."""
    if value is None:
        if environment == "prod":
            raise ConfigError(key, "missing; prod must send critical alerts to a receiver (docs/OBSERVABILITY.md)")
        return AlertingConfig()
    fields = mapping(key, value, ALERTING_KEYS)
    receivers = _receivers(f"{key}.receivers", fields.get("receivers", []), set_keys, reserved)
    routes = _routes(f"{key}.routes", fields.get("routes", {}), {r.name for r in receivers})
    config = AlertingConfig(receivers=receivers, routes=routes, grouping=_grouping(key, fields))
    if environment == "prod" and not config.receivers_for("critical"):
        raise ConfigError(f"{key}.routes.critical", "prod must send critical alerts to at least one receiver")
    routed = {name for route in routes for name in route.receivers}
    for i, receiver in enumerate(receivers):
        if receiver.name not in routed:
            raise ConfigError(
                f"{key}.receivers[{i}]", f"{receiver.name!r} is not used by any route ({', '.join(SEVERITIES)})"
            )
    return config


def check_secrets(prefix: str, config: AlertingConfig, is_secret: Callable[[str], bool]) -> None:
    """Refuse a receiver's secret that is stored in clear in the stack file. `is_secret` takes the full key."""
    for receiver in config.receivers:
        if receiver.secret_key is not None and not is_secret(f"{prefix}{receiver.secret_key}"):
            raise ConfigError(
                f"{prefix}{receiver.secret_key}",
                f"holds the {SECRET_WHAT[receiver.kind]} of receiver {receiver.name!r} in clear text; "
                f"set it with `pulumi config set --secret {receiver.secret_key} <value>`",
            )


def _receivers(
    key: str, value: Any, set_keys: Collection[str], reserved: Collection[str]
) -> tuple[ReceiverConfig, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, f"expected a list of receivers, got {kind(value)}")
    receivers = tuple(_receiver(f"{key}[{i}]", item, set_keys, reserved) for i, item in enumerate(value))
    seen: dict[str, int] = {}
    for i, receiver in enumerate(receivers):
        if receiver.name in seen:
            raise ConfigError(
                f"{key}[{i}].name", f"{receiver.name!r} is already the name of {key}[{seen[receiver.name]}]"
            )
        seen[receiver.name] = i
    return receivers


def _receiver(key: str, item: Any, set_keys: Collection[str], reserved: Collection[str]) -> ReceiverConfig:
    if not isinstance(item, dict):
        raise ConfigError(key, f"expected a map with name and kind, got {kind(item)}")
    if "kind" not in item:
        raise ConfigError(f"{key}.kind", f"missing; expected one of {', '.join(RECEIVER_KINDS)}")
    receiver_kind = string(f"{key}.kind", item["kind"])
    if receiver_kind not in RECEIVER_KINDS:
        raise ConfigError(
            f"{key}.kind", f"unknown kind {receiver_kind!r} (expected one of {', '.join(RECEIVER_KINDS)})"
        )
    fields = mapping(key, item, KIND_KEYS[receiver_kind])
    if "name" not in fields:
        raise ConfigError(f"{key}.name", "missing; every receiver needs a name")
    name = string(f"{key}.name", fields["name"])
    if not _RECEIVER_NAME.fullmatch(name) or name == "null":
        raise ConfigError(f"{key}.name", f"{name!r} must be 1-63 lowercase letters, digits or '-' (and not 'null')")
    email = _email(key, fields) if receiver_kind == "email" else None
    needs_secret = receiver_kind != "email" or (email is not None and email.auth_username is not None)
    secret_key = _secret_key(f"{key}.secret", fields.get("secret"), set_keys, reserved) if "secret" in fields else None
    if needs_secret and secret_key is None:
        raise ConfigError(
            f"{key}.secret",
            f"missing; name the config key holding the {SECRET_WHAT[receiver_kind]} (pulumi config set --secret)",
        )
    if receiver_kind == "email" and secret_key is not None and not needs_secret:
        raise ConfigError(f"{key}.secret", "an SMTP password needs authUsername too")
    channel = string(f"{key}.channel", fields["channel"]) if "channel" in fields else None
    return ReceiverConfig(name=name, kind=receiver_kind, secret_key=secret_key, channel=channel, email=email)


def _secret_key(key: str, value: Any, set_keys: Collection[str], reserved: Collection[str]) -> str:
    name = string(key, value)
    if not _CONFIG_KEY.fullmatch(name):
        raise ConfigError(key, f"{name!r} is not a config key name (letters, digits, '_' or '-')")
    if name in reserved:
        raise ConfigError(key, f"{name!r} is one of the platform's own keys, not a place for a secret")
    if name not in set_keys:
        raise ConfigError(key, f"{name!r} is not set in this stack; pulumi config set --secret {name} <value>")
    return name


def _email(key: str, fields: dict[str, Any]) -> EmailSettings:
    values: dict[str, str] = {}
    for field_name in ("to", "from", "smarthost"):
        if field_name not in fields:
            raise ConfigError(f"{key}.{field_name}", "missing; an email receiver needs to, from and smarthost")
        values[field_name] = string(f"{key}.{field_name}", fields[field_name])
    for i, address in enumerate(part.strip() for part in values["to"].split(",")):
        if not _ADDRESS.fullmatch(address):
            raise ConfigError(f"{key}.to", f"address {i + 1} ({address!r}) is not an e-mail address")
    if not _ADDRESS.fullmatch(values["from"]):
        raise ConfigError(f"{key}.from", f"{values['from']!r} is not an e-mail address")
    if not _SMARTHOST.fullmatch(values["smarthost"]):
        raise ConfigError(f"{key}.smarthost", f"{values['smarthost']!r} is not host:port")
    username = string(f"{key}.authUsername", fields["authUsername"]) if "authUsername" in fields else None
    require_tls = boolean(f"{key}.requireTls", fields.get("requireTls", True))
    return EmailSettings(
        to=values["to"],
        sender=values["from"],
        smarthost=values["smarthost"],
        auth_username=username,
        require_tls=require_tls,
    )


def _routes(key: str, value: Any, receivers: set[str]) -> tuple[AlertRoute, ...]:
    fields = mapping(key, value, set(SEVERITIES))
    routes = []
    for severity in SEVERITIES:
        if severity not in fields:
            continue
        names = string_list(f"{key}.{severity}", fields[severity])
        for i, name in enumerate(names):
            if name not in receivers:
                known = ", ".join(sorted(receivers)) or "none"
                raise ConfigError(f"{key}.{severity}[{i}]", f"no receiver named {name!r} (receivers: {known})")
        if len(set(names)) != len(names):
            raise ConfigError(f"{key}.{severity}", "names a receiver twice")
        if names:
            routes.append(AlertRoute(severity=severity, receivers=tuple(names)))
    return tuple(routes)


def _grouping(key: str, fields: dict[str, Any]) -> AlertGrouping:
    default = AlertGrouping()
    by = tuple(string_list(f"{key}.groupBy", fields.get("groupBy", list(default.by))))
    for i, label in enumerate(by):
        if not _LABEL_NAME.fullmatch(label):
            raise ConfigError(f"{key}.groupBy[{i}]", f"{label!r} is not a label name")
    timings = {}
    for config_key, fallback in (
        ("groupWait", default.wait),
        ("groupInterval", default.interval),
        ("repeatInterval", default.repeat),
    ):
        text = string(f"{key}.{config_key}", fields.get(config_key, fallback))
        if not _DURATION.fullmatch(text):
            raise ConfigError(f"{key}.{config_key}", f"{text!r} is not a duration such as 30s, 5m or 12h")
        timings[config_key] = text
    return AlertGrouping(
        by=by, wait=timings["groupWait"], interval=timings["groupInterval"], repeat=timings["repeatInterval"]
    )
