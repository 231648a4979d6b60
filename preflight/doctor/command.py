"""The `doctor` subcommand: its arguments and its handler, registered by preflight.cli in one call."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from components.machine_catalog import CLOUDS
from preflight.doctor import render_text, run_doctor
from preflight.doctor.live_aws import boto3_clients
from preflight.doctor.permissions import FILE_NAMES
from preflight.doctor.targets import targets_of
from preflight.errors import InputError
from preflight.outputs import check_writable, json_text, print_json, write_whole
from preflight.plan import Plan
from preflight.plan_file import load_plan

EXIT_OK = 0
EXIT_BLOCKED = 1


def add_doctor_command(commands: Any, plan_stack: Any) -> None:
    """Add `doctor` to preflight's subcommands; `plan_stack(project_dir, stack)` synthesizes a stack."""
    doctor = commands.add_parser("doctor", help="what the accounts need before `pulumi up`: quotas, prerequisites")
    source = doctor.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack name: synthesizes Pulumi.<stack>.yaml")
    source.add_argument("--plan", type=Path, metavar="FILE.json", help="a plan JSON (preflight plan --json)")
    doctor.add_argument("--cloud", action="append", metavar="CLOUD", help="only this cloud's targets (repeat)")
    doctor.add_argument("--json", metavar="FILE", help="also write the findings as JSON to FILE ('-' for stdout)")
    doctor.add_argument("--summary", action="store_true", help="print only the one-line summary")
    doctor.add_argument(
        "--live", action="store_true", help="answer the AWS checks from the account (read-only, your credentials)"
    )
    doctor.add_argument(
        "--permissions", type=Path, metavar="DIR", help="write the generated deploy and preview identities into DIR"
    )
    doctor.set_defaults(handler=lambda args: doctor_command(args, plan_stack))


def doctor_command(args: argparse.Namespace, plan_stack: Any) -> int:
    """Exit 0 when nothing blocks, 1 when something does; bad input is an InputError (exit 2)."""
    clouds = args.cloud or []
    unknown = [cloud for cloud in clouds if cloud not in CLOUDS]
    if unknown:
        raise InputError(f"--cloud: unknown cloud {unknown[0]!r}; expected one of {', '.join(CLOUDS)}")
    if args.permissions:
        for name in FILE_NAMES.values():
            check_writable(args.permissions / name, "the generated identities")
    if args.json and args.json != "-":
        check_writable(Path(args.json), "the findings")
    plan: Plan = load_plan(args.plan) if args.plan else plan_stack(args.project_dir, args.stack)
    wants_aws = (
        args.live and (not clouds or "aws" in clouds) and any(t.cloud == "aws" for t in targets_of(plan).values())
    )
    report = run_doctor(plan, date.today(), clouds, aws_clients=boto3_clients() if wants_aws else None)
    if args.permissions:
        for cloud, documents in sorted(report.permissions.items()):
            for identity, document in sorted(documents.items()):
                _write_json(args.permissions / FILE_NAMES[(cloud, identity)], document, "the generated identities")
    document = report.to_json()
    if args.json == "-":
        print_json(document)
        return EXIT_BLOCKED if report.blocking else EXIT_OK
    print(report.summary() if args.summary else render_text(report))
    if args.json:
        _write_json(Path(args.json), document, "the findings")
        print(f"Findings written to {args.json}")
    return EXIT_BLOCKED if report.blocking else EXIT_OK


def _write_json(path: Path, document: dict[str, Any], what: str) -> None:
    write_whole(path, (json_text(document) + "\n").encode(), what)
