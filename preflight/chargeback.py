"""`preflight chargeback`: a month's cost per team, model and version, from the central Prometheus.

    python -m preflight chargeback --prometheus http://localhost:9090 --month 2026-11            # a table
    python -m preflight chargeback --prometheus URL --month 2026-11 --format csv > 2026-11.csv
    python -m preflight chargeback --prometheus URL --month 2026-11 --format json

Reads `mlplatform:cost_model_dollars_per_hour{model, version, team, target, cloud}` (rules/cost.yaml, remote-written
by every cluster) and sums it hour by hour over the month: a subquery `[<hours>h:1h]` evaluated one second before the
month ends takes each series' value at the start of every hour of the month (the hour it prices), so a month of
0.5 USD an hour is 0.5 x its hours. Hours without a sample (a model not deployed, a cluster not writing) count
nothing. The central Prometheus must keep the month (mlplatform:observability.retentionDays, 15 by default: raise it
to 45 to charge back a whole month after it ends). Reach it with
`kubectl -n monitoring port-forward svc/mlplatform-central 9090` in the central cluster.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import io
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from preflight.errors import InputError
from preflight.outputs import json_text

SERIES = "mlplatform:cost_model_dollars_per_hour"
BY = ("team", "model", "version", "target", "cloud")
TIMEOUT_SECONDS = 60.0
FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class Charge:
    team: str
    model: str
    version: str
    target: str
    cloud: str
    dollars: float
    hours: int  # hours of the month with a figure


@dataclass(frozen=True)
class Chargeback:
    month: str
    start: str  # ISO 8601, UTC
    end: str
    charges: tuple[Charge, ...]

    def teams(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for charge in self.charges:
            totals[charge.team] = totals.get(charge.team, 0.0) + charge.dollars
        return dict(sorted(totals.items()))

    @property
    def total(self) -> float:
        return sum(charge.dollars for charge in self.charges)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """`YYYY-MM` -> its first instant and the next month's, UTC."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InputError(f"--month: expected YYYY-MM, got {month!r}") from None
    days = calendar.monthrange(start.year, start.month)[1]
    return start, start + timedelta(days=days)


def _query(prometheus: str, expr: str, at: datetime) -> list[dict[str, Any]]:
    url = f"{prometheus.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": at.timestamp()})
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            document = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise InputError(f"--prometheus {prometheus}: {error}") from None
    if document.get("status") != "success":
        raise InputError(f"--prometheus {prometheus}: {document.get('error', 'query failed')}")
    return list(document["data"]["result"])


def _by(labels: dict[str, str]) -> tuple[str, ...]:
    return tuple(labels.get(label, "") for label in BY)


def chargeback(prometheus: str, month: str) -> Chargeback:
    if not prometheus.startswith(("http://", "https://")):
        raise InputError(f"--prometheus: expected an http(s) URL, got {prometheus!r}")
    start, end = month_bounds(month)
    hours = int((end - start).total_seconds() // 3600)
    at = end - timedelta(seconds=1)  # the subquery's steps are then the month's whole hours, its first included
    window = f"[{hours}h:1h]"
    dollars = _query(prometheus, f"sum by ({', '.join(BY)}) (sum_over_time({SERIES}{window}))", at)
    counts = _query(prometheus, f"max by ({', '.join(BY)}) (count_over_time({SERIES}{window}))", at)
    seen = {_by(item["metric"]): int(float(item["value"][1])) for item in counts}
    charges = []
    for item in dollars:
        value = float(item["value"][1])
        if not math.isfinite(value):
            raise InputError(f"--prometheus {prometheus}: {SERIES} holds {value}")
        key = _by(item["metric"])
        team, model, version, target, cloud = key
        charges.append(Charge(team, model, version, target, cloud, dollars=value, hours=seen.get(key, 0)))
    charges.sort(key=lambda c: (c.team, c.model, c.version, c.target))
    return Chargeback(month, start.isoformat(), end.isoformat(), tuple(charges))


def render_csv(report: Chargeback) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*BY, "dollars", "hours"])
    for charge in report.charges:
        writer.writerow([*(getattr(charge, label) for label in BY), f"{charge.dollars:.2f}", charge.hours])
    return out.getvalue()


def render_json(report: Chargeback) -> str:
    document = {
        "month": report.month,
        "start": report.start,
        "end": report.end,
        "charges": [{**asdict(c), "dollars": round(c.dollars, 2)} for c in report.charges],
        "teams": {team: round(value, 2) for team, value in report.teams().items()},
        "total": round(report.total, 2),
    }
    return json_text(document) + "\n"


def render_table(report: Chargeback) -> str:
    lines = [f"Chargeback for {report.month} (USD, node cost of each model's serving pods; docs/COST.md)"]
    lines.append(f"{'team':<16} {'model':<24} {'version':<10} {'target':<24} {'dollars':>12} {'hours':>6}")
    for c in report.charges:
        lines.append(f"{c.team:<16} {c.model:<24} {c.version:<10} {c.target:<24} {c.dollars:>12,.2f} {c.hours:>6}")
    for team, value in report.teams().items():
        lines.append(f"team {team}: {value:,.2f}")
    lines.append(f"total: {report.total:,.2f}")
    return "\n".join(lines) + "\n"


RENDER = {"table": render_table, "csv": render_csv, "json": render_json}


def add_chargeback_command(commands: Any) -> None:
    """Add `chargeback` to preflight's subcommands."""
    parser = commands.add_parser("chargeback", help="a month's cost per team, model and version, from Prometheus")
    parser.add_argument(
        "--prometheus", required=True, metavar="URL", help="the central Prometheus, e.g. port-forwarded"
    )
    parser.add_argument("--month", required=True, metavar="YYYY-MM", help="the calendar month, UTC")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default), csv or json")
    parser.set_defaults(handler=chargeback_command)


def chargeback_command(args: argparse.Namespace) -> int:
    report = chargeback(args.prometheus, args.month)
    print(RENDER[args.format](report), end="")
    return 0
