"""Prices in one cloud region, read from the price table: per unit, per month, and a catalogued machine's hour.

The program (the node prices its alert rules join against) and preflight (cost, compare, right-sizing) price a
machine through this one class, so the dashboard's cost panel and `preflight cost` cannot disagree on a node.
"""

from __future__ import annotations

from components.machine_catalog import MachineType, attached_accelerator
from pricing.table import Price, PriceTable


class Pricer:
    """Prices for one cloud region; remembers which keys it priced at the default region's figure."""

    def __init__(self, table: PriceTable, cloud: str, region: str, hours_per_month: float | None = None) -> None:
        self.table = table
        self.cloud = cloud
        self.region = region
        self.hours_per_month = table.hours_per_month if hours_per_month is None else hours_per_month
        self.at_default_region: set[str] = set()  # keys priced at the default region's figure, for the report

    def _price(self, kind: str, name: str, cloud: str | None) -> Price | None:
        """The table's entry, noting when this region falls back to the default region's figure."""
        price = self.table.get(cloud or self.cloud, kind, name)
        at_default = self.region != self.table.default_regions.get(self.cloud)
        if price is not None and at_default and not price.has_region(self.region):
            self.at_default_region.add(price.key)
        return price

    def hourly(self, kind: str, name: str, *, spot: bool = False, cloud: str | None = None) -> float | None:
        """The price per unit (not per month) for this region, or None when the table lacks it."""
        price = self._price(kind, name, cloud)
        return None if price is None else price.at(self.region, spot=spot)

    def monthly(self, kind: str, name: str, quantity: float = 1.0, *, cloud: str | None = None) -> float | None:
        """Price times quantity, per month: hours for hourly items, GB for GB items, and so on."""
        price = self._price(kind, name, cloud)
        if price is None:
            return None
        per_month = {"hour": self.hours_per_month, "day": self.hours_per_month / 24}
        return price.at(self.region) * quantity * per_month.get(price.unit, 1.0)


def catalog_hourly(p: Pricer, machine: MachineType, *, spot: bool) -> float | None:
    """A catalogued machine's price per hour with its GPUs (attached ones added on GCP N1)."""
    price = p.hourly("machine", machine.name, spot=spot)
    attached = attached_accelerator(machine)
    if price is None or attached is None:
        return price
    gpu = p.hourly("accelerator", attached, spot=spot)
    return None if gpu is None else price + gpu * machine.gpus
