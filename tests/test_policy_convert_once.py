"""The pack's remembered conversions (policies/rules/convert_once.py) hand pulumi-policy the answers it would compute
itself; the policy tests run the whole pack with them over the real plans."""

from __future__ import annotations

from typing import Any

import pulumi_policy.policy as analyzer
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties

from policies.rules import convert_once

SECRET = {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": "hunter2"}


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def test_equal_structs_convert_once_to_what_json_format_gives() -> None:
    remembering = convert_once.RememberingJsonFormat()
    value = {"tags": {"owner": "ml"}, "ports": [80, 443], "password": SECRET}
    first = remembering.MessageToDict(struct(value))
    assert first == json_format.MessageToDict(struct(value))
    assert remembering.MessageToDict(struct(value)) is first  # another message, the same bytes
    assert remembering.MessageToDict(struct({"ports": [80]})) == {"ports": [80]}
    # with options, json_format's own answer, not remembered
    options = remembering.MessageToDict(struct(value), preserving_proto_field_name=True)
    assert options == first and options is not first


def test_a_dict_deserializes_once_and_remediation_keeps_its_secret_wrappers() -> None:
    calls: list[bool] = []

    def counted(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
        calls.append(proxy_secrets)
        return deserialize_properties(props, proxy_secrets)

    remembering = convert_once.RememberingDeserializer(counted)
    props = {"password": SECRET, "name": "a"}
    answer = remembering(props)
    assert answer == {"password": "hunter2", "name": "a"}
    assert remembering(props) is answer
    assert remembering(dict(props)) == answer  # an equal dict, another object: converted again
    remembering(props, True)
    assert calls == [False, False, True]


def test_the_pinned_pulumi_policy_takes_the_remembering_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("json_format", "deserialize_properties", "signature"):
        monkeypatch.setattr(analyzer, name, getattr(analyzer, name))  # put back after the test
    assert convert_once.install()
    assert isinstance(analyzer.json_format, convert_once.RememberingJsonFormat)
    assert isinstance(analyzer.deserialize_properties, convert_once.RememberingDeserializer)
