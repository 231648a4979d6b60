"""Stack config validation: bad config fails with one line naming the key, before anything is made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.config import KEYS, ConfigError, parse_stack_config

ROOT = Path(__file__).resolve().parent.parent
GOOD: dict[str, Any] = {
    "environment": "prod",
    "owner": "ml-platform",
    "costCenter": "ml-serving",
    "targets": [{"cloud": "aws", "region": "us-east-1"}],
    "apiAllowedCidrs": ["203.0.113.0/24"],
    "eksAccess": {
        "deployRole": "arn:aws:iam::111122223333:role/mlplatform-deploy",
        "previewRole": "arn:aws:iam::111122223333:role/mlplatform-preview",
    },
    "dns": {"zone": "ml.example.com"},
    # prod serves only signed versions written by named publishers (stacks/publishing_config.py)
    "modelPublishing": {
        "publicKey": "0gC9MD/yaQGnC4QYY99fFihsGHmYJ4ud7htCB36eBXw=",
        "publishers": {"aws": ["arn:aws:iam::111122223333:role/model-publisher"]},
    },
    "auth": {
        "issuers": [
            {
                "issuer": "https://issuer.example.com",
                "jwksUri": "https://issuer.example.com/jwks.json",
                "audiences": ["mlplatform"],
            }
        ]
    },
    # prod must page someone; an e-mail receiver without login needs no secret key
    "alerting": {
        "receivers": [
            {
                "name": "oncall",
                "kind": "email",
                "to": "oncall@example.com",
                "from": "am@example.com",
                "smarthost": "smtp.example.com:587",
            }
        ],
        "routes": {"critical": ["oncall"]},
    },
}


# A principal of each cloud's kind, for test stacks whose targets differ from GOOD's (prod needs publishers for the
# cloud models are published to, and refuses publishers for a cloud the stack has no target on).
PUBLISHERS = {
    "aws": ["arn:aws:iam::111122223333:role/model-publisher"],
    "gcp": ["serviceAccount:publisher@ml-test-123.iam.gserviceaccount.com"],
    "azure": ["00000000-0000-0000-0000-000000000001"],
}


def publishing_for(targets: list[dict[str, Any]]) -> dict[str, Any]:
    """GOOD's modelPublishing with a publisher for each cloud of `targets` and none other."""
    return {**GOOD["modelPublishing"], "publishers": {t["cloud"]: PUBLISHERS[t["cloud"]] for t in targets}}


def engine_config(values: dict[str, Any]) -> dict[str, str]:
    """What the CLI hands the program: strings, structured values as JSON."""
    return {
        f"mlplatform:{key}": value if isinstance(value, str) else json.dumps(value) for key, value in values.items()
    }


def parse(**changes: Any) -> Any:
    values = {**GOOD, **changes}
    values = {key: value for key, value in values.items() if value is not None}
    return parse_stack_config(engine_config(values), stack="test")


def test_multi_region_multi_cloud_stack() -> None:
    config = parse(
        targets=[
            {"cloud": "aws", "region": "us-east-1"},
            {"cloud": "aws", "region": "eu-west-1"},
            {"cloud": "gcp", "region": "europe-west4", "project": "ml-prod-123"},
        ]
    )
    assert [t.name for t in config.targets] == ["aws-us-east-1", "aws-eu-west-1", "gcp-europe-west4"]
    assert [t.cloud for t in config.targets] == ["aws", "aws", "gcp"]
    assert config.targets[2].gcp_project == "ml-prod-123"


def test_environment_defaults_come_from_the_profile() -> None:
    dev = parse(environment="dev")
    prod = parse()
    assert (dev.noncurrent_version_days, prod.noncurrent_version_days) == (7, 30)
    assert not dev.environment.protect_stateful and prod.environment.protect_stateful
    assert parse(noncurrentVersionDays="14").noncurrent_version_days == 14
    assert parse(noncurrentVersionDays="0").noncurrent_version_days == 30  # Pulumi.yaml's default


BAD_CASES = [
    ({"targets": [{"cloud": "ibm", "region": "x"}]}, "mlplatform:targets[0].cloud", "unknown cloud 'ibm'"),
    ({"targets": [{"cloud": "aws"}]}, "mlplatform:targets[0].region", "missing"),
    ({"targets": [{"cloud": "aws", "region": "us-east-9"}]}, "mlplatform:targets[0].region", "unknown aws region"),
    ({"targets": [{"cloud": "gcp", "region": "us-central1"}]}, "mlplatform:targets[0].project", "needs its project"),
    ({"targets": [{"cloud": "aws", "region": "us-east-1", "zone": "a"}]}, "mlplatform:targets[0].zone", "unknown key"),
    ({"targets": [{"cloud": "aws", "region": 5}]}, "mlplatform:targets[0].region", "expected a string"),
    ({"targets": []}, "mlplatform:targets", "at least one target"),
    ({"targets": "aws"}, "mlplatform:targets", "structured value"),
    ({"targets": {"cloud": "aws"}}, "mlplatform:targets", "expected a list"),
    (
        {"targets": [{"cloud": "aws", "region": "us-east-1"}, {"cloud": "aws", "region": "us-east-1"}]},
        "mlplatform:targets[1].name",
        "already used",
    ),
    ({"targets": [{"cloud": "aws", "region": "us-east-1", "project": "p-12345"}]}, "mlplatform:targets[0].project", ""),
    ({"noncurrentVersionDays": "-3"}, "mlplatform:noncurrentVersionDays", "between 1 and 3650"),
    ({"noncurrentVersionDays": "many"}, "mlplatform:noncurrentVersionDays", "expected an integer"),
    ({"environment": "staging"}, "mlplatform:environment", "unknown environment 'staging' (expected dev or prod)"),
    ({"owner": None}, "mlplatform:owner", "missing; it is required: Team or person that owns the stack"),
    ({"owner": "  "}, "mlplatform:owner", "must not be empty"),
    ({"costCenter": "cc#1"}, "mlplatform:costCenter", "cannot be a tag"),
    ({"colour": "blue"}, "mlplatform:colour", "unknown key"),
]


@pytest.mark.parametrize(("changes", "key", "problem"), BAD_CASES, ids=[case[1] for case in BAD_CASES])
def test_bad_config_names_the_key(changes: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(**changes)
    message = str(caught.value)
    assert caught.value.key == key
    assert message.startswith(f"{key}: ") and problem in message
    assert "\n" not in message


def test_provider_namespaces_are_left_to_their_providers() -> None:
    config = {**engine_config(GOOD), "aws:region": "us-west-2"}
    assert parse_stack_config(config, stack="test").targets[0].region == "us-east-1"


def test_pulumi_yaml_declares_every_scalar_key_with_its_type() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    scalar_keys = {key for key, spec in KEYS.items() if spec.type != "object"}
    assert set(declared) == scalar_keys
    for key in scalar_keys:
        assert declared[key]["type"] == KEYS[key].type
        assert declared[key]["description"]
        # The CLI requires every declared key that has no default; both files agree on it.
        assert ("default" in declared[key]) == (not KEYS[key].required), key
        assert declared[key].get("default") == KEYS[key].default, key
        if KEYS[key].type == "array":
            assert declared[key]["items"] == {"type": "string"}


def test_shipped_stacks_are_valid() -> None:
    for stack in ("dev", "prod"):
        document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        values = {key.split(":", 1)[1]: value for key, value in document.items()}
        config = parse_stack_config(engine_config(values), stack=stack)
        assert config.environment.name == stack
