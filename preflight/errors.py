"""The error preflight reports as one line on stderr with exit code 2: bad input, not a bug."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class InputError(Exception):
    """Bad input (a stack file, a config value, a graph file): str() is the one line to print."""


def read_json(path: Path, what: str) -> Any:
    """A JSON input file, or an InputError naming the file and what is wrong with it."""
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise InputError(f"{path}: cannot read the {what} ({error.strerror})") from None
    except ValueError as error:
        raise InputError(f"{path}: not valid JSON ({error})") from None
