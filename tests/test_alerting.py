"""Alerts reach someone: `mlplatform:alerting` becomes every cluster's Alertmanager config, checked by the real
`amtool` (Debian's prometheus-alertmanager), which also proves where a firing fleet or serving alert is routed; the
receivers' URLs and keys stay Pulumi secrets (a mounted Secret, never a Helm value, `[secret]` in the plan); and the
central Prometheus runs as the chart's service account, which may discover the Alertmanager it sends to.

amtool fails these tests, never skips them, when it is missing: `make tools` installs it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, cast

import pulumi
import pytest
import yaml

from components.observability.alerting import SECRETS_DIR, alertmanager_config
from components.observability.contract import (
    ALERTING_SECRET,
    AlertingSettings,
    AlertReceiver,
    AlertRoute,
    EmailSettings,
)
from components.observability.rules import CENTRAL_RULES, SERVING_RULES, rule_groups
from components.serving_stack.addons import merged_values
from preflight.errors import InputError
from preflight.plan import Plan
from preflight.stack_files import StackFile, engine_string
from preflight.synthesize import PROJECT_DIR, synthesize
from stacks.alerting_config import check_secrets, parse_alerting
from stacks.config import ConfigError, parse_stack_config

RELEASE = "kubernetes:helm.sh/v3:Release"
PROMETHEUS = "kubernetes:monitoring.coreos.com/v1:Prometheus"
SECRET = "kubernetes:core/v1:Secret"
MASK = "[secret]"
INSTALL = "apt-get install -y prometheus-alertmanager (Debian's package ships amtool), or `make tools`"

# kube-prometheus-stack 88.5.3, values.yaml `alertmanager.config` (the chart's defaults, which Helm merges ours over).
CHART_DEFAULT_CONFIG: dict[str, Any] = yaml.safe_load(
    """
global:
  resolve_timeout: 5m
inhibit_rules:
  - source_matchers: ['severity = critical']
    target_matchers: ['severity =~ warning|info']
    equal: ['namespace', 'alertname']
  - source_matchers: ['severity = warning']
    target_matchers: ['severity = info']
    equal: ['namespace', 'alertname']
  - source_matchers: ['alertname = InfoInhibitor']
    target_matchers: ['severity = info']
    equal: ['namespace']
  - target_matchers: ['alertname = InfoInhibitor']
route:
  group_by: ['namespace']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 12h
  receiver: 'null'
  routes:
  - receiver: 'null'
    matchers:
      - alertname = "Watchdog"
receivers:
- name: 'null'
templates:
- '/etc/alertmanager/config/*.tmpl'
"""
)


class Unreadable:
    """Stands in for a receiver's secret (a Pulumi Output): rendering must never read it, and nothing that reads it
    (json.dumps included) gets past it. Real Outputs made outside a program would also outlive the test in the SDK's
    global state and break the next synthesis."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the secret {self.label} was read ({name})")


def secret(label: str) -> pulumi.Output[str]:
    return cast("pulumi.Output[str]", Unreadable(label))


def example() -> AlertingSettings:
    """The worked example: one receiver of each kind, and what each severity should reach (EXAMPLE_REACHES)."""
    return AlertingSettings(
        receivers=(
            AlertReceiver("oncall", "pagerduty", secret=secret("pd-routing-key")),
            AlertReceiver("team-slack", "slack", secret=secret("https://hooks.slack.test/x"), channel="#ml"),
            AlertReceiver("hooks", "webhook", secret=secret("https://hooks.example.test/alert?token=x")),
            AlertReceiver(
                "mail",
                "email",
                secret=secret("smtp-password"),
                email=EmailSettings("oncall@example.com", "am@example.com", "smtp.example.com:587", "am"),
            ),
        ),
        routes=(
            AlertRoute("critical", ("oncall", "team-slack")),
            AlertRoute("warning", ("team-slack", "mail")),
            AlertRoute("info", ("hooks",)),
        ),
    )


EXAMPLE_REACHES = {"critical": ["oncall", "team-slack"], "warning": ["team-slack", "mail"], "info": ["hooks"]}


def amtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    path = shutil.which("amtool")
    if path is None:
        pytest.fail(f"amtool is not installed: {INSTALL}")
    return subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=60, check=False)


def for_amtool(config: dict[str, Any]) -> dict[str, Any]:
    """Debian's amtool is 0.25, which predates the webhook's `url_file` (Alertmanager 0.26; the chart runs 0.34).
    Only that field is changed, to the inline form 0.25 knows; everything else is checked as rendered."""
    copy = json.loads(json.dumps(config))
    for receiver in copy["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            assert webhook.pop("url_file").startswith(f"{SECRETS_DIR}/{ALERTING_SECRET}/")
            webhook["url"] = "http://127.0.0.1:9/only-for-amtool-0.25"
    return copy


def write(tmp_path: Path, config: dict[str, Any], name: str = "alertmanager.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def check_config(path: Path) -> None:
    result = amtool("check-config", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def routed_to(path: Path, labels: dict[str, str]) -> list[str]:
    """The receivers Alertmanager picks for an alert with these labels (amtool config routes test)."""
    result = amtool("config", "routes", "test", f"--config.file={path}", *(f"{k}={v}" for k, v in labels.items()))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().split(",")


def rule_alerts(path: Path) -> list[dict[str, str]]:
    """Each alert of a rule file as the labels it fires with (its target is what a real alert carries too)."""
    return [
        {"alertname": rule["alert"], **rule.get("labels", {}), "target": "aws-us-east-1"}
        for group in rule_groups(path)
        for rule in group["rules"]
        if "alert" in rule
    ]


# --- the rendered config, checked and routed by amtool ---


def test_the_rendered_config_is_valid_and_each_severity_reaches_its_receivers(tmp_path: Path) -> None:
    path = write(tmp_path, for_amtool(alertmanager_config(example())))
    check_config(path)
    for severity, receivers in EXAMPLE_REACHES.items():
        assert routed_to(path, {"alertname": "Anything", "severity": severity}) == receivers, severity


def test_every_fleet_and_serving_alert_reaches_a_receiver(tmp_path: Path) -> None:
    path = write(tmp_path, for_amtool(alertmanager_config(example())))
    alerts = rule_alerts(CENTRAL_RULES) + rule_alerts(SERVING_RULES)
    assert {a["alertname"] for a in alerts} >= {"TargetHealthCheckFailing", "TargetMetricsMissing", "ModelNotReady"}
    for alert in alerts:
        assert routed_to(path, alert) == EXAMPLE_REACHES[alert["severity"]], alert["alertname"]


def test_the_chart_heartbeats_stay_silent_and_no_config_means_null(tmp_path: Path) -> None:
    path = write(tmp_path, for_amtool(alertmanager_config(example())))
    for name in ("Watchdog", "InfoInhibitor"):
        assert routed_to(path, {"alertname": name, "severity": "none"}) == ["null"]
    assert routed_to(path, {"alertname": "Unlabelled"}) == ["null"]
    empty = write(tmp_path, alertmanager_config(AlertingSettings()), "empty.yaml")
    check_config(empty)
    assert routed_to(empty, {"alertname": "TargetHealthCheckFailing", "severity": "critical"}) == ["null"]


def test_secrets_are_files_from_the_mounted_secret_never_values() -> None:
    config = alertmanager_config(example())
    text = json.dumps(config)  # raises if a secret were in it
    for secret in ("pd-routing-key", "hooks.slack.test", "token=x", "smtp-password"):
        assert secret not in text
    by_field = {
        "oncall": ("pagerduty_configs", "routing_key_file"),
        "team-slack": ("slack_configs", "api_url_file"),
        "hooks": ("webhook_configs", "url_file"),
        "mail": ("email_configs", "auth_password_file"),
    }
    receivers = {r["name"]: r for r in config["receivers"]}
    for name, (configs, field) in by_field.items():
        assert receivers[name][configs][0][field] == f"/etc/alertmanager/secrets/mlplatform-alerting/{name}"


def test_helm_renders_exactly_this_config_over_the_chart_defaults() -> None:
    for settings in (example(), AlertingSettings()):
        ours = alertmanager_config(settings)
        assert merged_values(CHART_DEFAULT_CONFIG, ours) == ours
    # the chart's own inhibit rules and heartbeat route are kept
    ours = alertmanager_config(example())
    assert ours["inhibit_rules"] == CHART_DEFAULT_CONFIG["inhibit_rules"]
    assert ours["route"]["routes"][0] == CHART_DEFAULT_CONFIG["route"]["routes"][0]


# --- the config keys ---


RECEIVERS = [
    {"name": "oncall", "kind": "pagerduty", "secret": "alertPagerdutyKey"},
    {"name": "slack", "kind": "slack", "channel": "#ml", "secret": "alertSlackUrl"},
]
GOOD = {"receivers": RECEIVERS, "routes": {"critical": ["oncall", "slack"], "warning": ["slack"]}}
SET_KEYS = {"alertPagerdutyKey", "alertSlackUrl", "alertSmtp"}


def test_the_config_names_receivers_routes_and_the_keys_of_their_secrets() -> None:
    config = parse_alerting("mlplatform:alerting", GOOD, "prod", SET_KEYS)
    assert [(r.name, r.kind, r.secret_key) for r in config.receivers] == [
        ("oncall", "pagerduty", "alertPagerdutyKey"),
        ("slack", "slack", "alertSlackUrl"),
    ]
    assert config.receivers_for("critical") == ("oncall", "slack")
    assert config.secret_keys == {"alertPagerdutyKey", "alertSlackUrl"}
    read: list[str] = []

    def read_secret(key: str) -> pulumi.Output[str]:
        read.append(key)
        return secret(f"value of {key}")

    settings = config.settings(read_secret)
    assert read == ["alertPagerdutyKey", "alertSlackUrl"]
    assert all(r.secret is not None for r in settings.receivers)


def test_dev_may_leave_alerting_out_prod_may_not() -> None:
    assert parse_alerting("mlplatform:alerting", None, "dev", set()).receivers == ()
    with pytest.raises(ConfigError, match="prod must send critical alerts") as error:
        parse_alerting("mlplatform:alerting", None, "prod", set())
    assert error.value.key == "mlplatform:alerting"
    warning_only = {"receivers": RECEIVERS[1:], "routes": {"warning": ["slack"]}}
    with pytest.raises(ConfigError, match="at least one receiver") as error:
        parse_alerting("mlplatform:alerting", warning_only, "prod", SET_KEYS)
    assert error.value.key == "mlplatform:alerting.routes.critical"


EMAIL = {"name": "mail", "kind": "email", "to": "a@example.com", "from": "b@example.com", "smarthost": "smtp.x.io:587"}


@pytest.mark.parametrize(
    ("alerting", "key", "message"),
    [
        ({"receivers": {}}, "receivers", "expected a list"),
        ({"receivers": [{"name": "x", "kind": "teams"}]}, "receivers[0].kind", "unknown kind 'teams'"),
        ({"receivers": [{"name": "x", "kind": "slack"}]}, "receivers[0].secret", "webhook URL"),
        ({"receivers": [{"name": "x", "kind": "slack", "secret": "unset"}]}, "receivers[0].secret", "not set"),
        ({"receivers": [{"name": "x", "kind": "slack", "secret": "owner"}]}, "receivers[0].secret", "platform's own"),
        ({"receivers": [{**RECEIVERS[0], "to": "a@b.c"}]}, "receivers[0].to", "unknown key"),
        ({"receivers": [{**RECEIVERS[0], "name": "null"}]}, "receivers[0].name", "not 'null'"),
        ({"receivers": [RECEIVERS[0], RECEIVERS[0]]}, "receivers[1].name", "already the name"),
        ({"receivers": [{**EMAIL, "smarthost": "smtp"}]}, "receivers[0].smarthost", "not host:port"),
        ({"receivers": [{**EMAIL, "to": "a@example.com, nobody"}]}, "receivers[0].to", "address 2"),
        ({"receivers": [{**EMAIL, "secret": "alertSmtp"}]}, "receivers[0].secret", "needs authUsername"),
        ({"receivers": [{**EMAIL, "authUsername": "am"}]}, "receivers[0].secret", "SMTP password"),
        ({"receivers": RECEIVERS, "routes": {"critical": ["pager"]}}, "routes.critical[0]", "no receiver named"),
        ({"receivers": RECEIVERS, "routes": {"page": ["oncall"]}}, "routes.page", "unknown key"),
        ({"receivers": RECEIVERS, "routes": {"critical": ["oncall"]}}, "receivers[1]", "not used by any route"),
        ({**GOOD, "repeatInterval": "4 hours"}, "repeatInterval", "not a duration"),
        ({**GOOD, "groupBy": ["alertname", "cloud-name"]}, "groupBy[1]", "not a label name"),
        ({**GOOD, "silence": True}, "silence", "unknown key"),
    ],
)
def test_bad_values_name_their_key(alerting: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        parse_alerting("mlplatform:alerting", alerting, "dev", SET_KEYS, reserved={"owner"})
    assert error.value.key == f"mlplatform:alerting.{key}"
    assert "\n" not in str(error.value)


def engine(values: dict[str, Any]) -> dict[str, str]:
    return {f"mlplatform:{key}": engine_string(value) for key, value in values.items()}


STACK: dict[str, Any] = {
    "environment": "dev",
    "owner": "ml-platform",
    "costCenter": "ml",
    "targets": [{"cloud": "gcp", "region": "us-central1", "project": "mlplatform-test"}],
}


def test_a_receivers_secret_key_is_a_stack_key_and_a_typo_still_is_not() -> None:
    alerting = {"receivers": RECEIVERS[1:], "routes": {"critical": ["slack"]}}
    config = parse_stack_config(engine({**STACK, "alerting": alerting, "alertSlackUrl": "x"}), stack="test")
    assert config.alerting.secret_keys == {"alertSlackUrl"}
    with pytest.raises(ConfigError, match="unknown key") as error:
        parse_stack_config(engine({**STACK, "alerting": alerting, "alertSlackUrl": "x", "alertSlackUrI": "x"}), "t")
    assert error.value.key == "mlplatform:alertSlackUrI"


def test_a_secret_stored_in_clear_text_is_refused() -> None:
    config = parse_alerting("mlplatform:alerting", GOOD, "prod", SET_KEYS)
    check_secrets("mlplatform:", config, lambda key: True)
    with pytest.raises(ConfigError, match="in clear text; set it with `pulumi config set --secret") as error:
        check_secrets("mlplatform:", config, lambda key: key != "mlplatform:alertSlackUrl")
    assert error.value.key == "mlplatform:alertSlackUrl"


# --- through the program: secrets masked, refused in clear ---

SLACK_URL = "https://hooks.slack.com/services/T000/B000/never-in-the-plan"


def alerting_stack(masked: tuple[str, ...]) -> StackFile:
    alerting = {"receivers": RECEIVERS[1:], "routes": {"critical": ["slack"]}}
    config = engine({**STACK, "alerting": alerting, "alertSlackUrl": SLACK_URL})
    return StackFile(project="mlplatform", stack="alerts", config=config, masked=masked)


def test_through_the_program_the_url_is_a_mounted_secret_and_never_in_the_plan() -> None:
    plan = synthesize(alerting_stack(masked=("mlplatform:alertSlackUrl",)))
    assert SLACK_URL not in json.dumps(plan.to_json())
    (secret,) = [s for s in plan.of_type(SECRET) if s.inputs["metadata"]["name"] == ALERTING_SECRET]
    assert secret.inputs["metadata"]["namespace"] == "monitoring" and secret.inputs["stringData"] == MASK
    (values,) = [r.inputs["values"] for r in plan.of_type(RELEASE) if r.inputs["chart"] == "kube-prometheus-stack"]
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == [ALERTING_SECRET]
    (slack,) = values["alertmanager"]["config"]["receivers"][1]["slack_configs"]
    assert slack["api_url_file"] == f"/etc/alertmanager/secrets/{ALERTING_SECRET}/slack"


def test_through_the_program_a_plain_url_is_refused() -> None:
    with pytest.raises(InputError, match=r"mlplatform:alertSlackUrl: holds the webhook URL .* in clear text"):
        synthesize(alerting_stack(masked=()))


# --- the shipped stacks' plans ---


def stack_values(plan: Plan) -> dict[str, dict[str, Any]]:
    return {
        str(plan.target_of(release)): release.inputs["values"]
        for release in plan.of_type(RELEASE)
        if release.inputs["chart"] == "kube-prometheus-stack"
    }


def prod_alerting() -> dict[str, Any]:
    """The source document: what Pulumi.prod.yaml asks for."""
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())["config"]
    return dict(document["mlplatform:alerting"])


def test_prod_routes_every_fleet_alert_to_its_receivers_in_every_cluster(prod_plan: Plan, tmp_path: Path) -> None:
    routes = prod_alerting()["routes"]
    assert routes["critical"]  # prod pages someone
    central = prod_plan.outputs["monitoring"]["central"]
    values = stack_values(prod_plan)
    assert central in values and len(values) == len(prod_plan.outputs["targets"])
    for target, release in values.items():
        path = write(tmp_path, release["alertmanager"]["config"], f"{target}.yaml")
        check_config(path)  # prod's receivers (PagerDuty, Slack) need nothing amtool 0.25 lacks
        alerts = rule_alerts(SERVING_RULES) + (rule_alerts(CENTRAL_RULES) if target == central else [])
        for alert in alerts:
            assert routed_to(path, alert) == routes[alert["severity"]], (target, alert["alertname"])
            assert "null" not in routes[alert["severity"]]


def test_prod_keys_are_a_mounted_secret_masked_in_the_plan(prod_plan: Plan) -> None:
    secret_keys = {f"mlplatform:{r['secret']}" for r in prod_alerting()["receivers"] if "secret" in r}
    assert secret_keys and secret_keys <= set(prod_plan.masked_config)
    secrets = {
        str(prod_plan.target_of(s)): s
        for s in prod_plan.of_type(SECRET)
        if s.inputs["metadata"]["name"] == ALERTING_SECRET
    }
    assert set(secrets) == set(prod_plan.outputs["targets"])
    for target, release in stack_values(prod_plan).items():
        assert release["alertmanager"]["alertmanagerSpec"]["secrets"] == [ALERTING_SECRET], target
        assert secrets[target].inputs["stringData"] == MASK
        assert secrets[target].inputs["metadata"]["namespace"] == "monitoring"


def test_dev_without_alerting_routes_to_null_with_no_secret(dev_plan: Plan, tmp_path: Path) -> None:
    assert not [s for s in dev_plan.of_type(SECRET) if s.inputs["metadata"]["name"] == ALERTING_SECRET]
    for target, release in stack_values(dev_plan).items():
        assert "secrets" not in release["alertmanager"].get("alertmanagerSpec", {})
        path = write(tmp_path, release["alertmanager"]["config"], f"{target}.yaml")
        check_config(path)
        assert routed_to(path, {"alertname": "ModelNotReady", "severity": "critical"}) == ["null"]


def test_the_central_prometheus_runs_as_the_charts_prometheus_account(stack_plan: Plan) -> None:
    """The chart names its Prometheus account "<fullname>-prometheus" and binds it to the ClusterRole that may list
    endpoints (templates/prometheus/serviceaccount.yaml, clusterrolebinding.yaml at 88.5.3)."""
    central = stack_plan.outputs["monitoring"]["central"]
    fullname = stack_values(stack_plan)[central]["fullnameOverride"]
    (prometheus,) = stack_plan.of_type(PROMETHEUS)
    assert stack_plan.target_of(prometheus) == central
    assert prometheus.inputs["spec"]["serviceAccountName"] == f"{fullname}-prometheus"
    (alertmanager,) = prometheus.inputs["spec"]["alerting"]["alertmanagers"]
    assert alertmanager["name"] == f"{fullname}-alertmanager" and alertmanager["namespace"] == "monitoring"
