"""Model sync config (`mlplatform:modelSync`): which target's bucket is the one writer, and how often replicas catch up.

    mlplatform:modelSync:
      primary: aws-us-east-1     # default: the first target
      schedule: "*/10 * * * *"   # a Kubernetes CronJob schedule (five fields, or @hourly, @daily, ...)
      enabled: true              # default; a stack with one target has nothing to sync and runs none

Models are published to the primary's bucket only; docs/MODEL_SYNC.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.model_sync.contract import DEFAULT_SCHEDULE
from stacks.validate import ConfigError, boolean, mapping, string

SYNC_KEYS = {"primary", "schedule", "enabled"}
# The macros Kubernetes' CronJob accepts besides five fields (kubernetes.io/docs/concepts/workloads/controllers/
# cron-jobs, "Schedule syntax"); @every and TZ= are not allowed there.
MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
# (name, lowest, highest, names allowed) per field, in order.
FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_PART = re.compile(r"^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?$")


@dataclass(frozen=True)
class SyncConfig:
    primary: str
    schedule: str = DEFAULT_SCHEDULE


def parse_sync(key: str, value: Any, targets: Sequence[str]) -> SyncConfig | None:
    """`targets` are the stack's target names, in order. None: no sync (one target, or turned off)."""
    fields = mapping(key, value if value is not None else {}, SYNC_KEYS)
    if not boolean(f"{key}.enabled", fields.get("enabled", True)):
        return None
    primary = string(f"{key}.primary", fields.get("primary", targets[0]))
    if primary not in targets:
        raise ConfigError(f"{key}.primary", f"{primary!r} is not a target of this stack ({', '.join(targets)})")
    if len(targets) < 2:
        if "primary" in fields or "schedule" in fields:
            raise ConfigError(key, "a stack with one target has no replica to sync; remove the key")
        return None
    schedule = string(f"{key}.schedule", fields.get("schedule", DEFAULT_SCHEDULE)).strip()
    problem = schedule_problem(schedule)
    if problem:
        raise ConfigError(f"{key}.schedule", f"{schedule!r}: {problem}")
    return SyncConfig(primary=primary, schedule=schedule)


def schedule_problem(schedule: str) -> str | None:
    """Why Kubernetes would refuse the CronJob schedule, or None."""
    if schedule.startswith("@"):
        return None if schedule in MACROS else f"unknown macro (one of {', '.join(MACROS)})"
    parts = schedule.split()
    if len(parts) != len(FIELDS):
        return "expected five fields: minute hour day-of-month month day-of-week"
    for text, (name, low, high, names) in zip(parts, FIELDS, strict=True):
        for item in text.split(","):
            if not _PART.fullmatch(item):
                return f"{name} field {text!r} is not cron syntax"
            base, _, step = item.partition("/")
            if step and int(step) < 1:
                return f"{name} field {text!r}: a step must be at least 1"
            for bound in base.split("-") if base not in ("*", "?") else ():
                if bound.upper() in names:
                    continue
                if not bound.isdigit() or not low <= int(bound) <= high:
                    return f"{name} field {text!r}: {bound!r} is not within {low}-{high}"
    return None
