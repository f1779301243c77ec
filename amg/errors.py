"""The one exception type the engine raises for bad user input.

Callers (CLI, UI) show its message as is: it names the input and what is wrong.
"""


class AmgError(ValueError):
    """A user-facing error: bad input, missing file, unsupported format."""


class Cancelled(Exception):
    """Long work (generation, training, preprocessing) stopped because its caller asked it to.

    The one cancellation type: generation's and training's are subclasses, so a job runner
    catches this and never has to guess from an exception's name."""
