"""Times the parts of a GPU replica's cold start this machine can run for real, beside the sourced cloud figures.

`preflight coldstart` works a replica's start out phase by phase from components/data/cold_start.yaml. Two of those
phases are things a laptop can do too: copying the model repository from the bucket, and a model server loading the
model until it answers ready. This benchmark does both for real, at sizes you choose (default 100 MiB and 1 GiB of
random data, which neither compresses nor dedupes):

- model copy: rclone (from the dev venv, the sync's own tool and remotes, components/rclone.py) pulls the repository
  from moto's S3, the GCS emulator and Azurite, started as tests/emulators/storage.py starts them for the sync tests.
  Loopback and emulators, not a cloud network: what it bounds is the client side (rclone, checksums, the disk);
- model load: MLServer (.venv-mlserver, tests/client_servers.py) started with nothing loaded, then asked to load a
  scikit-learn model padded to the size (joblib pickle), timed until the model answers ready; and the server's own
  start until it is ready, which a Triton pod pays as well. Triton on a GPU is not available here: its figure stays
  the table's.

Usage: python benchmarks/coldstart.py [--sizes-mib 100,1024] [--skip-storage] [--skip-mlserver]
Needs the dev venv (rclone, moto, gcp-storage-emulator), Azurite (npm install --prefix tests/emulators) and
.venv-mlserver (`make test` makes both). Uses about twice the largest size in memory (an in-memory emulator holds one
copy) and in a temporary directory; everything it starts is stopped on exit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.cold_start import GIGABITS_PER_GIB, cold_start, load_table
from components.rclone import Remote, azure_remote, gcs_remote, rclone_config, s3_remote
from tests.client_servers import MLSERVER_PYTHON, MLServer
from tests.emulators.storage import AZURITE_ACCOUNT, Emulators, running_emulators

MIB = 2**20
CHUNK = 16 * MIB
MODEL = "coldstart"
# The machine types prod's T4 model lands on per cloud (Pulumi.prod.yaml, `preflight coldstart --stack prod`).
CLOUD_MACHINES = {"aws": "g4dn.xlarge", "gcp": "n1-standard-4", "azure": "Standard_NC4as_T4_v3"}
PADDED_MODEL = """
import sys
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

folder, size = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype(np.float32)
classifier = LogisticRegression().fit(x, (x[:, 0] > 0).astype(np.int64))
classifier.padding_ = rng.integers(0, 256, size=size, dtype=np.uint8)  # weights stand-in: loaded, never used
joblib.dump(classifier, f"{folder}/model.joblib")
"""


@dataclass(frozen=True)
class Measured:
    what: str
    size_mib: int
    seconds: float

    @property
    def mib_per_second(self) -> float:
        return self.size_mib / self.seconds if self.seconds > 0 else float("inf")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def write_random(path: Path, size_mib: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        left = size_mib * MIB
        while left:
            block = os.urandom(min(CHUNK, left))
            out.write(block)
            left -= len(block)


# --- model copy: rclone against the storage emulators ------------------------------------------------------------


@contextmanager
def remotes(workdir: Path) -> Iterator[tuple[list[tuple[str, Remote]], dict[str, str], Emulators]]:
    """The three emulators as rclone remotes (the sync tests' setup), and the environment rclone runs with."""
    with running_emulators(workdir) as emulators:
        kms_key = str(emulators.aws("kms").create_key()["KeyMetadata"]["Arn"])
        emulators.create_s3_bucket("models", kms_key)
        emulators.create_gcs_bucket("models")
        found = [
            ("S3 (moto)", s3_remote("s3", "models", "us-east-1", kms_key, emulators.s3_auth())),
            ("GCS (emulator)", gcs_remote("gcs", "models", emulators.gcs_auth())),
            ("Azure Blob (Azurite)", azure_remote("azure", AZURITE_ACCOUNT, "models", emulators.azure_auth())),
        ]
        (workdir / "rclone.conf").write_text(rclone_config([remote for _, remote in found]))
        scrubbed = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOOGLE_", "AZURE_", "RCLONE_"))}
        # The GCS emulator answers one request at a time: the sync tests' parallelism (tests/test_model_sync_emulators).
        env = {**scrubbed, "HOME": str(workdir), "RCLONE_CONFIG": str(workdir / "rclone.conf")}
        env.update(RCLONE_CHECKERS="2", RCLONE_TRANSFERS="2", RCLONE_CONTIMEOUT="10s", RCLONE_TIMEOUT="120s")
        yield found, env, emulators


def rclone(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(["rclone", *args], env=env, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"rclone {' '.join(args)}: {done.stderr.strip()[-2000:]}")


def gcs_upload(emulators: Emulators, bucket: str, name: str, folder: Path) -> None:
    """One simple media upload through the GCS JSON API (the emulator's), streamed from the file."""
    path = folder / "model.bin"
    query = urllib.parse.urlencode({"uploadType": "media", "name": name})
    url = f"http://127.0.0.1:{emulators.gcs_port}/upload/storage/v1/b/{bucket}/o?{query}"
    with path.open("rb") as body:
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", "application/octet-stream")
        request.add_header("Content-Length", str(path.stat().st_size))
        with urllib.request.urlopen(request, timeout=1800) as reply:
            reply.read()


def pull(env: dict[str, str], path: str, target: Path) -> float:
    """What a replica's model copy does: the repository from the bucket to local disk, timed; then removed."""
    seconds = timed(lambda: rclone(env, "copy", path, str(target)))
    subprocess.run(["rm", "-rf", str(target)], check=True)
    return seconds


def measure_copies(workdir: Path, sizes: list[int]) -> list[Measured]:
    results = []
    with remotes(workdir) as (found, env, emulators):
        for size in sizes:
            source = workdir / f"repo-{size}"
            write_random(source / MODEL / "1" / "model.bin", size)
            for label, remote in found:
                path = f"{remote.root}/{MODEL}-{size}"
                # The publisher's upload, not what a replica waits for. rclone uploads a large file to GCS in resumable
                # chunks, which the emulator answers with a 308 rclone refuses: one plain upload there instead.
                if remote.type == "google cloud storage":
                    gcs_upload(emulators, remote.bucket, f"{MODEL}-{size}/{MODEL}/1/model.bin", source / MODEL / "1")
                else:
                    rclone(env, "copy", str(source), path)
                results.append(Measured(label, size, pull(env, path, workdir / f"pulled-{size}")))
                rclone(env, "purge", path)  # the emulators hold it in memory: free it before the next one
            subprocess.run(["rm", "-rf", str(source)], check=True)
    return results


# --- model load: MLServer -----------------------------------------------------------------------------------------


def padded_model(repository: Path, size_mib: int) -> None:
    folder = repository / MODEL
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(MLSERVER_PYTHON), "-c", PADDED_MODEL, str(folder), str(size_mib * MIB)], check=True)
    settings = {
        "name": MODEL,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"},
    }
    (folder / "model-settings.json").write_text(json.dumps(settings))


def wait_until(check: Callable[[], bool], server: MLServer, timeout: float = 600) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"MLServer exited with {server.process.returncode}: see {server.log}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"MLServer not ready after {timeout:.0f} s: see {server.log}")


def measure_loads(workdir: Path, sizes: list[int]) -> list[Measured]:
    results = []
    for size in sizes:
        repository = workdir / f"mlserver-{size}"
        padded_model(repository, size)
        server = MLServer(f"mlserver-{size}", repository, workdir)
        try:
            started, loaded = start_and_load(server)
        finally:
            server.stop()
            subprocess.run(["rm", "-rf", str(repository)], check=True)
        results.append(Measured("MLServer start until the model is ready", size, started))
        results.append(Measured("MLServer load (repository API) until ready", size, loaded))
    return results


def start_and_load(server: MLServer) -> tuple[float, float]:
    """The server's start until the model is ready (it loads at startup, as a Triton pod does); then the model is
    unloaded and loaded again through the repository API, timed alone until it answers ready."""

    def ready(path: str) -> Callable[[], bool]:
        return lambda: httpx.get(f"{server.url}{path}", timeout=1).status_code == 200

    start = time.perf_counter()
    server.start()
    wait_until(ready("/v2/health/ready"), server)
    wait_until(ready(f"/v2/models/{MODEL}/ready"), server)
    started = time.perf_counter() - start
    httpx.post(f"{server.url}/v2/repository/models/{MODEL}/unload", timeout=60).raise_for_status()
    start = time.perf_counter()
    httpx.post(f"{server.url}/v2/repository/models/{MODEL}/load", timeout=600).raise_for_status()
    wait_until(ready(f"/v2/models/{MODEL}/ready"), server)
    return started, time.perf_counter() - start


# --- the report ---------------------------------------------------------------------------------------------------


def sourced_lines(sizes: list[int]) -> list[str]:
    table = load_table()
    lines = ["Sourced cloud figures (components/data/cold_start.yaml, as `preflight coldstart` uses them):"]
    load = table.fact("load-seconds-per-gib")
    for size in sizes:
        gib = size / 1024
        copies = []
        for cloud, machine in CLOUD_MACHINES.items():
            start = cold_start(cloud, machine, gib, table)
            bandwidth = table.fact("bandwidth-gbps", cloud, machine).value
            copies.append(f"{cloud} {machine} {start.phase('model copy').seconds:.2f} s at {bandwidth:g} Gbps")
        lines.append(f"  {size:>5} MiB  model copy: {'; '.join(copies)}")
        lines.append(f"  {size:>5} MiB  model load: {gib * load.value:.1f} s (Triton on a GPU, {load.value:g} s/GiB)")
    lines.append(f"  (a copy at bandwidth B Gbps takes GiB x {GIGABITS_PER_GIB:.2f} / B seconds)")
    return lines


def render(copies: list[Measured], loads: list[Measured], sizes: list[int]) -> str:
    lines = ["Measured on this machine (loopback, emulators, CPU):"]
    for found in copies:
        lines.append(
            f"  {found.size_mib:>5} MiB  model copy from {found.what:<21} {found.seconds:7.2f} s"
            f"  ({found.mib_per_second:,.0f} MiB/s, {found.seconds / (found.size_mib / 1024):.1f} s/GiB)"
        )
    for found in loads:
        # the server's own start does not grow with the model: a rate per GiB only for the load alone
        rate = f"  ({found.seconds / (found.size_mib / 1024):.1f} s/GiB)" if "load" in found.what else ""
        lines.append(f"  {found.size_mib:>5} MiB  {found.what:<43} {found.seconds:7.2f} s{rate}")
    return "\n".join([*lines, "", *sourced_lines(sizes)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", default="100,1024", help="model repository sizes in MiB (default 100,1024)")
    parser.add_argument("--skip-storage", action="store_true", help="do not time the copy from the emulators")
    parser.add_argument("--skip-mlserver", action="store_true", help="do not time MLServer's load")
    args = parser.parse_args()
    try:
        sizes = [int(part) for part in args.sizes_mib.split(",")]
    except ValueError:
        parser.error(f"--sizes-mib: expected sizes in MiB separated by commas, got {args.sizes_mib!r}")
    if not sizes or any(not 1 <= size <= 8192 for size in sizes):
        parser.error("--sizes-mib: each size must be from 1 to 8192 MiB")
    with tempfile.TemporaryDirectory(prefix="coldstart-bench-") as scratch:
        workdir = Path(scratch)
        copies = [] if args.skip_storage else measure_copies(workdir, sizes)
        loads = [] if args.skip_mlserver else measure_loads(workdir, sizes)
    print(render(copies, loads, sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
