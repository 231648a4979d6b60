"""Where each GPU is offered on Compute Engine, zone by zone, so GKE node pools go only where they can.

GPUs are offered in a few zones of a region, not in all of them: L4 in us-east4 is in a and c
only, T4 in us-west3 in b only. A node pool asked for in a zone without its GPU fails at
creation, so the cluster's node zones are chosen from this table (every zone must offer every
GPU pool's accelerator: GKE node pools default to the cluster's zones), and a region with too
few such zones is refused in the stack config, before anything is planned.

Source: Google's "GPU regions and zones availability" page
(cloud.google.com/compute/docs/gpus/gpu-regions-zones), read 2026-12 through its machine-readable
copy, the Compute Engine accelerator types per zone as listed in skypilot-org/skypilot-catalog
catalogs/v8/gcp/vms.csv (the same file the price table cites): T4 and L4 from the accelerator
rows, A100 from a2-highgpu-1g, H100 from a3-highgpu-8g. Only the accelerators of the machine
catalog are listed. The table can go stale as Google adds zones: TABLE_READ is checked by a test
that fails a year after it.
"""

from __future__ import annotations

from datetime import date

from components import machine_catalog

TABLE_READ = date(2026, 12, 1)
SOURCE = "https://cloud.google.com/compute/docs/gpus/gpu-regions-zones"

# region -> accelerator -> zone suffixes
_OFFERED: dict[str, dict[str, str]] = {
    "asia-east1": {"T4": "ac", "L4": "abc", "H100": "c"},
    "asia-east2": {"T4": "ac"},
    "asia-northeast1": {"T4": "ac", "L4": "abc", "A100": "ac", "H100": "b"},
    "asia-northeast3": {"T4": "bc", "L4": "ab", "A100": "ab"},
    "asia-south1": {"T4": "ab", "L4": "abc", "H100": "c"},
    "asia-south2": {"H100": "b"},
    "asia-southeast1": {"T4": "abc", "L4": "abc", "A100": "abc", "H100": "bc"},
    "asia-southeast2": {"T4": "ab"},
    "australia-southeast1": {"T4": "ac", "H100": "c"},
    "europe-central2": {"T4": "bc"},
    "europe-north1": {"H100": "c"},
    "europe-west1": {"T4": "bcd", "L4": "bc", "H100": "bc"},
    "europe-west2": {"T4": "ab", "L4": "ab"},
    "europe-west3": {"T4": "b", "L4": "ab", "H100": "c"},
    "europe-west4": {"T4": "abc", "L4": "abc", "A100": "ab", "H100": "bc"},
    "europe-west6": {"L4": "bc"},
    "europe-west9": {"H100": "c"},
    "me-central2": {"L4": "ac"},
    "me-west1": {"T4": "bc", "A100": "ac"},
    "northamerica-northeast1": {"T4": "c", "L4": "bc"},
    "northamerica-northeast2": {"L4": "ab"},
    "southamerica-east1": {"T4": "abc"},
    "us-central1": {"T4": "abcf", "L4": "abc", "A100": "abcf", "H100": "abc"},
    "us-east1": {"T4": "bcd", "L4": "bcd", "A100": "b"},
    "us-east4": {"T4": "abc", "L4": "ac", "H100": "abc"},
    "us-east5": {"H100": "a"},
    "us-west1": {"T4": "ab", "L4": "abc", "A100": "b", "H100": "ab"},
    "us-west2": {"T4": "bc"},
    "us-west3": {"T4": "b", "A100": "b"},
    "us-west4": {"T4": "ab", "L4": "ac", "A100": "b", "H100": "a"},
}


def zones_offering(region: str, accelerator: str) -> tuple[str, ...]:
    """The region's zones where Compute Engine offers `accelerator`, sorted; () when none."""
    suffixes = _OFFERED.get(region, {}).get(accelerator, "")
    return tuple(f"{region}-{suffix}" for suffix in sorted(suffixes))


def gpu_zones(region: str, accelerators: tuple[str, ...] | list[str] | set[str]) -> tuple[str, ...]:
    """The region's zones that offer every one of `accelerators`, sorted.

    With no GPU pools at all, any zone that offers some catalogued GPU will do (the system pool
    runs on general-purpose machines, which every zone has).
    """
    wanted = set(accelerators)
    if not wanted:
        return tuple(sorted({zone for acc in machine_catalog.ACCELERATORS for zone in zones_offering(region, acc)}))
    common = set.intersection(*(set(zones_offering(region, acc)) for acc in wanted))
    return tuple(sorted(common))


def pick_zones(region: str, accelerators: tuple[str, ...] | list[str] | set[str], count: int) -> tuple[str, ...]:
    """The first `count` zones (sorted, so every run picks the same) that offer every accelerator."""
    zones = gpu_zones(region, accelerators)
    if len(zones) < count:
        raise ValueError(too_few_zones(region, accelerators, count))
    return zones[:count]


def too_few_zones(region: str, accelerators: tuple[str, ...] | list[str] | set[str], count: int) -> str:
    """Why a region cannot hold these GPU pools over `count` zones, in one line."""
    wanted = sorted(set(accelerators))
    offered = "; ".join(f"{acc} in {', '.join(zones_offering(region, acc)) or 'no zone'}" for acc in wanted)
    together = ", ".join(gpu_zones(region, wanted)) or "none"
    return (
        f"{region} offers {offered} (zones with all of them: {together}); "
        f"{count} zones are needed ({SOURCE}, read {TABLE_READ:%Y-%m})"
    )
