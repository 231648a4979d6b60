"""A weekly maintenance window in UTC, for the managed services that restart on their own schedule.

GKE upgrades the control plane and nodes, and Cloud SQL restarts for updates, whenever it suits
them unless a window says when. One window serves both, each in its cloud's form:
- GKE: a recurring window (RFC 5545 RRULE, UTC). GKE wants at least 48 hours of window in any
  32 days, in stretches of at least 4 hours ("Configure maintenance windows", read 2026-12).
- Cloud SQL: one hour a week, a day (1-7, Monday first) and an hour (UTC), on the "stable" track
  (updates two weeks after notice) (provider docs for settings.maintenance_window, read 2026-12).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MIN_HOURS = 4  # GKE counts only stretches of at least four hours
MIN_HOURS_PER_32_DAYS = 48
_ANCHOR_MONDAY = datetime(2026, 1, 5)  # a Monday: GKE's window starts from a date, then recurs


@dataclass(frozen=True)
class MaintenanceWindow:
    days: tuple[str, ...]
    """Weekdays in RRULE spelling (MO ... SU), in UTC."""
    start_hour: int
    """Hour of day, UTC, when the window opens."""
    hours: int
    """How long it stays open on each of those days."""

    def __post_init__(self) -> None:
        if not self.days or any(day not in WEEKDAYS for day in self.days) or len(set(self.days)) != len(self.days):
            raise ValueError(f"maintenance days must be distinct weekdays among {WEEKDAYS}, got {self.days}")
        if not 0 <= self.start_hour <= 23:
            raise ValueError(f"maintenance start_hour must be 0-23 (UTC), got {self.start_hour}")
        if not MIN_HOURS <= self.hours <= 24:
            raise ValueError(f"a maintenance window lasts {MIN_HOURS} to 24 hours, got {self.hours}")
        # Any 32 days hold every weekday at least four times.
        if 4 * len(self.days) * self.hours < MIN_HOURS_PER_32_DAYS:
            raise ValueError(
                f"GKE needs {MIN_HOURS_PER_32_DAYS} hours of maintenance window in 32 days; "
                f"{len(self.days)} day(s) x {self.hours} h give {4 * len(self.days) * self.hours}"
            )

    def ordered_days(self) -> tuple[str, ...]:
        return tuple(sorted(self.days, key=WEEKDAYS.index))

    def rrule(self) -> str:
        return f"FREQ=WEEKLY;BYDAY={','.join(self.ordered_days())}"

    def first_occurrence(self) -> tuple[datetime, datetime]:
        """Start and end of one occurrence, on a fixed date so the plan never changes by itself."""
        start = _ANCHOR_MONDAY + timedelta(days=WEEKDAYS.index(self.ordered_days()[0]), hours=self.start_hour)
        return start, start + timedelta(hours=self.hours)

    def cloud_sql_day(self) -> int:
        """Cloud SQL's day: 1 (Monday) to 7 (Sunday), the window's first day."""
        return WEEKDAYS.index(self.ordered_days()[0]) + 1
