"""The cost of a change: two cost reports (base branch, this branch) as monthly differences.

Per target and per resource type, at idle and at peak; rendered as Markdown for a pull
request comment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from preflight.cost_model import CostReport


@dataclass(frozen=True)
class Delta:
    name: str
    base_idle: float
    base_peak: float
    head_idle: float
    head_peak: float

    @property
    def idle(self) -> float:
        return self.head_idle - self.base_idle

    @property
    def peak(self) -> float:
        return self.head_peak - self.base_peak

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base": {"idle": round(self.base_idle, 2), "peak": round(self.base_peak, 2)},
            "head": {"idle": round(self.head_idle, 2), "peak": round(self.head_peak, 2)},
            "change": {"idle": round(self.idle, 2), "peak": round(self.peak, 2)},
        }


@dataclass(frozen=True)
class CostDiff:
    currency: str
    total: Delta
    targets: tuple[Delta, ...]
    resource_types: tuple[Delta, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "total": self.total.to_json(),
            "targets": [delta.to_json() for delta in self.targets],
            "resourceTypes": [delta.to_json() for delta in self.resource_types],
        }


def _sums(report: CostReport, key: str) -> dict[str, tuple[float, float]]:
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for target in report.targets:
        for item in target.items:
            name = target.name if key == "target" else item.resource_type
            sums[name][0] += item.idle
            sums[name][1] += item.peak
    return {name: (idle, peak) for name, (idle, peak) in sums.items()}


def _deltas(base: CostReport, head: CostReport, key: str) -> tuple[Delta, ...]:
    before, after = _sums(base, key), _sums(head, key)
    deltas = [
        Delta(name, *before.get(name, (0.0, 0.0)), *after.get(name, (0.0, 0.0))) for name in sorted({*before, *after})
    ]
    return tuple(d for d in deltas if abs(d.idle) >= 0.005 or abs(d.peak) >= 0.005)


def diff_costs(base: CostReport, head: CostReport) -> CostDiff:
    total = Delta("total", base.idle, base.peak, head.idle, head.peak)
    return CostDiff(head.currency, total, _deltas(base, head, "target"), _deltas(base, head, "type"))


def _signed(amount: float) -> str:
    return f"{'+' if amount > 0 else ''}{amount:,.2f}"


def render_markdown(diff: CostDiff, base_name: str) -> str:
    """A pull-request comment: the total change, then the tables."""
    total = diff.total
    lines = [
        "### Monthly cost of this change (preflight)",
        "",
        f"Against `{base_name}`: **{_signed(total.idle)} {diff.currency} idle**, "
        f"**{_signed(total.peak)} {diff.currency} at peak** a month "
        f"(now {total.head_idle:,.2f} idle / {total.head_peak:,.2f} peak).",
    ]
    for title, deltas in (("Per target", diff.targets), ("Per resource type", diff.resource_types)):
        if not deltas:
            continue
        lines += ["", f"| {title.lower().removeprefix('per ')} | idle | peak |", "|---|---:|---:|"]
        lines += [f"| {d.name} | {_signed(d.idle)} | {_signed(d.peak)} |" for d in deltas]
    if not diff.targets:
        lines += ["", "No change in cost."]
    return "\n".join(lines)
