"""Hidden dependencies: an input that names another resource without depending on it.

A name rebuilt from config (`f"{project}.svc.id.goog"`) instead of taken from the output
of the resource that makes it loses the edge between the two: the engine may create the
reader first, and the cloud answers "does not exist". Mocks accept either order, so this
check looks for the pattern itself: resource B's input carries a value that identifies
resource A (one of A's distinctive outputs, whole or as a piece of a member string, ARN
or policy document) while A is not among B's dependencies, directly or through them, and
B is not among A's (A made after B on purpose, with a name fixed in advance).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from preflight.mock_outputs import MockContext, plausible_outputs
from preflight.plan import Plan, PlannedResource, PlanWarning
from preflight.recorder import SECRET, UNKNOWN

CHECK = "hidden-dependency"
# Shorter values (namespaces, ports, zone names) are too common to tell one resource by.
MIN_LENGTH = 12
# An identifier has structure: a dot, slash, colon or hyphen (ARNs, pools, ids, host names).
_STRUCTURED = re.compile(r"[./:-]")
# Where a longer string is cut into the pieces that may each name a resource.
_SEPARATORS = re.compile(r"[\s\"',\[\]()=;{}]+")
# Top-level inputs by which a resource names itself, and nested ones by which it names what
# it makes (a GKE cluster its workload pool). Other inputs (a trust policy's subject, a key
# policy's repository prefix, a lifecycle rule's name) only refer to things.
NAMING_KEYS = frozenset({"name", "bucket", "accountId", "roleName"})
NESTED_NAMING_KEYS = frozenset({"workloadPool"})
# Names looked up when they are used, not when a reader is created: a CNAME or a certificate
# may name a host before its record exists.
RUNTIME_NAMED_TYPES = frozenset({"aws:route53/record:Record"})
# Prose: a description may mention anything.
PROSE_KEYS = frozenset({"description", "comment"})


def hidden_dependencies(plan: Plan, today: date) -> list[PlanWarning]:
    """One warning per (reader, named resource) pair that has no dependency path."""
    owners = _identifying_values(plan)
    closure = _DependencyClosure(plan)
    warnings: list[PlanWarning] = []
    for reader in plan.resources:
        if not _in_cloud(reader):
            continue
        named: dict[str, str] = {}
        for piece in _pieces(reader.inputs):
            owner = owners.get(piece)
            if owner is None or owner.urn == reader.urn or owner.urn in named or _cluster_scoped(owner, reader):
                continue
            # The other way round is a choice, not a loss: the named resource waits for the reader on purpose
            # (an EKS log group made before its cluster, a bucket policy before the trail it admits).
            if not closure.reaches(reader, owner) and not closure.reaches(owner, reader):
                named[owner.urn] = piece
        warnings.extend(
            PlanWarning(
                CHECK,
                f"{reader.type} {reader.name!r} names {owner_type(plan, urn)} {plan_name(plan, urn)!r} ({value})"
                " without depending on it: take the value from the resource's output",
                reader.urn,
            )
            for urn, value in named.items()
        )
    return warnings


def owner_type(plan: Plan, urn: str) -> str:
    resource = plan.get(urn)
    return resource.type if resource else urn


def plan_name(plan: Plan, urn: str) -> str:
    resource = plan.get(urn)
    return resource.name if resource else urn


def _identifying_values(plan: Plan) -> dict[str, PlannedResource]:
    """Values that point at exactly one custom resource: its distinctive inputs and computed outputs.

    A value found in more than one resource (a tag, a region, a project id in every
    provider) identifies none; neither does one its provider was configured with.
    """
    found: dict[str, set[str]] = {}
    for resource in plan.resources:
        if not _in_cloud(resource) or resource.type.startswith("pulumi:providers:"):
            continue
        provider = plan.get(resource.provider) if resource.provider else None
        provider_inputs = provider.inputs if provider else {}
        context = MockContext(resource.urn, resource.type, resource.name, resource.inputs, provider_inputs)
        resource_id, outputs = plausible_outputs(context)
        shared = set(_leaves(provider_inputs))
        given = set(_leaves(resource.inputs))
        computed = {value for value in _leaves(outputs) if value not in given}
        named = set(_nested_named(resource.inputs))
        if resource.type not in RUNTIME_NAMED_TYPES:
            named.update(str(v) for k, v in resource.inputs.items() if k in NAMING_KEYS and isinstance(v, str))
        for value in {resource_id, *named, *computed}:
            if _distinctive(value) and value not in shared:
                found.setdefault(value, set()).add(resource.urn)
    owners: dict[str, PlannedResource] = {}
    for value, urns in found.items():
        if len(urns) == 1:
            owner = plan.get(next(iter(urns)))
            if owner is not None:
                owners[value] = owner
    return owners


def _cluster_scoped(owner: PlannedResource, reader: PlannedResource) -> bool:
    """A Kubernetes object's name lives inside its cluster: only another Kubernetes object can need it."""
    return owner.type.startswith("kubernetes:") and not reader.type.startswith("kubernetes:")


def _in_cloud(resource: PlannedResource) -> bool:
    """Cloud resources, and remote components (pulumi-eks's Cluster), which stand for theirs offline."""
    return resource.custom or resource.type.split(":")[0] not in ("mlplatform", "pulumi")


def _distinctive(value: str) -> bool:
    return len(value) >= MIN_LENGTH and value not in (SECRET, UNKNOWN) and bool(_STRUCTURED.search(value))


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in PROSE_KEYS:
                yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)


def _nested_named(value: Any) -> Iterator[str]:
    """The string inputs at a nested naming key, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in NESTED_NAMING_KEYS and isinstance(item, str):
                yield item
            else:
                yield from _nested_named(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nested_named(item)


def _pieces(inputs: dict[str, Any]) -> set[str]:
    """Each input string whole, cut at separators and at slashes, and each piece after a `kind:` prefix."""
    pieces: set[str] = set()
    for leaf in _leaves(inputs):
        pieces.add(leaf)
        for piece in _SEPARATORS.split(leaf):
            pieces.add(piece)
            pieces.update(piece.split("/"))
            head, _, rest = piece.partition(":")
            if rest and head.isalpha():
                pieces.add(rest)
    return pieces


class _DependencyClosure:
    """Whether B waits for A: through its dependencies, its provider, and components' children."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._children: dict[str, list[str]] = {}
        for resource in plan.resources:
            if resource.parent:
                self._children.setdefault(resource.parent, []).append(resource.urn)
        self._memo: dict[str, frozenset[str]] = {}

    def reaches(self, reader: PlannedResource, owner: PlannedResource) -> bool:
        return owner.urn in self._waits_for(reader.urn)

    def _waits_for(self, urn: str) -> frozenset[str]:
        if urn in self._memo:
            return self._memo[urn]
        self._memo[urn] = frozenset()  # cycles cannot occur in a valid plan; this only guards recursion
        resource = self._plan.get(urn)
        found: set[str] = set()
        if resource is not None:
            direct = [*resource.dependencies, *([resource.provider] if resource.provider else [])]
            for dependency in direct:
                for member in self._with_descendants(dependency):
                    found.add(member)
                    found.update(self._waits_for(member))
        self._memo[urn] = frozenset(found)
        return self._memo[urn]

    def _with_descendants(self, urn: str) -> Iterator[str]:
        yield urn
        for child in self._children.get(urn, []):
            yield from self._with_descendants(child)
