"""`python -m preflight drill`: what clients get when targets fail, worked out on the plan.

The routing set is read from the plan's Route 53 records (cross-checked with the stack's
`mlplatform:dns` config), the failed targets' health checks are taken as failing, and for
every AWS region as a client location the drill works out which targets Route 53 still
answers with, the worst-case time until clients move, and whether the targets still being
answered can carry the configured peak traffic at their maximum replicas.

One module a concern: answers.py (Route 53's answer semantics, pure functions), routing.py (the
routing set read from the plan and cross-checked with the config), capacity.py, report.py (the
result and its verdict), render.py (text) and run.py (from the stack and its plan).
"""

from preflight.drill.answers import (
    CLIENT_REGIONS,
    Answer,
    Location,
    Routing,
    answers,
    failover_answer,
    geo_answer,
    latency_answer,
    serving_targets,
    weighted_answer,
)
from preflight.drill.capacity import capacity_formula, model_replicas, target_capacity_rps
from preflight.drill.render import render_text
from preflight.drill.report import EXIT_CLIENTS_HURT, EXIT_OK, DrillReport
from preflight.drill.routing import read_routing
from preflight.drill.run import drill_config, run_drill

__all__ = [
    "CLIENT_REGIONS",
    "EXIT_CLIENTS_HURT",
    "EXIT_OK",
    "Answer",
    "DrillReport",
    "Location",
    "Routing",
    "answers",
    "capacity_formula",
    "drill_config",
    "failover_answer",
    "geo_answer",
    "latency_answer",
    "model_replicas",
    "read_routing",
    "render_text",
    "run_drill",
    "serving_targets",
    "target_capacity_rps",
    "weighted_answer",
]
