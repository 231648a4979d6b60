"""Numeric command-line arguments: parsed by argparse with these types, so NaN, infinity and out-of-range
values are refused (exit 2, naming the argument) before any work, in every command that takes one.

Each type has an upper bound as well: a finite but huge figure (`--hours 1e308`) would overflow to
infinity once multiplied by a price.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def positive_number(high: float) -> Callable[[str], float]:
    """A finite number above 0 and at most `high`; `nan`, `inf`, `1e999` and 0 are refused."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if not 0 < value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} must be above 0 and at most {high:g}")
        return value

    return parse


def positive_whole(high: int) -> Callable[[str], int]:
    """A whole number from 1 to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 1 <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} must be from 1 to {high}")
        return value

    return parse
