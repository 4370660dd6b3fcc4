"""User-facing errors: the CLI prints them as one line, with no traceback."""


class ObjbenchError(Exception):
    """A problem with the user's input or environment that the user can fix."""
