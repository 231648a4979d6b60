"""The `mlplatform` console script: `mlplatform models publish|status|promote|rollback` (moves.py: the last two).

Exit codes: 0 done (or nothing to do); 1 an upload broke part way (no marker written: run again) or, for status, a
version is not complete on every target; 2 bad input or a refusal, as one line naming what is wrong, nothing written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlplatform_client.models import moves, readiness
from mlplatform_client.models.errors import ModelsError
from mlplatform_client.models.publish import UploadFailedError, publish
from mlplatform_client.models.recording import record_version, recorded_lines, registry_target
from mlplatform_client.models.stack import read_outputs, stack_facts
from mlplatform_client.models.status import serving, status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ModelsError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mlplatform", description="mlplatform's model lifecycle")
    groups = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)
    models = groups.add_parser("models", help="publish and check model versions").add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    stack_args = _Parser(add_help=False)
    stack_args.add_argument("--outputs", help="a file with `pulumi stack output --json` (default: run pulumi)")
    stack_args.add_argument("--stack", help="the Pulumi stack, when pulumi is run")
    pub = models.add_parser("publish", parents=[stack_args], help="publish DIR as MODEL/VERSION to the primary bucket")
    pub.add_argument("directory", help="a Triton model repository: MODEL/config.pbtxt, MODEL/1/...")
    pub.add_argument("--model", required=True)
    pub.add_argument("--version", required=True, help="the version's name, such as v3: published at MODEL/VERSION")
    pub.add_argument("--key", help="the Ed25519 signing key (PEM); default $MODEL_SIGNING_KEY")
    pub.add_argument(
        "--new-model", action="store_true", help="the first version of a model the stack does not serve yet"
    )
    pub.add_argument("--unsigned", action="store_true", help="publish without a signature (a stack with no publicKey)")
    pub.add_argument("--no-registry", action="store_true", help="do not record the version in the model registry")
    pub.add_argument("--registry-url", help="the model registry (default: the stack output modelRegistry.url)")
    stat = models.add_parser("status", parents=[stack_args], help="per version and target: complete or not")
    stat.add_argument("model", nargs="?", help="one model (default: every model in the buckets)")
    stat.add_argument("--json", action="store_true", help="print JSON: {version: {target: state}}")
    stat.add_argument("--no-ready", action="store_true", help="do not ask the gateways whether versions are ready")
    stat.add_argument("--timeout", type=float, default=readiness.TIMEOUT_SECONDS, help="per readiness request (s)")
    stat.add_argument("--no-registry", action="store_true", help="do not read the model registry's records")
    stat.add_argument("--registry-url", help="the model registry (default: the stack output modelRegistry.url)")
    moves.add_parsers(models)  # the subparsers' parser_class (_Parser) makes each one
    return parser


def _publish(args: argparse.Namespace) -> int:
    outputs = read_outputs(args.outputs, args.stack)
    stack = stack_facts(outputs)
    registry = None if args.no_registry else registry_target(outputs, args.registry_url)
    try:
        done = publish(stack, Path(args.directory), args.model, args.version, args.key, args.unsigned, args.new_model)
    except UploadFailedError as error:
        print(f"mlplatform: {error}; run the same command again", file=sys.stderr)
        return 1
    if done.already:
        print(f"{done.path}: already published at {done.where} with the same files; nothing to do")
    else:
        print(f"{done.path}: published to {done.where} ({done.files} files, marker last)")
        if stack.replicas:
            replicas = ", ".join(b.target for b in stack.replicas)
            print(f"the model sync copies it to {replicas}; `mlplatform models status {args.model}` shows where it is")
    return record_version(registry, stack, done, args.no_registry)


def _status(args: argparse.Namespace) -> int:
    outputs = read_outputs(args.outputs, args.stack)
    stack = stack_facts(outputs)
    found = status(stack, args.model)
    if args.json:
        print(json.dumps({v.path: dict(v.states) for v in found}, indent=2, sort_keys=True))
    else:
        models = sorted({v.path.split("/", 1)[0] for v in found} | ({args.model} if args.model else set()))
        served = {m: stack.models[m] for m in models if isinstance(stack.models.get(m), dict)}
        ready = {} if args.no_ready else readiness.report(outputs, served, args.timeout)
        records = {} if args.no_registry else recorded_lines(outputs, args.registry_url, models)
        for model in models:
            print(f"{model}: serves {serving(stack, model) or 'nothing (not in the stack outputs)'}")
            for version in (v for v in found if v.path.split("/", 1)[0] == model):
                states = "  ".join(f"{target}: {state}" for target, state in version.states)
                print(f"  {version.path}  {states}")
            for line in ready.get(model, []):
                print(f"  {line}")
            for line in records.get(model, []):
                print(f"  {line}")
    return 0 if all(v.complete for v in found) else 1


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command in ("promote", "rollback"):
            return moves.move(args)
        return _publish(args) if args.command == "publish" else _status(args)
    except ModelsError as error:
        print(f"mlplatform: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
