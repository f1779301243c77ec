"""`amg setup`: one-time preparation after install (builds Anny's body data)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("setup", help="prepare the embedded body model (run once after install)")
    p.set_defaults(func=run)


def run(args) -> int:
    from amg.body.anny_model import ensure_compact_data

    path = ensure_compact_data()
    print(f"Anny body data: {path}")
    return 0
