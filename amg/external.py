"""Running an external program that AMG plugs in (a text-to-motion model, a pose estimator).

The command is a template split like a shell would (shlex) but run without a shell;
`{name}` fields are filled in each argument, so file names with spaces stay one argument.
"""

from __future__ import annotations

import shlex
import subprocess

from amg.errors import AmgError


def check_command(command: str, what: str) -> None:
    """Refuse a command template without {out}, where the program must write its result."""
    if "{out}" not in command:
        raise AmgError(f"{what} command must contain {{out}}, where it writes its result")


def run_command(command: str, what: str, timeout: float, **values) -> subprocess.CompletedProcess:
    """Run `command` with `values` ({out} among them) filled in; an AmgError names `what` when it fails."""
    check_command(command, what)
    try:
        args = [a.format(**values) for a in shlex.split(command)]
    except (KeyError, IndexError, ValueError) as e:
        raise AmgError(f"{what} command {command!r}: bad template ({type(e).__name__}: {e}); "
                       f"fields are {', '.join('{' + k + '}' for k in values)}") from None
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise AmgError(f"{what} command failed to run: {e}") from None
    if done.returncode != 0:
        raise AmgError(f"{what} command exited with {done.returncode}: {(done.stderr or done.stdout).strip()[-500:]}")
    return done
