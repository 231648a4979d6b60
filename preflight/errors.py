"""The error preflight reports as one line on stderr with exit code 2: bad input, not a bug."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


class InputError(Exception):
    """Bad input (a stack file, a config value, a graph file): str() is the one line to print."""


def read_json(path: Path, what: str) -> Any:
    """A JSON input file, or an InputError naming the file and what is wrong with it."""
    try:
        return json.loads(path.read_text(), parse_constant=_not_json, parse_float=_finite)
    except OSError as error:
        raise InputError(f"{path}: cannot read the {what} ({error.strerror})") from None
    except ValueError as error:  # UnicodeDecodeError included
        raise InputError(f"{path}: not valid JSON ({error})") from None


def _not_json(word: str) -> float:
    """Python's reader takes NaN and Infinity; JSON has neither, and a price times NaN is no price."""
    raise ValueError(f"{word} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: valid JSON syntax, but no figure preflight could price or print
        raise ValueError(f"{text} is too large a number")
    return value
