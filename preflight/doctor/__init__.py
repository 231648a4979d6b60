"""`preflight doctor`: what the clouds' accounts need before `pulumi up`, read from the offline plan.

Quotas (preflight.doctor.quotas), prerequisites (preflight.doctor.prerequisites), the deploy and preview
identities' permissions (preflight.doctor.permissions) and hidden dependencies
(preflight.hidden_dependencies) become findings, each with what the plan needs, what the account has
("unknown (offline)" until checked against it) and a verdict; doctor exits 1 when any blocks.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from preflight.doctor.findings import STACK_WIDE, DoctorReport, Finding, render_text
from preflight.doctor.live_aws import ClientFactory, live_aws
from preflight.doctor.permissions import identities, permission_findings
from preflight.doctor.prerequisites import prerequisite_findings
from preflight.doctor.quotas import quota_findings
from preflight.doctor.targets import targets_of
from preflight.hidden_dependencies import hidden_dependencies
from preflight.plan import Plan

__all__ = ["DoctorReport", "Finding", "render_text", "run_doctor"]


def run_doctor(
    plan: Plan, today: date, clouds: Collection[str] | None = None, aws_clients: ClientFactory | None = None
) -> DoctorReport:
    """Every finding for the plan, or only those about `clouds` (stack-wide ones about no one cloud stay).

    With `aws_clients` (--live), the AWS findings a read-only call can answer are answered from the account.
    """
    generated = identities(plan)
    findings = [
        *quota_findings(plan),
        *prerequisite_findings(plan, today),
        *permission_findings(plan, generated),
        *_hidden(plan, today),
    ]
    if clouds:
        cloud_of = {name: target.cloud for name, target in targets_of(plan).items()}

        def keep(finding: Finding) -> bool:
            named = [cloud_of.get(t.strip()) for t in finding.target.split(",")]
            cloud = finding.cloud or next((c for c in named if c), None) or finding.target.split(" ")[0]
            return cloud in clouds or cloud == STACK_WIDE

        findings = [finding for finding in findings if keep(finding)]
    if aws_clients is not None:
        findings = live_aws(findings, aws_clients)
    documents = {cloud: docs for cloud, docs in generated.documents.items() if not clouds or cloud in clouds}
    return DoctorReport(plan.stack, tuple(findings), live=aws_clients is not None, permissions=documents)


def _hidden(plan: Plan, today: date) -> list[Finding]:
    """A reader that names a resource without depending on it races it on a real deploy: that blocks."""
    findings = []
    for warning in hidden_dependencies(plan, today):
        reader = plan.get(warning.urn) if warning.urn else None
        target = (plan.target_of(reader) if reader else None) or STACK_WIDE
        findings.append(
            Finding(
                target,
                "hidden-dependency",
                reader.name if reader else "?",
                "a dependency edge",
                "none",
                "block",
                f"{warning.message} ({warning.urn})",
            )
        )
    if not findings:
        findings.append(
            Finding(
                STACK_WIDE,
                "hidden-dependency",
                "inputs naming another resource",
                "a dependency edge for each",
                "every one has it",
                "ok",
            )
        )
    return findings
