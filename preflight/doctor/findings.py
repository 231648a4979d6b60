"""One line of `preflight doctor`: what the plan needs, what the account has, and whether that blocks a deploy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["ok", "check", "warn", "block"]
# ok: nothing to do; check: the account must have it (asked with --live, or by hand); warn: a deploy works but
# should not go out like this; block: a deploy would fail or doctor cannot tell what it needs.
VERDICTS: tuple[Verdict, ...] = ("ok", "check", "warn", "block")
OFFLINE = "unknown (offline)"
STACK_WIDE = "stack-wide"


@dataclass(frozen=True)
class Finding:
    target: str  # a target name, "gcp (all regions)" for project-wide quotas, or STACK_WIDE
    section: str  # "quota", "prerequisite", "hidden-dependency", "permission"
    item: str  # the quota, API, provider, role or check, by the cloud's own name
    needed: str
    have: str
    verdict: Verdict
    detail: str = ""  # what to do, with the source where one applies
    cloud: str | None = None  # for stack-wide findings about one cloud (an AWS service-linked role)
    ref: Mapping[str, Any] = field(default_factory=dict, compare=False)  # what a live check asks about it

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "section": self.section,
            "item": self.item,
            "needed": self.needed,
            "have": self.have,
            "verdict": self.verdict,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class DoctorReport:
    stack: str
    findings: tuple[Finding, ...]
    live: bool = False
    permissions: Mapping[str, Any] = field(default_factory=dict)  # the generated identities, per cloud

    @property
    def counts(self) -> dict[Verdict, int]:
        found = Counter(finding.verdict for finding in self.findings)
        return {verdict: found.get(verdict, 0) for verdict in VERDICTS}

    @property
    def blocking(self) -> bool:
        return self.counts["block"] > 0

    def summary(self) -> str:
        """The one line `make plan` prints."""
        counts = self.counts
        sections = Counter(finding.section for finding in self.findings)
        what = ", ".join(f"{count} {section}" for section, count in sorted(sections.items()))
        mode = "live" if self.live else "offline"
        state = "BLOCKED" if self.blocking else "nothing blocks"
        return (
            f"doctor {self.stack} ({mode}): {state}: {counts['block']} blocking, {counts['warn']} warning(s), "
            f"{counts['check']} to check with the account, {counts['ok']} ok ({what})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "live": self.live,
            "blocking": self.blocking,
            "counts": dict(self.counts),
            "summary": self.summary(),
            "findings": [finding.to_json() for finding in self.findings],
            "permissions": dict(self.permissions),
        }


def render_text(report: DoctorReport) -> str:
    """A table per target (needed | have | verdict), blocking lines first, then the summary."""
    order = {verdict: index for index, verdict in enumerate(reversed(VERDICTS))}
    targets: dict[str, list[Finding]] = {}
    for finding in report.findings:
        targets.setdefault(finding.target, []).append(finding)
    lines: list[str] = []
    for target in sorted(targets, key=lambda name: (name == STACK_WIDE, name)):
        rows = sorted(targets[target], key=lambda f: (order[f.verdict], f.section, f.item))
        lines.append(f"{target}:")
        lines.extend(_table(rows))
        lines.append("")
    lines.append(report.summary())
    return "\n".join(lines)


def _table(rows: Sequence[Finding]) -> list[str]:
    header = ("verdict", "section", "item", "needed", "have")
    cells = [(f.verdict.upper(), f.section, f.item, f.needed, f.have) for f in rows]
    widths = [max(len(str(row[i])) for row in [header, *cells]) for i in range(len(header))]
    lines = ["  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for finding, row in zip(rows, cells, strict=True):
        lines.append("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if finding.detail and finding.verdict != "ok":
            lines.append(f"      {finding.detail}")
    return lines
