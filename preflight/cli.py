"""`python -m preflight <command>`: exit 0 when fine, 2 on bad input (one line on stderr).

A reader that stops early (`| head`) ends the command quietly with exit 141, as a Unix tool killed by
SIGPIPE reports in the shell (128 + 13): no traceback, and `set -o pipefail` still sees that the
output was cut short.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from datetime import date
from pathlib import Path

from preflight.arguments import positive_number, positive_whole
from preflight.chargeback import add_chargeback_command
from preflight.coldstart import build_report as build_coldstart
from preflight.coldstart import load_config as load_coldstart_config
from preflight.coldstart import render_text as render_coldstart
from preflight.compare import compare_gpu, render_comparison
from preflight.cost import price_plan
from preflight.cost_diff import diff_costs, render_markdown
from preflight.cost_render import render_cost
from preflight.diagram import FORMATS as DIAGRAM_FORMATS
from preflight.diagram import DiagramError, diagram_source, require_renderer
from preflight.diagram import render as render_diagram
from preflight.doctor.command import add_doctor_command
from preflight.drill import drill_config, run_drill
from preflight.drill import render_text as render_drill
from preflight.errors import InputError
from preflight.outputs import NotJsonError, check_writable, json_text, print_json, write_whole
from preflight.plan import Plan, render_text
from preflight.plan_file import load_plan
from preflight.plan_warnings import plan_warnings
from preflight.plan_warnings import render_text as render_warnings
from preflight.policy_packs import PolicyPackError, load_policy_config, run_policy_packs
from preflight.policy_report import PolicyReport
from preflight.policy_report import render_text as render_policy
from preflight.stack_files import load_stack
from preflight.synthesize import PROJECT_DIR, ProgramError, synthesize
from preflight.timeline import build_timeline
from preflight.timeline import render_text as render_timeline
from stacks.config import ConfigError, parse_stack_config

EXIT_OK = 0
EXIT_PROGRAM_FAILED = 1
EXIT_MANDATORY_VIOLATION = 1
EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what the shell reports for a tool whose reader went away
MAX_HOURS = 1_000_000.0  # compare --hours: over a century of one GPU; more would only overflow the totals
MAX_GPUS = 100_000  # compare --count


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # The reader is gone: send what is still buffered nowhere, so the exit flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except NotJsonError as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_PROGRAM_FAILED
    except InputError as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ProgramError as error:
        print(f"preflight: the program failed: {error}", file=sys.stderr)
        if os.environ.get("PREFLIGHT_DEBUG"):
            traceback.print_exception(error.__cause__ or error)
        else:
            print("preflight: set PREFLIGHT_DEBUG=1 for the traceback", file=sys.stderr)
        return EXIT_PROGRAM_FAILED
    except PolicyPackError as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_PROGRAM_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="preflight", description=__doc__)
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)

    plan = commands.add_parser("plan", help="synthesize a stack offline and show what it would create")
    plan.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    plan.add_argument("--json", metavar="FILE", help="also write the plan as JSON to FILE ('-' for stdout)")
    _add_policy_options(plan)
    plan.set_defaults(handler=_plan_command)

    drill = commands.add_parser("drill", help="work out on the plan what clients get when targets fail")
    drill.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    drill.add_argument("--fail", action="append", required=True, metavar="TARGET", help="a target that fails (repeat)")
    drill.add_argument("--json", action="store_true", help="print the result as JSON")
    drill.set_defaults(handler=_drill_command)

    policy = commands.add_parser("policy", help="check a stack or a plan graph with the policy packs")
    source = policy.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack name: synthesizes Pulumi.<stack>.yaml")
    source.add_argument("--graph", type=Path, metavar="FILE.json", help="a graph in the plan JSON shape")
    policy.add_argument("--json", action="store_true", help="print the violations as JSON")
    _add_policy_options(policy)
    policy.set_defaults(handler=_policy_command)

    cost = commands.add_parser("cost", help="monthly cost per target at idle and at peak, from the price table")
    cost.add_argument("--stack", required=True, help="stack name: synthesizes Pulumi.<stack>.yaml")
    cost.add_argument("--against", type=Path, metavar="BASE.json", help="a base plan JSON: the change, as Markdown")
    cost.add_argument("--json", action="store_true", help="print the figures as JSON")
    cost.set_defaults(handler=_cost_command)

    compare = commands.add_parser("compare", help="the same GPU workload priced on each cloud, cheapest first")
    compare.add_argument("--gpu", required=True, help="accelerator: T4, L4, A10G, A10, A100 or H100")
    compare.add_argument(
        "--hours", required=True, type=positive_number(MAX_HOURS), help="GPU hours of the workload (finite, above 0)"
    )
    compare.add_argument("--count", type=positive_whole(MAX_GPUS), default=1, help="GPUs used at once (default 1)")
    compare.add_argument("--spot", action="store_true", help="price spot capacity instead of on demand")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.set_defaults(handler=_compare_command)

    timeline = commands.add_parser("timeline", help="how long `pulumi up` takes: the critical path of the plan")
    timeline.add_argument("--stack", required=True, help="stack name: synthesizes Pulumi.<stack>.yaml")
    timeline.add_argument("--json", action="store_true", help="print the timeline as JSON")
    timeline.set_defaults(handler=_timeline_command)

    coldstart = commands.add_parser("coldstart", help="how long a GPU replica takes to serve on a new node, by phase")
    coldstart.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    coldstart.add_argument("--json", action="store_true", help="print the phases as JSON")
    coldstart.set_defaults(handler=_coldstart_command)

    diagram = commands.add_parser("diagram", help="the platform as a picture: targets, components, DNS, edges")
    diagram.add_argument("--stack", required=True, help="stack name: synthesizes Pulumi.<stack>.yaml")
    diagram.add_argument("--out", required=True, type=Path, metavar="FILE", help="FILE.svg or FILE.png")
    diagram.set_defaults(handler=_diagram_command)

    add_doctor_command(commands, plan_stack)
    add_chargeback_command(commands)
    return parser


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pack", action="append", type=Path, metavar="DIR", help="a policy pack directory (repeat; default: policies/)"
    )
    parser.add_argument(
        "--policy-config", type=Path, metavar="FILE.json", help="policy config, as for pulumi --policy-pack-config"
    )


def plan_stack(project_dir: Path, stack: str) -> Plan:
    """Validate the stack's config first (nothing is made on bad input), then synthesize."""
    stack_file = load_stack(project_dir, stack)
    try:
        parse_stack_config(stack_file.config, stack=stack, project=stack_file.project)
    except ConfigError as error:
        raise InputError(f"Pulumi.{stack}.yaml: {error}") from None
    return synthesize(stack_file, project_dir)


def _plan_command(args: argparse.Namespace) -> int:
    """The plan with what the policy packs say of it; the gate itself is `preflight policy`."""
    if args.json and args.json != "-":
        check_writable(Path(args.json), "the plan")  # before the synthesis, not after it
    plan = plan_stack(args.project_dir, args.stack)
    report = _check_policies(args, plan)
    cost = price_plan(plan)
    timeline = build_timeline(plan)
    warnings = plan_warnings(plan, date.today())
    document = {
        **plan.to_json(),
        "policy": report.to_json(),
        "cost": cost.to_json(),
        "timeline": timeline.to_json(),
        "warnings": [warning.to_json() for warning in warnings],
    }
    if args.json == "-":
        print_json(document)
        return EXIT_OK
    print(render_text(plan))
    print()
    print(render_policy(report, plan))
    print()
    print(render_warnings(warnings))
    print(f"\nMonthly cost: {cost.idle:,.2f} {cost.currency} idle, {cost.peak:,.2f} at peak (preflight cost)")
    print(f"Deploy: about {timeline.critical_minutes:.0f} min on the critical path (preflight timeline)")
    if args.json:
        _write_json(Path(args.json), document)
        print(f"\nPlan written to {args.json}")
    return EXIT_OK


def _policy_command(args: argparse.Namespace) -> int:
    """Exit 1 when any mandatory policy is violated, as `pulumi preview --policy-pack` fails."""
    plan = load_plan(args.graph) if args.graph else plan_stack(args.project_dir, args.stack)
    report = _check_policies(args, plan, required=True)
    _print(report.to_json() if args.json else render_policy(report, plan), as_json=args.json)
    return EXIT_MANDATORY_VIOLATION if report.mandatory else EXIT_OK


def _cost_command(args: argparse.Namespace) -> int:
    base_plan = load_plan(args.against) if args.against else None  # a bad base file fails before the synthesis
    report = price_plan(plan_stack(args.project_dir, args.stack))
    if base_plan is not None:
        base = price_plan(base_plan)
        diff = diff_costs(base, report)
        _print(diff.to_json() if args.json else render_markdown(diff, args.against.name), as_json=args.json)
        return EXIT_OK
    _print(report.to_json() if args.json else render_cost(report), as_json=args.json)
    return EXIT_OK


def _compare_command(args: argparse.Namespace) -> int:
    comparison = compare_gpu(args.gpu, args.hours, args.count, args.spot)
    _print(comparison.to_json() if args.json else render_comparison(comparison), as_json=args.json)
    return EXIT_OK


def _timeline_command(args: argparse.Namespace) -> int:
    timeline = build_timeline(plan_stack(args.project_dir, args.stack))
    _print(timeline.to_json() if args.json else render_timeline(timeline), as_json=args.json)
    return EXIT_OK


def _coldstart_command(args: argparse.Namespace) -> int:
    """Exit 0 when every replica starts within the budget, else 1 (what the policy pack would refuse in prod)."""
    report = build_coldstart(load_coldstart_config(args.project_dir, args.stack))
    _print(report.to_json() if args.json else render_coldstart(report), as_json=args.json)
    return 1 if report.over_budget else EXIT_OK


def _diagram_command(args: argparse.Namespace) -> int:
    """Exit 2 on a bad --out, 1 when no renderer is found or it fails; the first two are found before synthesis."""
    out: Path = args.out
    fmt = out.suffix.lower().removeprefix(".")
    if fmt not in DIAGRAM_FORMATS:
        raise InputError(f"{out}: --out must end in {' or '.join('.' + f for f in DIAGRAM_FORMATS)}")
    check_writable(out, "the diagram")
    try:
        require_renderer()
        picture = render_diagram(diagram_source(plan_stack(args.project_dir, args.stack)), fmt)
    except DiagramError as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_PROGRAM_FAILED
    write_whole(out, picture, "the diagram")
    print(f"Diagram written to {out}")
    return EXIT_OK


def _print(document: object, *, as_json: bool) -> None:
    if as_json:
        print_json(document)
    else:
        print(document)


def _check_policies(args: argparse.Namespace, plan: Plan, *, required: bool = False) -> PolicyReport:
    """Run the packs given, else the project's own policies/ (when it has one, or fail if required)."""
    default = args.project_dir / "policies"
    packs = args.pack or ([default] if (default / "PulumiPolicy.yaml").is_file() or required else [])
    config = load_policy_config(args.policy_config) if args.policy_config else {}
    return run_policy_packs(plan, packs, config)


def _drill_command(args: argparse.Namespace) -> int:
    """Exit 0 when every client region keeps an answer and the survivors carry the peak, else 1."""
    config, failed = drill_config(args.project_dir, args.stack, args.fail)
    report = run_drill(plan_stack(args.project_dir, args.stack), config, failed)
    _print(report.to_json() if args.json else render_drill(report), as_json=args.json)
    return report.exit_code


def _write_json(path: Path, document: dict) -> None:
    """Write whole or not at all: a half-written plan would mislead the tools that read it."""
    write_whole(path, (json_text(document) + "\n").encode(), "the plan")
