"""`mlplatform:auth`: who may call which model, and how fast; bad input is one line naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.serving_stack.contract import CallerRateLimit
from preflight.plan import Plan
from preflight.stack_files import engine_string
from stacks.auth_config import DEFAULT_RATE_LIMIT, RateLimit, gateway_auth, parse_auth
from stacks.config import parse_stack_config
from stacks.validate import ConfigError

ROOT = Path(__file__).resolve().parent.parent

KEY = "mlplatform:auth"
ENTRA = {
    "issuer": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
    "jwksUri": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/discovery/v2.0/keys",
    "audiences": ["api://mlplatform"],
}
GOOD: dict[str, Any] = {
    "issuers": [ENTRA],
    "models": {"fraud-detection": {"groups": ["fraud-team"]}},
    "rateLimit": {"requestsPerSecond": 10, "burst": 20},
}


def test_a_prod_stack_reads_issuers_models_and_limits() -> None:
    auth = parse_auth(KEY, GOOD, "prod", ["fraud-detection", "churn"])
    assert auth.enabled
    assert auth.issuers[0].jwks_uri.endswith("/discovery/v2.0/keys")
    assert auth.issuers[0].audiences == ("api://mlplatform",)
    assert auth.access("fraud-detection").groups == ("fraud-team",)
    assert auth.rate_limit == RateLimit(10.0, 20)


def test_a_model_may_have_its_own_rate_limit_in_place_of_the_stacks() -> None:
    """Worked example: fraud-detection at 2 a second, burst 4, for each caller; churn keeps the stack's 10/20."""
    value = {
        **GOOD,
        "models": {"fraud-detection": {"groups": ["a"], "rateLimit": {"requestsPerSecond": 2, "burst": 4}}},
    }
    auth = parse_auth(KEY, value, "prod", ["fraud-detection", "churn"])
    assert auth.access("fraud-detection").rate_limit == RateLimit(2.0, 4)
    assert auth.access("churn").rate_limit is None
    gateway = gateway_auth(auth)
    assert gateway is not None and gateway.rate_limit is not None
    (fraud,) = gateway.callers
    assert fraud.rate_limit == CallerRateLimit(2.0, 4, "x-mlplatform-caller")
    assert (gateway.rate_limit.requests_per_second, gateway.rate_limit.burst) == (10.0, 20)


def test_a_model_missing_from_the_table_is_open_to_nobody() -> None:
    auth = parse_auth(KEY, GOOD, "prod", ["fraud-detection", "churn"])
    assert auth.access("churn").open_to_nobody
    assert not auth.access("fraud-detection").open_to_nobody


def test_dev_may_turn_auth_off_prod_may_not() -> None:
    assert not parse_auth(KEY, {"enabled": False}, "dev", []).enabled
    assert not parse_auth(KEY, None, "dev", []).enabled
    with pytest.raises(ConfigError, match=r"^mlplatform:auth.enabled: prod cannot turn authentication off"):
        parse_auth(KEY, {"enabled": False}, "prod", [])
    with pytest.raises(ConfigError, match=r"^mlplatform:auth: missing; prod must authenticate"):
        parse_auth(KEY, None, "prod", [])


def test_defaults_when_only_an_issuer_is_given() -> None:
    auth = parse_auth(KEY, {"issuers": [ENTRA]}, "dev", ["m"])
    assert (auth.caller_claim, auth.claim_header, auth.rate_limit) == ("sub", "x-mlplatform-caller", DEFAULT_RATE_LIMIT)


def _issuer(**changes: Any) -> dict[str, Any]:
    issuer = {**ENTRA, **changes}
    return {"issuers": [{k: v for k, v in issuer.items() if v is not None}]}


@pytest.mark.parametrize(
    ("value", "where", "problem"),
    [
        (_issuer(jwksUri=None), "issuers[0].jwksUri", "missing"),
        (_issuer(jwksUri="http://example.com/keys"), "issuers[0].jwksUri", "must be an https:// URL"),
        (_issuer(audiences=[]), "issuers[0].audiences", "must name at least one audience"),
        ({"issuers": []}, "issuers", "expected a non-empty list"),
        ({"models": {}}, "issuers", "missing"),
        ({**GOOD, "rateLimit": {"requestsPerSecond": 0}}, "rateLimit.requestsPerSecond", "above 0"),
        ({**GOOD, "rateLimit": {"requestsPerSecond": -5}}, "rateLimit.requestsPerSecond", "above 0"),
        ({**GOOD, "rateLimit": {"requestsPerSecond": float("inf")}}, "rateLimit.requestsPerSecond", "finite"),
        ({**GOOD, "rateLimit": {"requestsPerSecond": float("nan")}}, "rateLimit.requestsPerSecond", "finite"),
        ({**GOOD, "rateLimit": {"requestsPerSecond": 5, "burst": 0}}, "rateLimit.burst", "above 0"),
        (
            {**GOOD, "models": {"fraud-detection": {"rateLimit": {"requestsPerSecond": 0, "burst": 4}}}},
            "models.fraud-detection.rateLimit.requestsPerSecond",
            "above 0",
        ),
        (
            {**GOOD, "models": {"fraud-detection": {"rateLimit": {"requestsPerSecond": 2, "burst": -1}}}},
            "models.fraud-detection.rateLimit.burst",
            "above 0",
        ),
        (
            {**GOOD, "models": {"fraud-detection": {"rateLimit": {"requestsPerSecond": 2, "bursts": 4}}}},
            "models.fraud-detection.rateLimit.bursts",
            "unknown key",
        ),
        (
            {**GOOD, "models": {"sentiment": {"groups": ["x"]}}},
            "models.sentiment",
            "no such model in mlplatform:models",
        ),
        ({**GOOD, "models": {"fraud-detection": {"users": ["x"]}}}, "models.fraud-detection.users", "unknown key"),
        ({**GOOD, "claimHeader": "Authorization"}, "claimHeader", "lowercase header name"),
        ({**GOOD, "claimHeader": "authorization"}, "claimHeader", "lowercase header name"),
        ({**GOOD, "tenant": "x"}, "tenant", "unknown key"),
    ],
)
def test_bad_input_is_one_line_naming_the_key(value: Any, where: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_auth(KEY, value, "prod", ["fraud-detection"])
    message = str(error.value)
    assert message.startswith(f"{KEY}.{where}: ") and problem in message and "\n" not in message


def _stack_file(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k: engine_string(v) for k, v in document.items()}


def test_the_stack_files_prod_authenticates_dev_is_open() -> None:
    prod = parse_stack_config(_stack_file("prod"), "prod")
    assert prod.auth.enabled and prod.auth.issuers and prod.auth.access("fraud-detection").groups
    assert not parse_stack_config(_stack_file("dev"), "dev").auth.enabled


def test_a_prod_stack_file_without_auth_is_a_config_error() -> None:
    raw = _stack_file("prod")
    del raw["mlplatform:auth"]
    with pytest.raises(ConfigError, match=r"^mlplatform:auth: missing; prod must authenticate"):
        parse_stack_config(raw, "prod")


def test_the_auth_output_tells_callers_the_issuers_and_limits_and_nothing_more(dev_plan: Plan, prod_plan: Plan) -> None:
    """The stack output `auth`: issuers and audiences from Pulumi.prod.yaml, the limits; not who may call what."""
    auth = _stack_file_yaml("prod")["mlplatform:auth"]
    output = prod_plan.outputs["auth"]
    assert output["enabled"] is True
    assert output["issuers"] == [{"issuer": i["issuer"], "audiences": i["audiences"]} for i in auth["issuers"]]
    assert output["rateLimit"] == {
        "requestsPerSecond": auth["rateLimit"]["requestsPerSecond"],
        "burst": auth["rateLimit"]["burst"],
    }
    assert (output["maxRequestBodyMiB"], output["maxRequestHeadersKiB"]) == (16, 32)
    assert "models" not in output and "jwksUri" not in str(output)
    assert dev_plan.outputs["auth"] == {"enabled": False, "maxRequestBodyMiB": 16, "maxRequestHeadersKiB": 32}


def _stack_file_yaml(stack: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"])
