"""A GPU replica serves within the stack's cold-start budget (mandatory in prod, advisory elsewhere).

Every spot reclaim, scale-up from zero and failover that needs capacity waits for a replica to start on a new node.
The program writes each model Deployment's figure and the stack's budget (`mlplatform:coldStartBudgetSeconds`) as
annotations (components/cold_start.py works the figure out from a sourced table); this pack cannot import the
program, so it reads them there. A Deployment without the annotations is not judged.

Two policies with one check: a pack's enforcement level is per policy, and the budget binds in the protected
environments (prod) while a dev stack only hears about it.
"""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from rules.environments import protected_environments_schema, protected_in_stack
from rules.props import field, mapping

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
COLD_START = "mlplatform.io/cold-start-seconds"
BUDGET = "mlplatform.io/cold-start-budget-seconds"


def _seconds(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _checker(protected_only: bool) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def check(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        if bool(protected_in_stack(args)) != protected_only:
            return
        for resource in args.resources:
            if resource.resource_type != DEPLOYMENT:
                continue
            annotations = mapping(field(resource.props, "metadata", "annotations"))
            seconds, budget = _seconds(annotations.get(COLD_START)), _seconds(annotations.get(BUDGET))
            if seconds is not None and budget is not None and seconds > budget:
                report_violation(
                    f"{resource.name}: a replica takes about {seconds} s to serve on a new GPU node, over the "
                    f"{budget} s budget (mlplatform:coldStartBudgetSeconds); `preflight coldstart` shows the phases.",
                    resource.urn,
                )

    return check


cold_start_within_budget = StackValidationPolicy(
    name="cold-start-within-budget",
    description="In prod, a GPU replica serves on a new node within the stack's cold-start budget.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_checker(protected_only=True),
    config_schema=protected_environments_schema("GPU replicas must start within the cold-start budget"),
)

cold_start_within_budget_advisory = StackValidationPolicy(
    name="cold-start-within-budget-advisory",
    description="Outside prod, a GPU replica that takes longer than the cold-start budget is reported.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_checker(protected_only=False),
    config_schema=protected_environments_schema("are judged by the mandatory cold-start policy instead"),
)

POLICIES = [cold_start_within_budget, cold_start_within_budget_advisory]
