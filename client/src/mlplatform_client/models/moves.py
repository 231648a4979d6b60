"""`mlplatform models promote|rollback NAME`: move a canary's weight in the stack file on its gateway metrics.

The bounds come from the stack: the `models` stack output when `--outputs` is given (what the last `pulumi up`
validated), else the stack file's `mlplatform:promotion` and the model's own `promotion`; each command-line option
overrides its one bound. blueGreen models (`routing: blueGreen`) move from 0 to 100 in one step.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlplatform_client.models import promotion, stackfile
from mlplatform_client.models.errors import ModelsError
from mlplatform_client.models.promotion import BLUE_GREEN_STEPS, Bounds, Decision
from mlplatform_client.models.stack import read_outputs

# stack key -> the Bounds field, which is also the command-line option's dest (--max-error-ratio: max_error_ratio)
BOUND_KEYS = {
    "maxErrorRatio": "max_error_ratio",
    "maxP99Seconds": "max_p99_seconds",
    "minRequests": "min_requests",
    "window": "window",
    "steps": "steps",
}
_WINDOW = re.compile(r"^[1-9][0-9]*(s|m|h)$")  # what stacks/promotion_config.py accepts


def add_parsers(models: Any) -> None:
    """The promote and rollback subcommands under `mlplatform models`."""
    for verb, what in (
        ("promote", "step the canary up, promote it or roll it back on its metrics"),
        ("rollback", "send the canary no traffic"),
    ):
        move = models.add_parser(verb, help=what)
        move.add_argument("model")
        move.add_argument("--stack-file", required=True, help="Pulumi.<stack>.yaml, edited in place for a pull request")
        if verb == "promote":
            move.add_argument("--prometheus", required=True, help="the Prometheus that scrapes the gateways (URL)")
            move.add_argument("--outputs", help="`pulumi stack output --json` as a file: bounds from its models output")
            move.add_argument("--window", help="the evidence window (PromQL duration); default: the stack's")
            move.add_argument("--max-error-ratio", type=float, help="default: the stack's")
            move.add_argument("--max-p99-seconds", type=float, help="default: the stack's")
            move.add_argument("--min-requests", type=float, help="default: the stack's")


def _checked(where: str, key: str, value: Any) -> Any:
    """One bound from the stack file or an option, as Bounds wants it; one line naming it when it cannot be used."""
    if key == "steps":
        steps = tuple(value) if isinstance(value, list) else ()
        whole = all(isinstance(s, int) and not isinstance(s, bool) for s in steps)
        if not steps or not whole or steps[-1] != 100 or any(b <= a for a, b in itertools.pairwise(steps)):
            raise ModelsError(f"{where}: expected increasing weights ending at 100, got {value!r}")
        return steps
    if key == "window":
        if not isinstance(value, str) or not _WINDOW.fullmatch(value):
            raise ModelsError(f"{where}: expected a PromQL duration such as 10m, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ModelsError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def bounds(found: Mapping[str, Any], routing: str, options: argparse.Namespace, where: str) -> Bounds:
    """The stack's bounds (`found`, by stack key) with the command-line options over them; blueGreen's one step."""
    values: dict[str, Any] = {}
    for key, field in BOUND_KEYS.items():
        option = getattr(options, field, None)
        if option is not None:
            values[field] = _checked(f"--{field.replace('_', '-')}", key, option)
        elif key in found:
            values[field] = _checked(f"{where}.{key}", key, found[key])
    if routing == "blueGreen":
        values["steps"] = BLUE_GREEN_STEPS
    return Bounds(**values)


def _stack_settings(args: argparse.Namespace, text: str) -> tuple[Bounds, str]:
    if args.outputs:
        served = read_outputs(args.outputs, None).get("models", {}).get(args.model)
        if not isinstance(served, dict):
            raise ModelsError(f"--outputs {args.outputs}: the models output has no {args.model}")
        routing = str(served.get("routing", "canary"))
        return bounds(served.get("promotion") or {}, routing, args, f"models.{args.model}.promotion"), routing
    found, routing = stackfile.settings(text, args.model)
    return bounds(found, routing, args, f"{stackfile.MODELS_KEY}[{args.model}].promotion"), routing


def _evidence(url: str, queries: dict[str, str]) -> dict[str, Any]:
    import httpx

    answers: dict[str, Any] = {}
    for name, query in queries.items():
        try:
            reply = httpx.get(f"{url.rstrip('/')}/api/v1/query", params={"query": query}, timeout=30)
            answers[name] = reply.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ModelsError(f"--prometheus {url}: {name} query failed: {error}") from None
    return answers


def move(args: argparse.Namespace) -> int:
    path = Path(args.stack_file)
    try:
        text = path.read_text()
    except OSError as error:
        raise ModelsError(f"--stack-file {path}: cannot read it: {error.strerror}") from None
    version, weight = stackfile.canary(text, args.model)
    if args.command == "rollback":
        decision = Decision("rollback", 0, "asked for")
    else:
        found, _ = _stack_settings(args, text)
        answers = _evidence(args.prometheus, promotion.queries(args.model, version, found.window))
        decision = promotion.decide(weight, found, answers)
    path.write_text(stackfile.apply(text, args.model, decision))
    print(f"{args.model} canary {version}: {decision.action} ({decision.weight}%): {decision.reason}")
    return 0
