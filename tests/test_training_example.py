"""The example training script (examples/training/train.py) keeps the checkpoint contract: reclaimed by SIGTERM it
writes a checkpoint and fails, and the next run resumes there and ends where an uninterrupted run ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "training" / "train.py"
STEPS = ["--steps", "600", "--step-seconds", "0.005"]


def _run(checkpoints: Path, *, reclaim_after: float | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MLPLATFORM_CHECKPOINT_URI": checkpoints.as_uri(),
        "MLPLATFORM_CHECKPOINT_INTERVAL_SECONDS": "0.2",
    }
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *STEPS], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if reclaim_after is not None:
        time.sleep(reclaim_after)
        process.send_signal(signal.SIGTERM)  # what the kubelet sends when the spot node is reclaimed
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_a_reclaimed_run_checkpoints_and_the_next_resumes_to_the_same_result(tmp_path: Path) -> None:
    reclaimed = _run(tmp_path / "job", reclaim_after=1.0)
    assert reclaimed.returncode == 143, reclaimed.stderr
    step = int((tmp_path / "job" / "latest").read_text())
    assert 0 < step < 600 and (tmp_path / "job" / f"step-{step}" / "state.json").exists()
    resumed = _run(tmp_path / "job")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith(f"starting at step {step}\n")
    whole = _run(tmp_path / "whole")
    assert whole.stdout.startswith("starting at step 0\n")
    assert resumed.stdout.splitlines()[-1] == whole.stdout.splitlines()[-1]  # "done at step 600: mean ..."
