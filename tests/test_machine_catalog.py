"""The machine catalog is consistent, sourced, and answers the node pool questions correctly."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlparse

import pytest

from components.machine_catalog import (
    CATALOG,
    CLOUDS,
    GCP_ACCELERATOR_TYPES,
    MachineType,
    accelerators,
    attached_accelerator,
    gpus_priced_apart,
    machine,
    machines_for,
    unlike,
)

DOC_DOMAINS = {"aws": "aws.amazon.com", "gcp": "cloud.google.com", "azure": "learn.microsoft.com"}


def test_every_entry_is_on_a_known_cloud_with_a_unique_name() -> None:
    assert all(m.cloud in CLOUDS for m in CATALOG)
    duplicates = [key for key, n in Counter((m.cloud, m.name) for m in CATALOG).items() if n > 1]
    assert duplicates == []


def test_gpu_entries_have_gpus_and_an_accelerator_and_cpu_entries_have_neither() -> None:
    for m in CATALOG:
        if m.accelerator is not None:
            assert m.gpus >= 1 and m.gpu_memory_gib > 0, m.name
        else:
            assert m.gpus == 0 and m.gpu_memory_gib == 0, m.name
        assert m.vcpus > 0 and m.memory_gib > 0, m.name


def test_an_inconsistent_entry_is_refused() -> None:
    with pytest.raises(ValueError):
        MachineType("aws", "x.large", 2, 8, 1, None, 0, "https://aws.amazon.com/")
    with pytest.raises(ValueError):
        MachineType("oracle", "x.large", 2, 8, 0, None, 0, "https://example.com/")


def test_every_source_is_an_https_page_on_the_clouds_own_docs() -> None:
    for m in CATALOG:
        url = urlparse(m.source)
        domain = DOC_DOMAINS[m.cloud]
        assert url.scheme == "https", m.name
        assert url.hostname == domain or (url.hostname or "").endswith("." + domain), m.name


def test_azure_has_no_l4_and_a10g_is_aws_only() -> None:
    assert "L4" not in accelerators("azure")
    assert machines_for("azure", "L4") == []
    assert {c for c in CLOUDS if "A10G" in accelerators(c)} == {"aws"}


def test_l4_on_aws_is_g6_smallest_first() -> None:
    found = machines_for("aws", "L4")
    assert found
    assert all(m.name.startswith("g6.") for m in found)
    assert [m.vcpus for m in found] == sorted(m.vcpus for m in found)


def test_lookup_by_exact_api_name() -> None:
    g6 = machine("aws", "g6.xlarge")
    assert g6 is not None
    assert (g6.vcpus, g6.memory_gib, g6.gpus, g6.accelerator) == (4, 16, 1, "L4")
    assert machine("gcp", "g6.xlarge") is None
    assert machine("azure", "standard_nc4as_t4_v3") is None  # names are exact


def test_a_misspelt_cloud_is_an_error_not_an_empty_answer() -> None:
    with pytest.raises(ValueError):
        accelerators("Azure")
    with pytest.raises(ValueError):
        machines_for("gce", "L4")


def test_gke_accelerator_types_cover_gcp_accelerators() -> None:
    assert accelerators("gcp") <= set(GCP_ACCELERATOR_TYPES)
    assert GCP_ACCELERATOR_TYPES["T4"] == "nvidia-tesla-t4"


def test_only_gcp_n1_machines_price_their_gpus_apart() -> None:
    """GCP's GPU pricing page prices a T4 per GPU on top of an N1 machine; a G2 includes its L4 (read 2026-11)."""
    n1, g2, g4dn = machine("gcp", "n1-standard-4"), machine("gcp", "g2-standard-4"), machine("aws", "g4dn.xlarge")
    assert n1 is not None and g2 is not None and g4dn is not None
    assert [attached_accelerator(m) for m in (n1, g2, g4dn)] == ["nvidia-tesla-t4", None, None]
    assert gpus_priced_apart("gcp", "n1-standard-8") and not gpus_priced_apart("gcp", "a2-highgpu-1g")
    assert (
        attached_accelerator(MachineType("gcp", "n1-standard-2", 2, 7.5, 0, None, 0, "https://cloud.google.com/"))
        is None
    )


def test_unlike_accepts_one_type_and_identical_types() -> None:
    g6 = machine("aws", "g6.xlarge")
    assert g6 is not None
    assert unlike([]) is None
    assert unlike([g6]) is None
    assert unlike([g6, g6]) is None


def test_unlike_names_both_types_and_how_they_differ() -> None:
    small, large = machine("aws", "g6.xlarge"), machine("aws", "g6.2xlarge")
    assert small is not None and large is not None
    assert unlike([small, large]) == "g6.xlarge has 4 vCPU, 16 GiB, 1 L4; g6.2xlarge has 8 vCPU, 32 GiB, 1 L4"


def test_unlike_catches_a_different_gpu_model_with_the_same_cpu_and_memory() -> None:
    t4, a10g = machine("aws", "g4dn.xlarge"), machine("aws", "g5.xlarge")
    assert t4 is not None and a10g is not None
    message = unlike([t4, t4, a10g])
    assert message is not None
    assert "g4dn.xlarge" in message and "g5.xlarge" in message and "A10G" in message
