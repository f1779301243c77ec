"""The `amg` command. Each sub-command lives in its own module with a `register(sub)`.

Exit codes: 0 success, 2 bad input (a clear message, no traceback), 130 cancelled.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from amg.errors import AmgError

#: Modules under amg.cli that each add their sub-commands.
COMMAND_MODULES = ("setup", "render", "avatar", "eval", "camera", "generate", "motion", "train", "export", "experiment",
                   "bundle")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amg", description="AMG Studio: avatar motion guided video generation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"amg.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AmgError as e:
        print(f"amg {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"amg {args.command}: cancelled", file=sys.stderr)
        return 130
