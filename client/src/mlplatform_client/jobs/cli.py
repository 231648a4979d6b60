"""`mlplatform jobs submit`: place a training job on the cheapest allowed target and hand it to that cluster's Kueue.

    mlplatform jobs submit --image IMG --gpus 1 --accelerator L4 --hours 6 --use-spot \
        --max-price-per-hour 0.50 --fallback-to-on-demand [--target T] [--dry-run] -- python train.py

The reasons and the expected cost go to stderr, the Job (JSON) to stdout with --dry-run, so `> job.json` keeps only
the Job. Bad input or no target that may run the job: one line on stderr, exit 2, nothing submitted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from mlplatform_client.jobs.manifest import dump, job_name, render_job
from mlplatform_client.jobs.offers import OffersError, Team, offers_from_outputs
from mlplatform_client.jobs.placement import JobRequest, PlacementError, place

USAGE_ERROR = 2
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class _InputError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        raise _InputError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mlplatform", description="mlplatform training jobs")
    groups = parser.add_subparsers(dest="group", required=True)
    jobs = groups.add_parser("jobs", help="training jobs").add_subparsers(dest="verb", required=True)
    submit = jobs.add_parser("submit", help="place a GPU job on the cheapest allowed target (command after --)")
    submit.add_argument("--image", required=True)
    submit.add_argument("--gpus", type=int, required=True)
    submit.add_argument("--accelerator", required=True, help="T4, L4, A10G, A10, A100, H100")
    submit.add_argument("--hours", type=float, required=True, help="expected run time, for the cost estimate")
    submit.add_argument("--use-spot", action="store_true")
    submit.add_argument("--max-price-per-hour", type=float, help="USD per GPU-hour the job may pay at most")
    submit.add_argument("--fallback-to-on-demand", action="store_true")
    submit.add_argument(
        "--max-reclaims", type=int, default=2, help="with fallback: spot evictions before moving to on demand (0: off)"
    )
    submit.add_argument(
        "--max-wait-minutes", type=float, default=60, help="with fallback: minutes unadmitted before on demand (0: off)"
    )
    submit.add_argument("--target", help="run on this target only")
    submit.add_argument("--team", help="the team whose namespace and queue the job uses (needed with several)")
    submit.add_argument("--name", help="the Job's name (default: derived from the image, command and GPUs)")
    submit.add_argument("--stack", help="the Pulumi stack whose outputs to read (default: the selected one)")
    submit.add_argument("--stack-outputs", type=Path, help="`pulumi stack output --json --show-secrets`, saved")
    submit.add_argument("--dry-run", action="store_true", help="print the Job instead of applying it")
    return parser


def _outputs(args: argparse.Namespace, run: Runner) -> dict[str, Any]:
    if args.stack_outputs is not None:
        try:
            loaded = json.loads(args.stack_outputs.read_text())
        except (OSError, ValueError) as error:
            raise _InputError(f"--stack-outputs: cannot read {args.stack_outputs}: {error}") from None
    else:
        command = ["pulumi", "stack", "output", "--json", "--show-secrets"]
        if args.stack:
            command += ["--stack", args.stack]
        try:
            done = run(command, capture_output=True, text=True, check=False)
        except OSError as error:
            raise _InputError(f"cannot run pulumi to read the stack outputs ({error}); pass --stack-outputs") from None
        if done.returncode != 0:
            last = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
            raise _InputError(f"pulumi stack output failed: {last[0]}")
        try:
            loaded = json.loads(done.stdout)
        except ValueError:
            raise _InputError("pulumi stack output printed no JSON object") from None
    if not isinstance(loaded, dict):
        raise _InputError("the stack outputs are not a JSON object")
    return loaded


def _apply(manifest: str, kubeconfig: str, run: Runner) -> None:
    """kubectl apply with the target's kubeconfig, written to a private temporary file and removed after."""
    with tempfile.NamedTemporaryFile("w", suffix=".kubeconfig", delete=False) as handle:
        handle.write(kubeconfig)
    try:
        os.chmod(handle.name, 0o600)
        done = run(["kubectl", "--kubeconfig", handle.name, "apply", "-f", "-"], input=manifest, text=True, check=False)
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        raise _InputError("kubectl apply failed (its message is above)")


def _team(teams: tuple[Team, ...], wanted: str | None) -> Team:
    names = ", ".join(team.name for team in teams)
    if wanted is None:
        if len(teams) == 1:
            return teams[0]
        raise _InputError(f"--team: the stack has several training teams; pick one of {names}")
    for team in teams:
        if team.name == wanted:
            return team
    raise _InputError(f"--team: unknown team {wanted!r} (teams: {names})")


def _submit(args: argparse.Namespace, command: Sequence[str], run: Runner) -> int:
    request = JobRequest(
        image=args.image,
        gpus=args.gpus,
        accelerator=args.accelerator,
        hours=args.hours,
        command=tuple(command),
        use_spot=args.use_spot,
        max_price_per_gpu_hour=args.max_price_per_hour,
        fallback_to_on_demand=args.fallback_to_on_demand,
        target=args.target,
        max_reclaims=args.max_reclaims,
        max_wait_minutes=args.max_wait_minutes,
    )
    outputs = _outputs(args, run)
    placement = place(request, offers_from_outputs(outputs))
    team = _team(placement.offer.teams, args.team)
    name = args.name or job_name(request)
    manifest = dump(render_job(request, placement, name, team))
    for reason in placement.reasons:
        print(f"why: {reason}", file=sys.stderr)
    cost = f"expected cost: ${placement.cost(request.hours, request.gpus):.2f} for {request.hours:g} h"
    if placement.fallback:
        cost += f" (all on demand: ${placement.worst_case_cost(request.hours, request.gpus):.2f})"
    print(cost, file=sys.stderr)
    if args.dry_run:
        sys.stdout.write(manifest)
        return 0
    kubeconfig = (outputs.get("kubeconfigs") or {}).get(placement.offer.target)
    if not isinstance(kubeconfig, str) or not kubeconfig or kubeconfig == "[secret]":
        raise _InputError(f"the stack outputs have no kubeconfig for {placement.offer.target} (need --show-secrets)")
    _apply(manifest, kubeconfig, run)
    print(f"submitted {team.namespace}/{name} to {placement.offer.target}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None, run: Runner = subprocess.run) -> int:
    """`run` executes pulumi and kubectl (subprocess.run's signature); tests pass their own."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, command = argv[:at], argv[at + 1 :]
    try:
        args = _parser().parse_args(argv)
        return _submit(args, command, run)
    except (_InputError, PlacementError, OffersError) as error:
        print(f"mlplatform: {error}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
