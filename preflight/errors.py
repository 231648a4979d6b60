"""The error preflight reports as one line on stderr with exit code 2: bad input, not a bug."""


class InputError(Exception):
    """Bad input (a stack file, a config value, a graph file): str() is the one line to print."""
