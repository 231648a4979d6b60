"""How long a GPU replica takes to serve on a new node, phase by phase, from a sourced, dated table.

Why it exists: every spot reclaim, scale-up from zero and failover that needs capacity waits for a replica to start on
a new node. The program, `preflight coldstart`, `preflight drill` and the policy pack must all agree on that figure,
and the program may not import preflight, so the figure is worked out here, beside the machine catalog, from
components/data/cold_start.yaml. The program writes it on each model Deployment (COLD_START_ANNOTATION, with the
budget under BUDGET_ANNOTATION), where the policy pack reads it.

The phases run one after another on a new node: node (autoscaler and VM boot), driver (NVIDIA driver and device
plugin), image (pulling the pinned Triton image), model copy (the model from the bucket at the node's bandwidth) and
model load (Triton reading it into GPU memory until ready).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

COLD_START_FILE = Path(__file__).resolve().parent / "data" / "cold_start.yaml"
DEFAULT_BUDGET_SECONDS = 180
DEFAULT_MODEL_GIB = 1.0
STALE_AFTER_MONTHS = 4  # cloud behaviour and the Triton image change within months: re-read the sources by then
COLD_START_ANNOTATION = "mlplatform.io/cold-start-seconds"
BUDGET_ANNOTATION = "mlplatform.io/cold-start-budget-seconds"
# With warm spares, COLD_START_ANNOTATION is the first replica's figure, on a spare; this one is a replica's on a new
# node: what a first rollout waits for (preflight/timeline.py), as the spares are kept for scale-ups.
NEW_NODE_ANNOTATION = "mlplatform.io/cold-start-new-node-seconds"
GIGABITS_PER_GIB = 8 * 2**30 / 1e9

_CLOUDS = ("aws", "gcp", "azure")
_ENTRY_KEYS = {"value", "source", "read", "note"}
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_KEY = re.compile(r"^[a-z-]+(/(aws|gcp|azure)(/[A-Za-z0-9_.-]+)?)?$")
_REQUIRED = (
    *(f"{name}/{cloud}" for name in ("node-seconds", "driver-seconds", "bandwidth-gbps") for cloud in _CLOUDS),
    "triton-image-gib",
    "pull-seconds-per-gib",
    "load-seconds-per-gib",
)


@dataclass(frozen=True)
class Fact:
    key: str
    value: float
    source: str
    read: str
    note: str


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    how: str  # the arithmetic, for people
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class ColdStart:
    cloud: str
    machine_type: str
    model_gib: float
    phases: tuple[Phase, ...]

    @property
    def total_seconds(self) -> int:
        """Whole seconds, rounded up: a budget is met only if the figure is at or under it."""
        return math.ceil(round(sum(phase.seconds for phase in self.phases), 6))

    def phase(self, name: str) -> Phase:
        return next(phase for phase in self.phases if phase.name == name)


@dataclass(frozen=True)
class ColdStartTable:
    facts: Mapping[str, Fact]

    def fact(self, name: str, cloud: str | None = None, machine_type: str = "") -> Fact:
        """The fact for a cloud, or for the longest machine prefix under it that `machine_type` starts with."""
        if cloud is None:
            return self.facts[name]
        base = f"{name}/{cloud}"
        prefixes = [
            key for key in self.facts if key.startswith(f"{base}/") and machine_type.startswith(key[len(base) + 1 :])
        ]
        return self.facts[max(prefixes, key=len)] if prefixes else self.facts[base]

    def oldest_read(self) -> str:
        return min(fact.read for fact in self.facts.values())

    def stale_from(self) -> date:
        """The first day the table counts as stale: STALE_AFTER_MONTHS after its oldest read month."""
        year, month = (int(part) for part in self.oldest_read().split("-"))
        month += STALE_AFTER_MONTHS + 1
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        return date(year, month, 1)


@cache
def load_table(path: Path = COLD_START_FILE) -> ColdStartTable:
    """Load and validate strictly: a bad entry raises ValueError naming its key."""
    return parse_table(yaml.safe_load(path.read_text()), path.name)


def parse_table(document: Any, where: str) -> ColdStartTable:
    if not isinstance(document, dict) or set(document) != {"facts"} or not isinstance(document["facts"], dict):
        raise ValueError(f"{where}: expected a mapping with exactly 'facts'")
    facts = {key: _fact(key, value, f"{where}: facts: {key}") for key, value in document["facts"].items()}
    missing = [key for key in _REQUIRED if key not in facts]
    if missing:
        raise ValueError(f"{where}: facts: missing {', '.join(missing)}")
    return ColdStartTable(facts)


def cold_start(
    cloud: str,
    machine_type: str,
    model_gib: float,
    table: ColdStartTable | None = None,
    *,
    image_cached: bool = False,
    warm_spare: bool = False,
) -> ColdStart:
    """The phases of a replica's start on a new `machine_type` node of `cloud`, for a model of `model_gib`;
    `image_cached`: the node already holds the Triton image (stacks/image_cache_config.py); `warm_spare`: the replica
    takes a warm spare's place (a Ready node whose placeholder pod pulled the image, stacks/cluster_config.py
    warmSpares), so only the model's copy and load remain."""
    if cloud not in _CLOUDS:
        raise ValueError(f"unknown cloud {cloud!r}; expected one of {', '.join(_CLOUDS)}")
    table = load_table() if table is None else table
    if warm_spare:
        return _on_warm_spare(table, cloud, machine_type, model_gib)
    node = table.fact("node-seconds", cloud, machine_type)
    driver = table.fact("driver-seconds", cloud, machine_type)
    image, pull = table.fact("triton-image-gib"), table.fact("pull-seconds-per-gib")
    phases = (
        Phase("node", node.value, f"{node.value:g} s", (node,)),
        Phase("driver", driver.value, f"{driver.value:g} s", (driver,)),
        _cached_image(table, cloud)
        if image_cached
        else Phase("image", image.value * pull.value, f"{image.value:g} GiB x {pull.value:g} s/GiB", (image, pull)),
        *_model_phases(table, cloud, machine_type, model_gib),
    )
    return ColdStart(cloud, machine_type, model_gib, phases)


def _model_phases(table: ColdStartTable, cloud: str, machine_type: str, model_gib: float) -> tuple[Phase, Phase]:
    """Copying the model from the bucket at the node's bandwidth, then Triton loading it."""
    bandwidth = table.fact("bandwidth-gbps", cloud, machine_type)
    load = table.fact("load-seconds-per-gib")
    return (
        Phase(
            "model copy",
            model_gib * GIGABITS_PER_GIB / bandwidth.value,
            f"{model_gib:g} GiB x {GIGABITS_PER_GIB:.2f} Gb/GiB / {bandwidth.value:g} Gbps",
            (bandwidth,),
        ),
        Phase("model load", model_gib * load.value, f"{model_gib:g} GiB x {load.value:g} s/GiB", (load,)),
    )


def _on_warm_spare(table: ColdStartTable, cloud: str, machine_type: str, model_gib: float) -> ColdStart:
    """A warm spare is a Ready node with the GPU offered and the Triton image pulled by its placeholder pod: the
    scheduler preempts the placeholder and the replica starts there, so the node, driver and image phases are the
    table's `warm-spare-seconds`."""
    spare = table.facts.get("warm-spare-seconds")
    if spare is None:
        raise ValueError("no figure for a start on a warm spare (warm-spare-seconds is not in the table)")
    how = f"{spare.value:g} s, on a warm spare"
    phases = (
        Phase("node", spare.value, how, (spare,)),
        Phase("driver", 0.0, "0 s, the spare offers the GPU already", (spare,)),
        Phase("image", 0.0, "0 s, pulled by the spare's placeholder pod", (spare,)),
        *_model_phases(table, cloud, machine_type, model_gib),
    )
    return ColdStart(cloud, machine_type, model_gib, phases)


def _cached_image(table: ColdStartTable, cloud: str) -> Phase:
    key = f"cached-image-seconds/{cloud}"
    if key not in table.facts:
        raise ValueError(f"no way to cache the Triton image on {cloud} nodes is known ({key} is not in the table)")
    cached = table.facts[key]
    return Phase("image", cached.value, f"{cached.value:g} s, cached on the node", (cached,))


def _fact(key: Any, value: Any, where: str) -> Fact:
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"{where}: not a fact key (name, name/cloud or name/cloud/machine-prefix)")
    if not isinstance(value, dict) or set(value) != _ENTRY_KEYS:
        raise ValueError(f"{where}: expected exactly the keys {', '.join(sorted(_ENTRY_KEYS))}")
    number, source, read, note = value["value"], value["source"], value["read"], value["note"]
    if isinstance(number, bool) or not isinstance(number, int | float) or not 0 <= number < 10_000:
        raise ValueError(f"{where}: value: expected a number from 0 to 10000, got {number!r}")
    if key.startswith("bandwidth-gbps") and number <= 0:
        raise ValueError(f"{where}: value: a bandwidth must be above 0, got {number!r}")
    if not isinstance(source, str) or not source.startswith("https://"):
        raise ValueError(f"{where}: source: expected an https:// URL, got {source!r}")
    if not isinstance(read, str) or not _MONTH.match(read):
        raise ValueError(f"{where}: read: expected the month read as YYYY-MM (quoted), got {read!r}")
    if not isinstance(note, str) or not note.strip():
        raise ValueError(f"{where}: note: expected a non-empty string")
    return Fact(key, float(number), source, read, " ".join(note.split()))
