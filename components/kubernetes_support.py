"""Which Kubernetes minor each cloud supports on a given day, from a sourced, dated table.

Why it exists: mocks accept any version, but a real `pulumi up` on a minor past standard support
either fails (AKS refuses it without Premium and long-term support) or starts paying extended
support (EKS at six times the control-plane price). The stack config, `preflight plan` and
`preflight cost` all judge a version against the same table, components/data/kubernetes_support.yaml,
where every cloud names its source page and the month it was read.

A minor is in standard support on day d when `released <= d < standard_end`, and in extended
support when `standard_end <= d < extended_end`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

Cloud = Literal["aws", "gcp", "azure"]
CLOUDS: tuple[Cloud, ...] = ("aws", "gcp", "azure")
SUPPORT_FILE = Path(__file__).resolve().parent / "data" / "kubernetes_support.yaml"

# The default minor of every cluster: the newest that all three clouds offer in standard support
# and every pinned chart supports (docs/ARCHITECTURE.md, "Kubernetes version"). 1.36 is offered on
# all three, but no cluster-autoscaler chart ships 1.36 yet and KEDA 2.20 is tested only to 1.35.
DEFAULT_VERSION = "1.35"
STALE_AFTER_MONTHS = 4  # a new minor ships about every four months: re-read the sources by then

_MINOR = re.compile(r"^1\.[0-9]{2}$")
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_CLOUD_KEYS = {"service", "source", "extended", "versions"}
_ROW_KEYS = {"released", "standardEnd", "extendedEnd", "approximate"}


@dataclass(frozen=True)
class Source:
    url: str
    read: str  # YYYY-MM
    note: str


@dataclass(frozen=True)
class ExtendedSupport:
    """The cloud's paid support after standard support, and what puts a cluster in it."""

    name: str
    enrolment: str
    price: str  # the control plane's price key in pricing/data/prices.yaml while in it


@dataclass(frozen=True)
class Window:
    cloud: Cloud
    service: str  # EKS, GKE, AKS
    minor: str
    released: date
    standard_end: date  # first day outside standard support
    extended_end: date | None
    approximate: bool = False

    def in_standard(self, day: date) -> bool:
        return self.released <= day < self.standard_end

    def in_extended(self, day: date) -> bool:
        return self.extended_end is not None and self.standard_end <= day < self.extended_end

    def days_left(self, day: date) -> int:
        """Days of standard support left on `day` (0 or less: it has ended)."""
        return (self.standard_end - day).days


@dataclass(frozen=True)
class CloudSupport:
    cloud: Cloud
    service: str
    source: Source
    extended: ExtendedSupport
    windows: Mapping[str, Window]


@dataclass(frozen=True)
class SupportTable:
    clouds: Mapping[Cloud, CloudSupport]

    def window(self, cloud: Cloud, minor: str) -> Window | None:
        return self.clouds[cloud].windows.get(minor)

    def oldest_read(self) -> str:
        return min(support.source.read for support in self.clouds.values())

    def stale_from(self) -> date:
        """The first day the table counts as stale: STALE_AFTER_MONTHS after its oldest read month."""
        year, month = (int(part) for part in self.oldest_read().split("-"))
        month += STALE_AFTER_MONTHS + 1  # the month after the last fresh one
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        return date(year, month, 1)

    def in_standard_everywhere(self, clouds: tuple[Cloud, ...], day: date) -> list[str]:
        """The minors in standard support on every one of `clouds` on `day`, oldest first."""
        minors = set.intersection(*(set(self.clouds[cloud].windows) for cloud in clouds)) if clouds else set()
        found = [m for m in minors if all(self.clouds[c].windows[m].in_standard(day) for c in clouds)]
        return sorted(found, key=lambda m: int(m.split(".")[1]))

    def standard_support_problem(self, cloud: Cloud, minor: str, day: date) -> str | None:
        """Why `minor` is not in standard support on `cloud` on `day`, or None when it is."""
        support = self.clouds[cloud]
        window = support.windows.get(minor)
        if window is None:
            known = ", ".join(support.windows)
            return f"{minor} is not in the {support.service} support table ({cloud}; known: {known})"
        if day < window.released:
            return f"{minor} is not released on {cloud} ({support.service}) until {window.released.isoformat()}"
        if not window.in_standard(day):
            return f"{minor} left standard support on {cloud} ({support.service}) on {window.standard_end.isoformat()}"
        return None


def minor_of(version: str) -> str | None:
    """The minor ("1.35") of a version as the clouds spell it: "1.35", "1.35.2", "1.35.2-gke.1962000"."""
    match = re.match(r"^v?(1\.[0-9]{2})(\.|$|-)", version.strip())
    return match.group(1) if match else None


@cache
def load_support_table(path: Path = SUPPORT_FILE) -> SupportTable:
    """Load and validate strictly: a bad entry raises ValueError naming where it is."""
    document = yaml.safe_load(path.read_text())
    clouds = document.get("clouds") if isinstance(document, dict) else None
    if not isinstance(clouds, dict) or set(clouds) != set(CLOUDS):
        raise ValueError(f"{path.name}: clouds must map exactly {', '.join(CLOUDS)}")
    return SupportTable(clouds={cloud: _cloud(cloud, clouds[cloud]) for cloud in CLOUDS})


def _cloud(cloud: Cloud, value: Any) -> CloudSupport:
    where = f"clouds.{cloud}"
    if not isinstance(value, dict) or set(value) != _CLOUD_KEYS:
        raise ValueError(f"{where}: needs exactly {', '.join(sorted(_CLOUD_KEYS))}")
    service = _text(f"{where}.service", value["service"])
    source = value["source"]
    if not isinstance(source, dict):
        raise ValueError(f"{where}.source: needs url, read and note")
    read = _text(f"{where}.source.read", source.get("read"))
    if not _MONTH.match(read):
        raise ValueError(f"{where}.source.read: expected the month read as YYYY-MM, got {read!r}")
    url = _text(f"{where}.source.url", source.get("url"))
    if not url.startswith("https://"):
        raise ValueError(f"{where}.source.url: expected an https URL, got {url!r}")
    extended = value["extended"]
    if not isinstance(extended, dict):
        raise ValueError(f"{where}.extended: needs name, enrolment and price")
    price = _text(f"{where}.extended.price", extended.get("price"))
    if not price.startswith(f"{cloud}/") or price.count("/") != 2:
        raise ValueError(f"{where}.extended.price: expected a {cloud}/<kind>/<name> price key, got {price!r}")
    versions = value["versions"]
    if not isinstance(versions, dict) or not versions:
        raise ValueError(f"{where}.versions: must map minor versions to their dates")
    return CloudSupport(
        cloud=cloud,
        service=service,
        source=Source(url=url, read=read, note=_text(f"{where}.source.note", source.get("note"))),
        extended=ExtendedSupport(
            name=_text(f"{where}.extended.name", extended.get("name")),
            enrolment=_text(f"{where}.extended.enrolment", extended.get("enrolment")),
            price=price,
        ),
        windows={
            str(minor): _window(f"{where}.versions.{minor}", cloud, service, str(minor), row)
            for minor, row in versions.items()
        },
    )


def _window(where: str, cloud: Cloud, service: str, minor: str, row: Any) -> Window:
    if not _MINOR.match(minor):
        raise ValueError(f"{where}: expected a minor version such as 1.35 (quote it in YAML)")
    if not isinstance(row, dict) or not {"released", "standardEnd"} <= set(row) <= _ROW_KEYS:
        raise ValueError(f"{where}: needs released and standardEnd, optionally extendedEnd and approximate")
    released = _date(f"{where}.released", row["released"])
    standard_end = _date(f"{where}.standardEnd", row["standardEnd"])
    extended_end = _date(f"{where}.extendedEnd", row["extendedEnd"]) if "extendedEnd" in row else None
    if standard_end <= released:
        raise ValueError(f"{where}.standardEnd: must come after released")
    if extended_end is not None and extended_end <= standard_end:
        raise ValueError(f"{where}.extendedEnd: must come after standardEnd")
    approximate = row.get("approximate", False)
    if not isinstance(approximate, bool):
        raise ValueError(f"{where}.approximate: expected true or false")
    return Window(cloud, service, minor, released, standard_end, extended_end, approximate)


def _date(where: str, value: Any) -> date:
    if not isinstance(value, date):  # YAML reads an unquoted 2027-03-27 as a date
        raise ValueError(f"{where}: expected a date such as 2027-03-27, got {value!r}")
    return value


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: expected a non-empty string")
    return value
