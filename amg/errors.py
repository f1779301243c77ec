"""The one exception type the engine raises for bad user input.

Callers (CLI, UI) show its message as is: it names the input and what is wrong.
"""


class AmgError(ValueError):
    """A user-facing error: bad input, missing file, unsupported format."""
