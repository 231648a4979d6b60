"""Real KServe V2 servers for the client's tests and benchmark: MLServer processes on loopback ports.

MLServer lives in its own venv, `.venv-mlserver` (made by `make test` from tests/mlserver/requirements.txt),
so its dependencies never meet the Pulumi SDK pins. The model is trained by that venv's own Python
(tests/mlserver/train.py), so the pickle matches the scikit-learn that loads it.

Each server gets its own HTTP, gRPC and metrics ports and its own working folders, serves the one model
repository, and logs to a file that is shown if it fails to start. Start-up is made cheap: no parallel
inference workers (a worker process per model otherwise), no access log.

No pytest here: the benchmark uses it too.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
MLSERVER_VENV = REPO / ".venv-mlserver"
MLSERVER = MLSERVER_VENV / "bin" / "mlserver"
MLSERVER_PYTHON = MLSERVER_VENV / "bin" / "python"
REQUIREMENTS = REPO / "tests" / "mlserver" / "requirements.txt"
TRAIN = REPO / "tests" / "mlserver" / "train.py"
MODEL = "fraud-detection"
START_TIMEOUT = 60.0


class MLServerMissingError(RuntimeError):
    """The MLServer venv is not there: the client tests need real servers and do not skip without them."""


def check_mlserver() -> None:
    if not MLSERVER.exists() or not MLSERVER_PYTHON.exists():
        raise MLServerMissingError(
            f"{MLSERVER} not found: the client tests run real MLServer processes. `make test` creates the venv; "
            f"by hand: python3 -m venv {MLSERVER_VENV.name} && {MLSERVER_VENV.name}/bin/pip install -r "
            f"{REQUIREMENTS.relative_to(REPO)}"
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the server gets SIGKILL if the test process dies, so no server outlives a crashed run."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass(frozen=True)
class Expected:
    """Inputs and the model's own predictions for them, written at training time."""

    features: int
    inputs: list[list[float]]
    predict: list[int]


def train(directory: Path, model: str = MODEL) -> Expected:
    check_mlserver()
    subprocess.run([str(MLSERVER_PYTHON), str(TRAIN), str(directory), model], check=True, timeout=120)
    data = json.loads((directory / "expected.json").read_text())
    return Expected(data["features"], data["inputs"], data["predict"])


class MLServer:
    """One `mlserver start` process serving the model repository on its own loopback ports."""

    def __init__(self, name: str, repository: Path, workdir: Path) -> None:
        self.name = name
        self.repository = repository
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = self.workdir / "mlserver.log"
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.metrics_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        check_mlserver()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLSERVER_")}
        env.update(
            MLSERVER_HOST="127.0.0.1",
            MLSERVER_HTTP_PORT=str(self.http_port),
            MLSERVER_GRPC_PORT=str(self.grpc_port),
            MLSERVER_METRICS_PORT=str(self.metrics_port),
            MLSERVER_METRICS_DIR=str(self.workdir / "metrics"),
            MLSERVER_ENVIRONMENTS_DIR=str(self.workdir / "envs"),
            MLSERVER_PARALLEL_WORKERS="0",  # infer in the server process: no worker pool to start
            MLSERVER_DEBUG="false",  # no access log line per request
            MLSERVER_LOAD_MODELS_AT_STARTUP="true",
            PYTHONUNBUFFERED="1",
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(MLSERVER), "start", str(self.repository)],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so kill() reaches anything it spawns
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )

    def wait_ready(self, model: str = MODEL, timeout: float = START_TIMEOUT) -> None:
        """Until the model answers ready; a server that exits or takes too long fails with its log."""
        end = time.monotonic() + timeout
        url = f"{self.url}/v2/models/{model}/ready"
        while time.monotonic() < end:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"MLServer {self.name} exited with {self.process.returncode}:\n{self._log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"MLServer {self.name} not ready after {timeout:.0f} s:\n{self._log_tail()}")

    def kill(self) -> None:
        """SIGKILL the server's process group: no graceful shutdown, in-flight requests are cut off."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class ServerFarm:
    """Trained model plus N MLServer processes, started together (they take a few seconds each)."""

    def __init__(self, names: Sequence[str], workdir: Path) -> None:
        self.workdir = workdir
        self.repository = workdir / "models"
        self.expected = train(self.repository)
        self.servers = {name: MLServer(name, self.repository, workdir) for name in names}

    def start(self) -> ServerFarm:
        for server in self.servers.values():
            server.start()
        try:
            for server in self.servers.values():
                server.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __getitem__(self, name: str) -> MLServer:
        return self.servers[name]

    def infer_body(self, rows: int = 1) -> dict[str, Any]:
        """A V2 request body for the first `rows` expected inputs (what a bare HTTP caller would send)."""
        data = self.expected.inputs[:rows]
        return {"inputs": [{"name": "x", "shape": [rows, self.expected.features], "datatype": "FP32", "data": data}]}


@contextlib.contextmanager
def server_farm(names: Sequence[str]) -> Iterator[ServerFarm]:
    with tempfile.TemporaryDirectory(prefix="mlplatform-client-") as tmp:
        farm = ServerFarm(names, Path(tmp))
        farm.start()
        try:
            yield farm
        finally:
            farm.stop()


# --- one farm per test process, shared by the client test modules ---

TEST_SERVERS = ("a", "b", "c", "victim")  # "victim" is killed by a test; the others stay up
_shared: ServerFarm | None = None


def shared_farm() -> ServerFarm:
    """The test process's servers, started on first use (a few seconds) and stopped when it exits."""
    global _shared
    if _shared is None:
        check_mlserver()
        workdir = Path(tempfile.mkdtemp(prefix="mlplatform-client-tests-"))
        try:
            farm = ServerFarm(TEST_SERVERS, workdir).start()
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        atexit.register(_stop_shared, farm, workdir)
        _shared = farm
    return _shared


def _stop_shared(farm: ServerFarm, workdir: Path) -> None:
    farm.stop()
    shutil.rmtree(workdir, ignore_errors=True)
