"""The drill's report as text for a terminal."""

from __future__ import annotations

from mlplatform_client.regions import continent

from preflight.drill.report import DrillReport
from stacks.dns_config import PROPAGATION_ALLOWANCE


def _baseline(report: DrillReport) -> str:
    """Capacity with nothing failed, stated before any failure is blamed for anything."""
    if not report.serves_models:
        return "Before any failure: capacity not judged: the stack serves no models (mlplatform:models is empty)"
    if report.baseline_capacity_rps is None:
        return "Before any failure: capacity not worked out"
    enough = "enough" if report.baseline_verdict == "ok" else "NOT ENOUGH, with nothing failed"
    return (
        f"Before any failure: the answered targets carry {report.baseline_capacity_rps} rps,"
        f" peak is {report.dns.peak_rps} rps: {enough}"
    )


def render_text(report: DrillReport) -> str:
    dns = report.dns
    lost = ", ".join(report.failed)
    lines = [
        f"{report.project}/{report.stack}: drill, {lost} {'fails' if len(report.failed) == 1 else 'fail'}"
        f" ({report.mode} routing over {len(report.targets)} targets: {', '.join(report.targets)})",
        "",
        f"Clients move within {dns.failover_seconds} s (worst case) = health check every"
        f" {dns.health_check_interval} s x {dns.failure_threshold} failures + TTL {dns.ttl} s"
        f" + {PROPAGATION_ALLOWANCE} s for Route 53 to act on it",
        "",
        _baseline(report),
        "",
        "Answers per client region after the failure:",
    ]
    width = max(len(region) for region in report.answers)
    for region, given in report.answers.items():
        where = f"{region:<{width}}  {continent(region)}"
        if not given:
            lines.append(f"  {where}  NO ANSWER")
            continue
        shown = "; ".join(
            f"{a.target} ({a.via})" if a.share == 1.0 else f"{a.target} {a.share:.0%} ({a.via})" for a in given
        )
        lines.append(f"  {where}  {shown}")
    lines.append("")
    if report.no_answer:
        lines.append(
            f"NO ANSWER for {len(report.no_answer)} of {len(report.answers)} client regions:"
            f" {', '.join(report.no_answer)}"
        )
    else:
        lines.append(f"Every client region ({len(report.answers)}) still gets an answer.")
    lines.append("")
    if report.serves_models:
        enough = "enough" if report.capacity_rps >= dns.peak_rps else "NOT ENOUGH"
        lines.append(f"Capacity: survivors carry {report.capacity_rps} rps, peak is {dns.peak_rps} rps: {enough}")
        if report.verdict == "insufficient-before-failure":
            lines.append("  the failure changes nothing here: the shortfall is there before it (see above)")
    else:
        lines.append("Capacity: not judged (no models)")
    lines.append(f"  per target: {report.formula}")
    if report.add_capacity_seconds is not None:
        lines.append(
            f"  at their maximum replicas only once new GPU nodes serve: about {report.add_capacity_seconds} s each"
            f" (preflight coldstart), so {report.full_capacity_seconds} s after the failure at worst"
        )
    lines.append(f"  answered survivors: {', '.join(report.serving) or 'none'}")
    if report.idle:
        lines.append(f"  not counted (alive but not answered under {report.mode} routing): {', '.join(report.idle)}")
    if report.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in report.notes)
    lines.append("")
    lines.append(f"Verdict: {report.verdict}")
    return "\n".join(lines)
