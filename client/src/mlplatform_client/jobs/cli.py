"""`mlplatform jobs submit`: place a training job on the cheapest allowed target and hand it to that cluster's Kueue;
`status`, `logs` and `cancel` for a job by name, through the target's Kubernetes API (kube.py, no kubectl).

    mlplatform jobs submit --image IMG --gpus 1 --accelerator L4 --hours 6 --use-spot \
        --max-price-per-hour 0.50 --fallback-to-on-demand [--target T] [--dry-run] -- python train.py
    mlplatform jobs status|logs|cancel NAME [--target T] [--team TEAM]

The reasons and the expected cost go to stderr, the Job (JSON) to stdout with --dry-run, so `> job.json` keeps only
the Job. Bad input or no target that may run the job: one line on stderr, exit 2, nothing submitted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import httpx

from mlplatform_client.jobs import kube
from mlplatform_client.jobs.manifest import dump, job_name, render_job
from mlplatform_client.jobs.offers import OffersError, TargetOffer, Team, offers_from_outputs
from mlplatform_client.jobs.placement import JobRequest, PlacementError, place
from mlplatform_client.jobs.status import describe, newest_pod

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
    for verb, text in (
        ("status", "the job's state, Kueue's admission and evictions, its pods"),
        ("logs", "the logs of the job's newest pod"),
        ("cancel", "delete the job and its pods"),
    ):
        command = jobs.add_parser(verb, help=text)
        command.add_argument("name", help="the Job's name (what submit printed)")
        command.add_argument("--target", help="the target it runs on (default: every training target, in order)")
        command.add_argument("--team", help="the team whose namespace it is in (needed with several)")
        command.add_argument("--stack", help="the Pulumi stack whose outputs to read (default: the selected one)")
        command.add_argument("--stack-outputs", type=Path, help="`pulumi stack output --json --show-secrets`, saved")
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


_JOB_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # a DNS label, as a Job's name must be


def _kubeconfig(outputs: dict[str, Any], target: str) -> str:
    kubeconfig = (outputs.get("kubeconfigs") or {}).get(target)
    if not isinstance(kubeconfig, str) or not kubeconfig or kubeconfig == "[secret]":
        raise _InputError(f"the stack outputs have no kubeconfig for {target} (need --show-secrets)")
    return kubeconfig


def _find(api: Any, namespace: str, name: str) -> dict[str, Any] | None:
    response = api.get(kube.job_path(namespace, name))
    return None if response.status_code == 404 else kube.checked(response)


def _manage(args: argparse.Namespace, run: Runner) -> int:
    """status, logs or cancel: the first target (in order, or --target) whose team namespace has the Job."""
    if not _JOB_NAME.fullmatch(args.name):
        raise _InputError(f"NAME: {args.name!r} is not a Job name (lowercase letters, digits and '-', at most 63)")
    outputs = _outputs(args, run)
    offers: tuple[TargetOffer, ...] = offers_from_outputs(outputs)
    names = [offer.target for offer in offers]
    if args.target is not None and args.target not in names:
        raise _InputError(f"--target: unknown target {args.target!r} (training targets: {', '.join(names)})")
    for offer in offers:
        if args.target not in (None, offer.target):
            continue
        namespace = _team(offer.teams, args.team).namespace
        cluster = kube.parse(_kubeconfig(outputs, offer.target))
        with kube.client(cluster, kube.credentials(cluster, run)) as api:
            job = _find(api, namespace, args.name)
            if job is None:
                continue
            _act(args.verb, api, namespace, job, offer.target)
            return 0
    where = args.target or ", ".join(names)
    raise _InputError(f"no job {args.name!r} in the team's namespace on {where}")


def _act(verb: str, api: Any, namespace: str, job: dict[str, Any], target: str) -> None:
    name = job["metadata"]["name"]
    pods = kube.checked(api.get(kube.pods_path(namespace), params=kube.pods_of(name)))["items"]
    if verb == "cancel":
        kube.checked(api.request("DELETE", kube.job_path(namespace, name), json=kube.DELETE_BACKGROUND))
        print(f"cancelled {namespace}/{name} on {target} ({len(pods)} pods stopping)", file=sys.stderr)
        return
    if verb == "logs":
        pod = newest_pod(pods)
        if pod is None:
            raise _InputError(f"{namespace}/{name} has no pod yet (see `mlplatform jobs status {name}`)")
        response = api.get(f"{kube.pods_path(namespace)}/{pod}/log", params={"container": "train"})
        if response.status_code >= 400:
            kube.checked(response)
        sys.stdout.write(response.text)
        return
    workloads = kube.checked(api.get(kube.workloads_path(namespace)))["items"]
    owned = [
        w
        for w in workloads
        if any(ref.get("kind") == "Job" and ref.get("name") == name for ref in w["metadata"].get("ownerReferences", []))
    ]
    print(f"target: {target}")
    print("\n".join(describe(job, owned[0] if owned else None, pods)))


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
    _apply(manifest, _kubeconfig(outputs, placement.offer.target), run)
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
        if args.verb == "submit":
            return _submit(args, command, run)
        if command:
            raise _InputError(f"{args.verb} takes no command after --")
        return _manage(args, run)
    except (_InputError, PlacementError, OffersError) as error:
        print(f"mlplatform: {error}", file=sys.stderr)
        return USAGE_ERROR
    except (kube.KubeError, httpx.HTTPError) as error:  # the cluster, not the input: exit 1
        print(f"mlplatform: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
