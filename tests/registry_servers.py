"""A real PostgreSQL (Debian's `postgresql` package) and a real MLflow server (PyPI `mlflow` in .venv-mlflow) on
loopback, for the model registry tests.

PostgreSQL: initdb and postgres refuse to run as root, and CI runs as root; there they run as `nobody` through
util-linux's `setpriv` (a developer's own user runs them directly). The data directory is a fresh mkdtemp outside
pytest's root-only temp tree, so `nobody` can reach it. Password authentication (scram-sha-256) as on the clouds'
servers, TCP on loopback only, no Unix socket.

MLflow: `mlflow server` as the registry Deployment runs it (components/model_registry/workload.py's arguments, with
the loopback address and port), its backend store the PostgreSQL above.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from components.model_registry.workload import server_arguments
from tests.emulators.storage import _stop, free_port

HOST = "127.0.0.1"
MLFLOW_VENV = Path(__file__).resolve().parent.parent / ".venv-mlflow"
MLFLOW = MLFLOW_VENV / "bin" / "mlflow"
STARTUP_SECONDS = 90.0
USER, DATABASE = "platform", "metadata"  # MetadataDbArgs' defaults


class ServerError(RuntimeError):
    """A server is not installed or did not come up: the test fails with this message."""


def postgres_bin() -> Path:
    """The newest Debian PostgreSQL's binaries (/usr/lib/postgresql/<major>/bin)."""
    root = Path("/usr/lib/postgresql")
    found = sorted((p for p in root.glob("*/bin/postgres")), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise ServerError("PostgreSQL is not installed: apt-get install postgresql (make tools does it as root)")
    return found[-1].parent


def _as_unprivileged() -> list[str]:
    """A prefix that runs a command as `nobody` when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def _wait(name: str, ready: object, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"{name} exited with {process.returncode}: {log.read_text()[-2000:]}")
        if callable(ready) and ready():
            return
        time.sleep(0.2)
    raise ServerError(f"{name} did not come up within {STARTUP_SECONDS:.0f} s: {log.read_text()[-2000:]}")


@dataclass(frozen=True)
class Postgres:
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{self.password}@{HOST}:{self.port}/{DATABASE}"


def _accepts(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


@contextmanager
def running_postgres() -> Iterator[Postgres]:
    """A fresh cluster with the MetadataDB's user and database, on a free loopback port; removed afterwards."""
    binaries = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="mlplatform-pg-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        password = secrets.token_urlsafe(16)
        (root / "pw").write_text(password)
        if os.geteuid() == 0:
            shutil.chown(root, "nobody", "nogroup")
            shutil.chown(root / "pw", "nobody", "nogroup")
        log = root / "postgres.log"
        init = [str(binaries / "initdb"), "-D", str(root / "data"), "-U", USER, "--pwfile", str(root / "pw")]
        done = subprocess.run(
            [*_as_unprivileged(), *init, "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise ServerError(f"initdb failed: {done.stderr.strip()[-1000:]}")
        port = free_port()
        command = [str(binaries / "postgres"), "-D", str(root / "data"), "-h", HOST, "-p", str(port)]
        settings = ["-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "max_connections=40"]
        with log.open("wb") as out:
            process = subprocess.Popen([*_as_unprivileged(), *command, *settings], stdout=out, stderr=subprocess.STDOUT)
        _wait("postgres", lambda: _accepts(port), process, log)
        created = subprocess.run(
            [str(binaries.parent / "bin" / "createdb"), "-h", HOST, "-p", str(port), "-U", USER, DATABASE],
            env={**os.environ, "PGPASSWORD": password},
            capture_output=True,
            text=True,
            check=False,
        )
        if created.returncode != 0:
            raise ServerError(f"createdb failed: {created.stderr.strip()}")
        yield Postgres(port, password)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Mlflow:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The registry's base URL as the client takes it: the gateway's path prefix included."""
        return f"http://{HOST}:{self.port}/mlflow"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running_mlflow(workdir: Path, backend_store_uri: str) -> Iterator[Mlflow]:
    """`mlflow server` with the Deployment's arguments, on a free loopback port; stopped on exit."""
    if not MLFLOW.exists():
        raise ServerError(f"{MLFLOW} is missing: make .venv-mlflow/.installed (tests/mlflow/requirements.txt)")
    port = free_port()
    log = workdir / "mlflow.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))},
        "MLFLOW_BACKEND_STORE_URI": backend_store_uri,  # as the Deployment hands it over: from a Secret
        "HOME": str(workdir),
    }
    # One worker: the same server, half the start-up on a 2-core machine.
    # Host headers on loopback, any port: its own and the test gateway's (the guard compares the whole header).
    arguments = server_arguments(host=HOST, port=port, allowed_hosts=(f"{HOST}:*",), workers=1)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(MLFLOW), *arguments],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
            start_new_session=True,
        )
    try:
        _wait("mlflow server", lambda: _answers(f"http://{HOST}:{port}/mlflow/health"), process, log)
        yield Mlflow(port, process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # uvicorn's workers too
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
