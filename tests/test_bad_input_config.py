"""Bad stack files and config values: one line naming the file and key, never a traceback, a silent drop or a
value a component refuses later.

Each case is written as a user would write the stack file; the stack files are read by preflight's reader
(what the Pulumi CLI would hand the program) and validated in-process, with one run of the command line
for the exit code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from components.global_dns.contract import global_labels
from components.gpu_cluster.contract import GpuPool
from preflight.errors import InputError
from preflight.stack_files import load_stack
from stacks.config import ConfigError, StackConfig, parse_stack_config
from stacks.namespaces import PROVIDER_NAMESPACES, unread_keys
from stacks.validate import finite_problem, number
from tests.test_config import GOOD, engine_config
from tests.test_preflight_cli import ROOT, run_preflight, write_stack

DEV_HEAD = (
    "config:\n  mlplatform:environment: dev\n  mlplatform:owner: a\n  mlplatform:costCenter: b\n"
    "  mlplatform:targets: [{cloud: aws, region: us-east-1}]\n"
)


def read(tmp_path: Path, body: str, head: str = DEV_HEAD) -> StackConfig:
    """The stack file `head + body` read and validated as preflight does; errors as preflight prints them."""
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.t.yaml").write_text(head + body)
    stack = load_stack(tmp_path, "t")
    try:
        return parse_stack_config(stack.config, stack="t", project=stack.project)
    except ConfigError as error:
        raise InputError(f"Pulumi.t.yaml: {error}") from None


def refused(tmp_path: Path, body: str, head: str = DEV_HEAD) -> str:
    with pytest.raises(InputError) as caught:
        read(tmp_path, body, head)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("Pulumi.t.yaml: ")
    return message


# --- 1. not UTF-8 ---


def test_a_stack_file_that_is_not_utf8_exits_2_naming_the_file(tmp_path: Path) -> None:
    project = write_stack(tmp_path, "latin", "")
    (project / "Pulumi.latin.yaml").write_bytes(DEV_HEAD.encode() + b"  mlplatform:gpuPools: caf\xe9\n")
    result = run_preflight("--project-dir", str(project), "plan", "--stack", "latin")
    assert result.returncode == 2 and result.stdout == ""
    byte = len(DEV_HEAD) + len("  mlplatform:gpuPools: caf") + 1  # the é, in Latin-1
    assert result.stderr == f"preflight: Pulumi.latin.yaml: not UTF-8 text (byte {byte}, line 6)\n"


# --- 2. YAML values that are not JSON: as the Pulumi CLI reads them ---


def test_a_top_level_scalar_is_the_text_written_as_the_pulumi_cli_passes_it(tmp_path: Path) -> None:
    # The CLI decodes a top-level config value into a string first: a date or a number stays as written.
    config = read(tmp_path, "  mlplatform:kubernetesVersion: 1.35\n", DEV_HEAD.replace("owner: a", "owner: 2024-01-01"))
    assert config.owner == "2024-01-01"
    assert config.cluster.kubernetes_version == "1.35"  # unquoted 1.35: still the text "1.35"


def test_dates_binary_and_sets_inside_values_become_what_the_cli_sends(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.t.yaml"
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    stack_file.write_text(
        DEV_HEAD + "  mlplatform:extra:\n    when: 2024-01-01\n    blob: !!binary aGVsbG8=\n    tags: !!set {a, b}\n"
    )
    sent = json.loads(load_stack(tmp_path, "t").config["mlplatform:extra"])
    assert sent == {"when": "2024-01-01", "blob": "hello", "tags": {"a": None, "b": None}}


def test_a_date_where_a_map_belongs_names_the_key(tmp_path: Path) -> None:
    message = refused(tmp_path, "  mlplatform:registry: 2024-01-01\n")
    assert message.endswith("mlplatform:registry: expected a structured value (a YAML list or map), got a plain string")
    message = refused(tmp_path, "  mlplatform:registry: {keepImages: 2024-01-01}\n")
    assert message == "Pulumi.t.yaml: mlplatform:registry.keepImages: expected a whole number, got '2024-01-01'"


# --- 3. numbers: finite, and every rule a component applies ---


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (".nan", "mlplatform:gpuPools[0].spotMaxPrice: .nan is not a number JSON can carry"),
        (".inf", "mlplatform:gpuPools[0].spotMaxPrice: .inf is not a number JSON can carry"),
        ("0", "mlplatform:gpuPools[0].spotMaxPrice: must be above 0, got 0"),
        ("0.123456", "mlplatform:gpuPools[0].spotMaxPrice: AKS takes at most 5 decimals, got 0.123456"),
    ],
)
def test_spot_max_price_is_refused_by_config_before_any_component(tmp_path: Path, value: str, problem: str) -> None:
    head = DEV_HEAD.replace("{cloud: aws, region: us-east-1}", "{cloud: azure, region: eastus}")
    message = refused(
        tmp_path, f"  mlplatform:gpuPools: [{{name: t4, accelerator: T4, spotMaxPrice: {value}}}]\n", head
    )
    assert message.startswith(f"Pulumi.t.yaml: {problem}")


def test_the_spot_price_rule_is_the_components_rule() -> None:
    """What config accepts, the AKS component accepts: the same function decides both."""
    from components.gpu_cluster.azure import _check_pool

    for price in (0.12345, 1.5, 3):
        _check_pool("c", GpuPool("t4", "T4", ("Standard_NC4as_T4_v3",), spot_max_price=price))
    with pytest.raises(ValueError, match="at most 5 decimals"):
        _check_pool("c", GpuPool("t4", "T4", ("Standard_NC4as_T4_v3",), spot_max_price=0.123456))


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_in_the_engines_json_names_the_key(word: str) -> None:
    config = {**engine_config(GOOD), "mlplatform:registry": f'{{"keepImages": {word}}}'}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(config, stack="t")
    assert caught.value.key == "mlplatform:registry" and word in caught.value.problem


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_every_numeric_key_through_the_shared_checker_refuses_non_finite(value: float) -> None:
    """stacks/validate.number is what every config module reads a number with: NaN passes no range check."""
    with pytest.raises(ConfigError) as caught:
        number("mlplatform:x.y", value, 0.0)
    assert caught.value.key == "mlplatform:x.y" and (
        "NaN" in caught.value.problem or "infinity" in caught.value.problem
    )
    assert finite_problem(value) is not None and finite_problem(10**400) is None


# --- 4. silent drops ---


def test_a_pool_limited_to_a_cloud_the_stack_does_not_use_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, "  mlplatform:gpuPools: [{name: a10, accelerator: A10, clouds: [azure]}]\n")
    assert message == (
        "Pulumi.t.yaml: mlplatform:gpuPools[0].clouds[0]: the stack has no azure target (its clouds: aws); remove azure"
    )


def test_a_key_written_twice_is_refused_with_the_key(tmp_path: Path) -> None:
    message = refused(tmp_path, "  mlplatform:owner: b\n")
    assert message == "Pulumi.t.yaml: mlplatform:owner: the key appears twice in one map; keep one"
    message = refused(tmp_path, "  mlplatform:gpuPools:\n    - {name: t4, accelerator: T4, maxNodes: 2, maxNodes: 3}\n")
    assert message == "Pulumi.t.yaml: mlplatform:gpuPools[0].maxNodes: the key appears twice in one map; keep one"
    message = refused(tmp_path, "  gpuPools: []\n  mlplatform:gpuPools: []\n")
    assert message == "Pulumi.t.yaml: mlplatform:gpuPools: set twice; keep one"


def test_an_unread_namespace_is_warned_about_with_the_key() -> None:
    keys = ["mlplatform:owner", "mlplatfom:gpuPools", "aws:region", "azure-native:location", "pulumi:tags"]
    (warning,) = unread_keys(keys, "mlplatform")
    assert warning.startswith("mlplatfom:gpuPools: nothing reads the namespace 'mlplatfom'")


def test_the_namespaces_read_are_the_providers_the_program_installs() -> None:
    requirements = (ROOT / "requirements.txt").read_text()
    installed = set(re.findall(r"^pulumi-([a-z-]+)==", requirements, re.MULTILINE)) - {"policy"}
    assert set(PROVIDER_NAMESPACES) == installed | {"pulumi"}


def test_a_typo_in_the_namespace_is_warned_about_by_the_program(tmp_path: Path) -> None:
    project = write_stack(tmp_path, "typo", DEV_HEAD + "  mlplatfom:gpuPools: []\n")
    result = run_preflight("--project-dir", str(project), "timeline", "--stack", "typo")
    assert result.returncode == 0, result.stderr
    assert "mlplatfom:gpuPools: nothing reads the namespace 'mlplatfom'" in result.stderr


# --- 5. names in the zone ---


PROD_FAILOVER = {
    **GOOD,
    "targets": [{"cloud": "aws", "region": "us-east-1"}, {"cloud": "aws", "region": "eu-west-1"}],
    "dns": {"zone": "ml.example.com", "mode": "failover", "primary": "aws-us-east-1"},
}


@pytest.mark.parametrize("name", ["api", "api-secondary"])
def test_a_target_named_like_a_globaldns_record_is_refused(name: str) -> None:
    values = {**PROD_FAILOVER, "targets": [{"cloud": "aws", "region": "us-east-1", "name": name}]}
    values["dns"] = {"zone": "ml.example.com"}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(engine_config(values), stack="t")
    assert caught.value.key == "mlplatform:targets[0].name"
    assert f"{name}.ml.example.com is" in caught.value.problem


def test_the_reserved_names_follow_the_record_name() -> None:
    assert set(global_labels("www")) == {"www", "www-secondary"}
    values = {**PROD_FAILOVER, "targets": [{"cloud": "aws", "region": "us-east-1", "name": "www-secondary"}]}
    values["dns"] = {"zone": "ml.example.com", "recordName": "www"}
    with pytest.raises(ConfigError, match="failover's standby set"):
        parse_stack_config(engine_config(values), stack="t")
    values["observability"] = {"recordName": "www-secondary"}
    values["targets"] = [{"cloud": "aws", "region": "us-east-1"}]
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(engine_config(values), stack="t")
    assert caught.value.key == "mlplatform:observability.recordName"


def test_a_zone_too_long_for_the_names_written_in_it_is_refused() -> None:
    zone = ".".join(["a" * 60] * 3) + ".com"  # 187 characters: api.<zone> fits, _acme-challenge.<61>.<zone> not
    values = {**GOOD, "dns": {"zone": zone, "recordName": "r" * 61}}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(engine_config(values), stack="t")
    assert caught.value.key == "mlplatform:dns.zone" and "over DNS's 253" in caught.value.problem


# --- 6. kubernetesVersion: 1.30 unquoted ---


def test_a_version_read_as_a_number_says_to_quote_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config({**engine_config(GOOD), "mlplatform:kubernetesVersion": "1.3"}, stack="t")
    assert caught.value.key == "mlplatform:kubernetesVersion"
    assert 'quote it in YAML ("1.30")' in caught.value.problem


def test_a_yaml_number_version_reaches_the_parser_as_written(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.t.yaml"
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    stack_file.write_text(DEV_HEAD + "  mlplatform:kubernetesVersion: 1.30\n")
    assert load_stack(tmp_path, "t").config["mlplatform:kubernetesVersion"] == "1.30"
    assert yaml.safe_load("v: 1.30")["v"] == 1.3  # what a plain YAML reader would have made of it


def test_a_key_with_a_line_break_is_named_on_one_line(tmp_path: Path) -> None:
    """Found by tests/test_config_properties.py: a quoted YAML key may hold a newline."""
    message = refused(tmp_path, '  mlplatform:registry: {"keep\\nImages": 1}\n')
    assert (
        message
        == "Pulumi.t.yaml: mlplatform:registry.keep\\nImages: unknown key (known: " + message.split("(known: ")[1]
    )
    message = refused(tmp_path, '  "mlplatform:extra\\n": !!binary gA==\n')
    assert message.startswith("Pulumi.t.yaml: mlplatform:extra\\n: !!binary data that is not UTF-8 text")


def test_a_gcp_target_name_fits_its_cloud_sql_instance_name() -> None:
    """Found with a 32-character gcp target: `<name>-metadata` passed config and failed inside MetadataDb."""
    from components.metadata_db.gcp import MAX_NAME
    from stacks.config import GCP_TARGET_NAME_MAX

    assert GCP_TARGET_NAME_MAX + len("-metadata") == MAX_NAME
    name = "g" + "a" * 30 + "b"  # 32 characters: a valid name on aws and azure
    gcp = {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123", "name": name}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(engine_config({**GOOD, "environment": "dev", "targets": [gcp]}), stack="t")
    assert caught.value.key == "mlplatform:targets[0].name" and "at most 31" in caught.value.problem


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('  mlplatform:gpuPools: [{name: "t4\\n", accelerator: T4}]\n', "mlplatform:gpuPools[0].name"),
        ('  mlplatform:dns: {zone: "ml.example.com\\n"}\n', "mlplatform:dns.zone"),
        ('  mlplatform:dns: {zone: ml.example.com, recordName: "api\\n"}\n', "mlplatform:dns.recordName"),
        ('  mlplatform:kubernetesVersion: "1.35\\n"\n', "mlplatform:kubernetesVersion"),
    ],
)
def test_a_name_with_a_trailing_line_break_is_refused(tmp_path: Path, body: str, key: str) -> None:
    """A regex ending in `$` also matches before a final newline: every name check matches the whole text."""
    assert refused(tmp_path, body).startswith(f"Pulumi.t.yaml: {key}: ")


def test_a_target_name_with_a_trailing_line_break_is_refused(tmp_path: Path) -> None:
    head = DEV_HEAD.replace("{cloud: aws, region: us-east-1}", '{cloud: aws, region: us-east-1, name: "abc\\n"}')
    assert refused(tmp_path, "", head).startswith("Pulumi.t.yaml: mlplatform:targets[0].name: ")
