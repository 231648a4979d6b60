"""What the policy packs said about a plan: violations per resource, and whether any blocks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from preflight.plan import Plan


@dataclass(frozen=True)
class Violation:
    pack: str
    policy: str
    urn: str
    message: str
    level: str  # mandatory or advisory

    def to_json(self) -> dict[str, str]:
        return {"pack": self.pack, "policy": self.policy, "urn": self.urn, "message": self.message, "level": self.level}


@dataclass(frozen=True)
class PolicyReport:
    packs: tuple[str, ...]
    resources: int
    violations: tuple[Violation, ...]

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.level == "mandatory")

    def to_json(self) -> dict[str, Any]:
        return {
            "packs": list(self.packs),
            "resources": self.resources,
            "violations": [violation.to_json() for violation in self.violations],
        }


def render_text(report: PolicyReport, plan: Plan) -> str:
    """One block per resource with violations, mandatory ones first; a summary line on top."""
    if not report.packs:
        return "No policy pack was run (the project has no policies/ directory)."
    advisory = len(report.violations) - len(report.mandatory)
    lines = [
        f"{plan.project}/{plan.stack}: {report.resources} resources checked by policy pack(s) "
        f"{', '.join(report.packs)}: {len(report.mandatory)} mandatory, {advisory} advisory violation(s)"
    ]
    by_urn: dict[str, list[Violation]] = defaultdict(list)
    for violation in report.violations:
        by_urn[violation.urn].append(violation)
    order = sorted(by_urn, key=lambda urn: (all(v.level != "mandatory" for v in by_urn[urn]), urn))
    for urn in order:
        resource = plan.get(urn)
        lines.append("")
        lines.append(f"{resource.type} {resource.name}" if resource else (urn or "(the stack)"))
        for violation in sorted(by_urn[urn], key=lambda v: (v.level != "mandatory", v.policy)):
            detail = violation.message.splitlines()
            lines.append(f"  [{violation.level}] {violation.pack}/{violation.policy}: {detail[-1] if detail else ''}")
    return "\n".join(lines)
