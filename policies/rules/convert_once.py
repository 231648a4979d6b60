"""Each resource's properties converted to Python once per pack process, not once per policy.

pulumi-policy (1.21.0, `_PolicyAnalyzerServicer`) runs `json_format.MessageToDict` on a resource's properties, and
again on its provider's, for every policy it runs on the resource, and once more per stack policy in AnalyzeStack:
over the prod plan about 36 conversions per resource, half of the pack's time (cProfile, 2026-12). The conversion is
pure: equal messages give equal dicts. The library only reads the dict: `deserialize_properties` copies it into new
dicts and lists, and each policy then gets its own proxy over that copy (`unknown_checking_proxy` copies again);
a policy config dict (Configure) is copied for each policy, and no rule here writes to its config. So the
library's module is given a `json_format` whose MessageToDict remembers its answer for a Struct by the Struct's
bytes, and a `deserialize_properties` that remembers its answer for a dict it was given before (the same object,
which the first memo keeps alive). A provider's properties, sent with every resource, convert once; AnalyzeStack
reuses what Analyze converted.

The library also reads `inspect.signature(pulumi.runtime.Settings)` at the start of every call to choose the
Settings arguments; the class cannot change within a process, so the answer is remembered too.

Only the library's module sees these; a pulumi-policy without these names runs unchanged (`install` returns
False), just slower.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format, struct_pb2

MAX_ENTRIES = 16384  # a plan of a few thousand resources and its providers; cleared when full


class RememberingJsonFormat:
    """google.protobuf.json_format, with MessageToDict remembered for Structs given no options."""

    def __init__(self) -> None:
        self._answers: dict[bytes, dict[str, Any]] = {}
        self._lock = threading.Lock()  # the pack's gRPC server answers on several threads

    def MessageToDict(self, message: Any, **options: Any) -> Any:  # noqa: N802 (json_format's name)
        if options or not isinstance(message, struct_pb2.Struct):
            return json_format.MessageToDict(message, **options)
        key = message.SerializeToString(deterministic=True)
        found = self._answers.get(key)
        if found is None:
            found = json_format.MessageToDict(message)
            with self._lock:
                if len(self._answers) >= MAX_ENTRIES:
                    self._answers.clear()
                self._answers[key] = found
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)


class RememberingDeserializer:
    """pulumi-policy's deserialize_properties, remembered for the very dict objects it was given before."""

    def __init__(self, deserialize: Callable[..., dict[str, Any]]) -> None:
        self._deserialize = deserialize
        self._answers: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}  # id(given) -> (given, answer)
        self._lock = threading.Lock()

    def __call__(self, props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
        if proxy_secrets:  # Remediate's path: secrets wrapped for the remediation, not remembered
            return self._deserialize(props, proxy_secrets)
        found = self._answers.get(id(props))
        if found is not None and found[0] is props:
            return found[1]
        answer = self._deserialize(props)
        with self._lock:
            if len(self._answers) >= MAX_ENTRIES:
                self._answers.clear()
            self._answers[id(props)] = (props, answer)  # holding `props` keeps its id from being reused
        return answer


def install() -> bool:
    """Give pulumi-policy's analyzer module the remembering functions; False (and no change) if it lacks a name."""
    import pulumi_policy.policy as analyzer

    if not all(hasattr(analyzer, name) for name in ("json_format", "deserialize_properties", "signature")):
        return False
    analyzer.json_format = RememberingJsonFormat()
    analyzer.deserialize_properties = RememberingDeserializer(analyzer.deserialize_properties)
    analyzer.signature = functools.lru_cache(maxsize=None)(inspect.signature)
    return True
