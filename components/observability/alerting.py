"""Where alerts go: the Alertmanager config every footprint's kube-prometheus-stack renders, and the Secret it reads.

Every cluster runs the chart's Alertmanager, and every Prometheus sends to the one in its own cluster: each cluster's
serving alerts to its own, the central Prometheus's fleet alerts to the central cluster's (prometheus.py). So every
footprint gets the same receivers and routes.

The config is the chart's `alertmanager.config` (rendered with toYaml into the Secret the operator reads,
templates/alertmanager/secret.yaml at kube-prometheus-stack 88.5.3), and it holds no secret: each receiver reads its
URL, routing key or password from a file (slack `api_url_file`, pagerduty `routing_key_file`, webhook `url_file`,
email `auth_password_file`; Alertmanager reads them when it notifies, so a rotated Secret needs no restart). The files
come from the Secret `mlplatform-alerting`, which `alertmanager.alertmanagerSpec.secrets` mounts at
/etc/alertmanager/secrets/mlplatform-alerting/ (prometheus-operator, pkg/alertmanager/statefulset.go at v0.93.0).
So no key is ever a Helm value: not in the release's values in Pulumi's state, not in Helm's release record.

Why not AlertmanagerConfig objects: the operator scopes each to alerts carrying its namespace's `namespace` label,
which fleet alerts (about a target, not a namespace) do not carry.

Every key the chart's default config has is set here (global, inhibit_rules, route and all its timings, receivers,
templates), so Helm's merge with the defaults renders exactly this. Watchdog and InfoInhibitor keep the chart's
`null` receiver, as do alerts of a severity no route names.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.observability.contract import ALERTING_SECRET, AlertingSettings, AlertReceiver

NULL_RECEIVER = "null"  # the chart's receiver with no integrations: alerts routed there go nowhere
SECRETS_DIR = "/etc/alertmanager/secrets"  # where the operator mounts alertmanagerSpec.secrets, one folder each
SILENT_ALERTS = ("Watchdog", "InfoInhibitor")  # the chart's always-firing heartbeat and its info-inhibiting helper
# kube-prometheus-stack 88.5.3 values.yaml, alertmanager.config: kept as they are.
RESOLVE_TIMEOUT = "5m"
INHIBIT_RULES: tuple[dict[str, Any], ...] = (
    {
        "source_matchers": ["severity = critical"],
        "target_matchers": ["severity =~ warning|info"],
        "equal": ["namespace", "alertname"],
    },
    {
        "source_matchers": ["severity = warning"],
        "target_matchers": ["severity = info"],
        "equal": ["namespace", "alertname"],
    },
    {"source_matchers": ["alertname = InfoInhibitor"], "target_matchers": ["severity = info"], "equal": ["namespace"]},
    {"target_matchers": ["alertname = InfoInhibitor"]},
)
TEMPLATES = ("/etc/alertmanager/config/*.tmpl",)
# Slack's default message says only how many alerts fire; these carry the rules' summary and the target.
SLACK_TITLE = (
    "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} {{ with .CommonLabels.target }}({{ . }}){{ end }}"
)
SLACK_TEXT = "{{ range .Alerts }}{{ .Labels.target }}: {{ .Annotations.summary }}\n{{ end }}"
LABELS = {"app.kubernetes.io/part-of": "mlplatform", "app.kubernetes.io/component": "observability"}


def secret_path(receiver: str) -> str:
    """The file a receiver reads its secret from: the Secret's key is the receiver's name."""
    return f"{SECRETS_DIR}/{ALERTING_SECRET}/{receiver}"


def receiver_config(receiver: AlertReceiver) -> dict[str, Any]:
    """One Alertmanager receiver, its secret by file only."""
    if receiver.kind != "email" and receiver.secret is None:
        raise ValueError(f"receiver {receiver.name}: a {receiver.kind} receiver needs its secret")
    path = secret_path(receiver.name)
    if receiver.kind == "slack":
        slack: dict[str, Any] = {"api_url_file": path, "send_resolved": True, "title": SLACK_TITLE, "text": SLACK_TEXT}
        if receiver.channel:
            slack["channel"] = receiver.channel
        return {"name": receiver.name, "slack_configs": [slack]}
    if receiver.kind == "pagerduty":  # Events API v2: a routing (integration) key
        return {"name": receiver.name, "pagerduty_configs": [{"routing_key_file": path, "send_resolved": True}]}
    if receiver.kind == "webhook":
        return {"name": receiver.name, "webhook_configs": [{"url_file": path, "send_resolved": True}]}
    email = receiver.email
    if email is None:
        raise ValueError(f"receiver {receiver.name}: an email receiver needs its addresses and server")
    mail: dict[str, Any] = {
        "to": email.to,
        "from": email.sender,
        "smarthost": email.smarthost,
        "require_tls": email.require_tls,
        "send_resolved": True,
    }
    if email.auth_username:
        mail["auth_username"] = email.auth_username
    if receiver.secret is not None:
        mail["auth_password_file"] = path
    return {"name": receiver.name, "email_configs": [mail]}


def alertmanager_config(settings: AlertingSettings) -> dict[str, Any]:
    """The whole Alertmanager config: silent alerts to null, then each severity to its receivers.

    Every severity route has `continue`, so an alert reaches each receiver named for its severity; one that matches
    none falls back to the root's `null`.
    """
    known = {receiver.name for receiver in settings.receivers}
    routes: list[dict[str, Any]] = [
        {"receiver": NULL_RECEIVER, "matchers": [f'alertname = "{name}"']} for name in SILENT_ALERTS
    ]
    for route in settings.routes:
        for name in route.receivers:
            if name not in known:
                raise ValueError(f"route {route.severity}: no receiver named {name}")
            routes.append({"receiver": name, "matchers": [f'severity = "{route.severity}"'], "continue": True})
    grouping = settings.grouping
    return {
        "global": {"resolve_timeout": RESOLVE_TIMEOUT},
        "inhibit_rules": [dict(rule) for rule in INHIBIT_RULES],
        "route": {
            "group_by": list(grouping.by),
            "group_wait": grouping.wait,
            "group_interval": grouping.interval,
            "repeat_interval": grouping.repeat,
            "receiver": NULL_RECEIVER,
            "routes": routes,
        },
        "receivers": [{"name": NULL_RECEIVER}, *(receiver_config(r) for r in settings.receivers)],
        "templates": list(TEMPLATES),
    }


def has_secrets(settings: AlertingSettings) -> bool:
    return any(receiver.secret is not None for receiver in settings.receivers)


def alertmanager_values(settings: AlertingSettings) -> dict[str, Any]:
    """kube-prometheus-stack's `alertmanager` values: the config, and the receivers' Secret mounted where it is read."""
    values: dict[str, Any] = {"config": alertmanager_config(settings)}
    if has_secrets(settings):
        values["alertmanagerSpec"] = {"secrets": [ALERTING_SECRET]}
    return values


def receivers_secret(
    resource_name: str, namespace: str, settings: AlertingSettings, opts: pulumi.ResourceOptions
) -> k8s.core.v1.Secret | None:
    """The receivers' URLs and keys, one key per receiver; None when no receiver has a secret.

    Made once the release is in (the namespace is the release's): until then the operator's Alertmanager pod waits
    for the volume, and starts as soon as this exists.
    """
    data = {r.name: r.secret for r in settings.receivers if r.secret is not None}
    if not data:
        return None
    return k8s.core.v1.Secret(
        resource_name,
        metadata={"name": ALERTING_SECRET, "namespace": namespace, "labels": dict(LABELS)},
        type="Opaque",
        string_data=data,
        opts=opts,
    )
