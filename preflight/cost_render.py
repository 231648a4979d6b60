"""The cost report as text: a table per target, the spot saving, right-sizing, what is unpriced, the assumptions."""

from __future__ import annotations

from preflight.cost_model import CostReport, TargetCost, saving_percent


def money(amount: float) -> str:
    return f"{amount:,.2f}"


def _saving(target: TargetCost) -> str:
    _, spot_peak, _, on_demand_peak = target.spot_totals()
    percent = saving_percent(spot_peak, on_demand_peak)
    if percent is None:
        return "no spot capacity"
    return f"{percent:g} % ({money(spot_peak)} spot vs {money(on_demand_peak)} on demand)"


def render_cost(report: CostReport) -> str:
    lines = [
        f"{report.project}/{report.stack}: monthly cost in {report.currency}, "
        f"list prices read {report.prices_read} (pricing/data/prices.yaml)",
        "",
        f"{'target':<24}{'cloud':<7}{'region':<16}{'idle':>12}{'peak':>12}   GPU spot saving at peak",
    ]
    for target in report.targets:
        lines.append(
            f"{target.name:<24}{target.cloud:<7}{target.region:<16}"
            f"{money(target.idle):>12}{money(target.peak):>12}   {_saving(target)}"
        )
    lines.append(f"{'total':<47}{money(report.idle):>12}{money(report.peak):>12}")
    for target in report.targets:
        lines += ["", f"{target.name} ({target.cloud} {target.region})"]
        for item in sorted(target.items, key=lambda i: (-i.peak, i.what)):
            if item.unpriced:
                lines.append(f"  {'UNPRICED':>10} {'':>10}  {item.what}: {item.unpriced}")
                continue
            on_demand = ""
            if item.spot:
                on_demand = f"  (on demand {money(item.on_demand_idle)} / {money(item.on_demand_peak)})"
            lines.append(f"  {money(item.idle):>10} {money(item.peak):>10}  {item.what}{on_demand}")
        if target.estimated_regions:
            lines.append(
                f"  priced at the default region's figure (no {target.region} price in the table): "
                + ", ".join(target.estimated_regions)
            )
    if report.right_sizing:
        lines += ["", "Right-sizing: cheaper machines with the same GPUs"]
        for finding in report.right_sizing:
            lines.append(
                f"  {finding.target} pool {finding.pool}: {finding.machine_type} -> {finding.cheaper} "
                f"({finding.accelerator}) saves {money(finding.saving_idle)} idle / {money(finding.saving_peak)} "
                f"peak a month; {finding.detail}"
            )
    if report.unpriced:
        lines += ["", f"{len(report.unpriced)} item(s) unpriced and left out of the totals: see UNPRICED above"]
    lines += ["", "Assumptions:"] + [f"  - {line}" for line in report.assumptions.lines()]
    return "\n".join(lines)
