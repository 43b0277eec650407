"""Errors the CLI reports as a clear message and a non-zero exit, not a traceback."""


class HarnessError(Exception):
    """Bad input or configuration; the message names what and where."""
