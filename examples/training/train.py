"""A training script that keeps the checkpoint contract (docs/TRAINING.md, "The checkpoint contract").

    mlplatform jobs submit --image <your image with this file> --gpus 1 --accelerator T4 --hours 2 \
        --use-spot --fallback-to-on-demand -- python train.py --steps 20000

What it shows, with a toy model (a running mean) in place of yours:
- on start, it resumes from `<MLPLATFORM_CHECKPOINT_URI>/latest` if a checkpoint is there (a new pod after a
  reclaim, or after Kueue moved the job to on demand, starts this way);
- it checkpoints every MLPLATFORM_CHECKPOINT_INTERVAL_SECONDS: the state under `step-<n>/`, then the `latest`
  marker last, so a reader never follows a half-written checkpoint;
- on SIGTERM (a spot reclaim's notice, within the pod's 30 s grace) it writes one more checkpoint and exits 143, so
  the pod fails and the Job makes a new one (the reclaim is not counted against backoffLimit), which resumes.
Storage: a local path or file:// URI with the standard library (the test runs it so), any other URI (s3://, gs://,
https://<account>.blob.core.windows.net/...) through fsspec with s3fs, gcsfs or adlfs, installed in your image; the
pod's cloud identity (the team's trainer, docs/TRAINING.md) is what those libraries pick up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class Store:
    """Read and write small files under the checkpoint URI."""

    def __init__(self, uri: str) -> None:
        parts = urlsplit(uri)
        self.local = Path(parts.path) if parts.scheme in ("", "file") else None
        if self.local is None:
            import fsspec  # type: ignore[import-not-found,unused-ignore]  # in your image, with the cloud's filesystem

            self.fs, self.root = fsspec.core.url_to_fs(uri)

    def read(self, name: str) -> bytes | None:
        if self.local is not None:
            path = self.local / name
            return path.read_bytes() if path.exists() else None
        key = f"{self.root}/{name}"
        return self.fs.cat(key) if self.fs.exists(key) else None

    def write(self, name: str, data: bytes) -> None:
        if self.local is not None:
            path = self.local / name
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(path.name + ".part")
            temporary.write_bytes(data)
            temporary.replace(path)
            return
        with self.fs.open(f"{self.root}/{name}", "wb") as handle:
            handle.write(data)


def load(store: Store) -> tuple[int, dict[str, Any]]:
    marker = store.read("latest")
    if marker is None:
        return 0, {"mean": 0.0}
    step = int(marker.decode())
    state = store.read(f"step-{step}/state.json")
    if state is None:  # a marker is written last, so this is someone else's damage: refuse, do not start over
        raise SystemExit(f"checkpoint step-{step} named by latest is missing")
    return step, json.loads(state)


def save(store: Store, step: int, state: dict[str, Any]) -> None:
    store.write(f"step-{step}/state.json", json.dumps(state).encode())
    store.write("latest", str(step).encode())  # the marker, last


def train_step(step: int, state: dict[str, Any]) -> dict[str, Any]:
    """Your training step. Idempotent from any checkpoint: after a reclaim the same steps may run twice."""
    mean = state["mean"] + (step % 10 - state["mean"]) / (step + 1)
    return {"mean": mean}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--step-seconds", type=float, default=0.0, help="simulate work per step")
    args = parser.parse_args(argv)
    store = Store(os.environ["MLPLATFORM_CHECKPOINT_URI"])
    every = float(os.environ.get("MLPLATFORM_CHECKPOINT_INTERVAL_SECONDS", "600"))
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    step, state = load(store)
    print(f"starting at step {step}", flush=True)
    last = time.monotonic()
    while step < args.steps and not stop:
        state = train_step(step, state)
        step += 1
        time.sleep(args.step_seconds)
        if time.monotonic() - last >= every:
            save(store, step, state)
            last = time.monotonic()
    save(store, step, state)
    if stop:
        print(f"reclaimed at step {step}: checkpoint written", flush=True)
        return 143  # 128 + SIGTERM: the pod failed; the Job makes a new one, which resumes
    print(f"done at step {step}: mean {state['mean']:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
