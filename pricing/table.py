"""The shipped price table (pricing/data/prices.yaml): list prices, each with its source and month read.

Keys are `<cloud>/<kind>/<name>`; a price is given for the cloud's default region and
overridden where a region differs. A region the table does not name is priced at the
default region's figure, and the report says so: an estimate, never a silent zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PRICES_FILE = Path(__file__).resolve().parent / "data" / "prices.yaml"
UNITS = ("hour", "month", "GB-month", "GB", "million-queries", "day")


@dataclass(frozen=True)
class Source:
    url: str
    read: str
    note: str = ""


@dataclass(frozen=True)
class Price:
    """One item's figures. Its `source` and `spotSource` stay in the file: the loader checks each names a listed
    source, and the report cites the sources' months (PriceTable.sources_read)."""

    key: str
    unit: str
    by_region: Mapping[str, float]
    spot_by_region: Mapping[str, float] | None

    def at(self, region: str, *, spot: bool = False) -> float:
        table = self.spot_by_region if spot and self.spot_by_region else self.by_region
        return table.get(region, table["default"])

    def has_region(self, region: str) -> bool:
        return region in self.by_region


@dataclass(frozen=True)
class PriceTable:
    currency: str
    hours_per_month: float
    default_regions: Mapping[str, str]
    sources: Mapping[str, Source]
    items: Mapping[str, Price]

    def get(self, cloud: str, kind: str, name: str) -> Price | None:
        return self.items.get(f"{cloud}/{kind}/{name}")

    def sources_read(self) -> str:
        """The months the sources were read, for the report's header."""
        months = sorted({source.read for source in self.sources.values()})
        return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


@cache
def load_price_table(path: Path = PRICES_FILE) -> PriceTable:
    """Load and validate strictly: a bad entry raises ValueError naming its key."""
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path.name}: expected a mapping")
    sources = {name: _source(name, value) for name, value in _mapping(document, "sources", path.name).items()}
    items = {key: _price(key, value, sources) for key, value in _mapping(document, "items", path.name).items()}
    hours = document.get("hoursPerMonth")
    if not isinstance(hours, int | float) or hours <= 0:
        raise ValueError(f"{path.name}: hoursPerMonth must be a positive number")
    return PriceTable(
        currency=str(document.get("currency", "USD")),
        hours_per_month=float(hours),
        default_regions={str(k): str(v) for k, v in _mapping(document, "defaultRegions", path.name).items()},
        sources=sources,
        items=items,
    )


def _mapping(document: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = document.get(key)
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{where}: {key} must be a non-empty mapping")
    return value


def _source(name: str, value: Any) -> Source:
    if not isinstance(value, dict) or not isinstance(value.get("url"), str) or not isinstance(value.get("read"), str):
        raise ValueError(f"sources.{name}: needs url and read (YYYY-MM)")
    return Source(url=value["url"], read=value["read"], note=str(value.get("note", "")))


def _regional(key: str, field: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or "default" not in value:
        raise ValueError(f"items.{key}.{field}: needs a 'default' price")
    prices: dict[str, float] = {}
    for region, price in value.items():
        if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            raise ValueError(f"items.{key}.{field}.{region}: expected a non-negative number, got {price!r}")
        prices[str(region)] = float(price)
    return prices


def _price(key: str, value: Any, sources: Mapping[str, Source]) -> Price:
    if not isinstance(value, dict):
        raise ValueError(f"items.{key}: expected a mapping")
    if key.count("/") != 2:
        raise ValueError(f"items.{key}: keys are <cloud>/<kind>/<name>")
    if value.get("unit") not in UNITS:
        raise ValueError(f"items.{key}.unit: must be one of {', '.join(UNITS)}")
    for field in ("source", "spotSource"):
        if field in value and value[field] not in sources:
            raise ValueError(f"items.{key}.{field}: unknown source {value[field]!r}")
    if "source" not in value:
        raise ValueError(f"items.{key}.source: every price needs a source")
    spot = _regional(key, "spot", value["spot"]) if "spot" in value else None
    if spot is not None and "spotSource" not in value:
        raise ValueError(f"items.{key}.spotSource: a spot price needs its source")
    return Price(
        key=key,
        unit=value["unit"],
        by_region=_regional(key, "price", value.get("price")),
        spot_by_region=spot,
    )
