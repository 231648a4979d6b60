"""One region table, shipped in the client package, for GlobalDns, the stack config, the drill and the client.

The table is package data (client/src/mlplatform_client/data/regions.toml): these tests check that the built wheel
carries it and loads it on its own, that a broken table is refused naming the entry, and the table's figures
against worked examples from the clouds' region pages.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from mlplatform_client.regions import (
    AWS_REGION_LOCATIONS,
    AZURE_TO_AWS,
    GCP_TO_AWS,
    aws_region,
    continent,
    great_circle_km,
    parse_regions,
)

from components.global_dns.regions import aws_latency_region
from stacks.regions import REGIONS

CLIENT = Path(__file__).resolve().parent.parent / "client"

TABLE = """
[aws]
eu-west-1 = { city = "Ireland (Dublin)", lat = 53.35, lon = -6.26 }
[gcp]
europe-west1 = "eu-west-1"
[azure]
northeurope = "eu-west-1"
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client's wheel, built as `pip install ./client` builds it (hatchling, from client/pyproject.toml)."""
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
    build += ["--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(CLIENT)]
    subprocess.run(build, check=True, capture_output=True, text=True)
    (found,) = out.glob("mlplatform_client-*.whl")
    return found


def test_the_built_wheel_carries_the_region_table(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        assert "mlplatform_client/data/regions.toml" in archive.namelist()
        text = archive.read("mlplatform_client/data/regions.toml").decode()
    locations, gcp, azure = parse_regions(text)
    assert (len(locations), len(gcp), len(azure)) == (len(AWS_REGION_LOCATIONS), len(GCP_TO_AWS), len(AZURE_TO_AWS))


def test_the_installed_client_loads_the_table_from_its_own_files(wheel: Path, tmp_path: Path) -> None:
    """Unpacked as pip installs it, outside the repository: the table is read from the package, not the checkout."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    probe = "import mlplatform_client.regions as r; print(r.__file__); print(r.aws_region('gcp', 'us-central1'))"
    done = subprocess.run(
        [sys.executable, "-c", probe], env={"PYTHONPATH": str(tmp_path)}, capture_output=True, text=True, check=True
    )
    where, nearest = done.stdout.split()
    assert Path(where).is_relative_to(tmp_path)
    assert nearest == "us-east-2"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (TABLE.replace('"eu-west-1"\n[azure]', '"eu-west-9"\n[azure]'), "gcp.europe-west1 names 'eu-west-9'"),
        (TABLE.replace("lat = 53.35", "lat = 153.35"), "aws.eu-west-1 is at (153.35, -6.26), not on Earth"),
        (TABLE.replace('city = "Ireland (Dublin)", ', ""), "aws.eu-west-1 needs city"),
        (TABLE.replace('[azure]\nnortheurope = "eu-west-1"\n', ""), "[azure] is missing"),
    ],
)
def test_a_broken_table_is_refused_naming_the_entry(table: str, message: str) -> None:
    assert parse_regions(TABLE)[1] == {"europe-west1": "eu-west-1"}
    with pytest.raises(ValueError, match=re.escape(f"regions.toml: {message}")):
        parse_regions(table)


def test_every_region_a_stack_may_name_has_the_aws_region_of_its_latency_record() -> None:
    for cloud, regions in REGIONS.items():
        assert regions, cloud
        for region in regions:
            assert aws_latency_region(cloud, region) == aws_region(cloud, region)


def test_nearest_aws_regions_and_continents_by_city() -> None:
    # Council Bluffs (Iowa) is nearest Ohio; Gavle (Sweden) Stockholm; Sydney is Oceania; Dubai counts as Asia.
    assert [aws_region("gcp", "us-central1"), aws_region("azure", "swedencentral")] == ["us-east-2", "eu-north-1"]
    assert [continent(r) for r in ("us-east-1", "sa-east-1", "ap-southeast-2", "me-central-1")] == [
        "NA",
        "SA",
        "OC",
        "AS",
    ]
    with pytest.raises(KeyError):
        aws_region("aws", "us-east-9")


def test_great_circle_distance_is_plausible() -> None:
    assert great_circle_km("eu-west-1", "eu-west-1") == 0
    assert great_circle_km("eu-west-2", "eu-west-3") == pytest.approx(344, abs=15)  # London-Paris
    assert great_circle_km("us-east-1", "eu-west-1") == great_circle_km("eu-west-1", "us-east-1")
    assert great_circle_km("us-east-1", "us-east-2") < great_circle_km("us-east-1", "us-west-2")
