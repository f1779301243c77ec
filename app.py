"""AMG Studio in the browser: `python app.py [--host 127.0.0.1] [--port 7860] [--share] [--auth user:pass]`."""

from __future__ import annotations

import os

# Before gradio is imported: no usage reports, nothing leaves this machine unless --share.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python app.py", description="AMG Studio: the Gradio app.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="also open a public *.gradio.live link (off by default)")
    p.add_argument("--auth", metavar="USER:PASS", help="require this user name and password")
    p.add_argument("--workdir", type=Path, help="folder for session files (default: <tmp>/amg-studio)")
    p.add_argument("--max-jobs", type=int, default=1, help="generations running at once (default 1)")
    p.add_argument("--device", default=None, help="generation device: cpu, cuda, cuda:1 (default: CUDA when present)")
    p.add_argument("--model", action="append", metavar="ID",
                   help="a model name API callers may choose (repeat for several; default: every registered name, "
                        "e.g. tiny-random, modelscope, wan2.1-t2v-1.3b; never a free path or hub id)")
    p.add_argument("--adapters", action="append", default=[], metavar="NAME=DIR",
                   help="an adapter folder API callers may choose by NAME (repeat for several)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            print("python app.py: error: --auth must look like USER:PASS", file=sys.stderr)
            return 2
        from app.access import RateLimitedAuth

        auth = RateLimitedAuth(user, password)  # a few wrong passwords a minute, then none
    if args.workdir and not _movable(args.workdir):
        # Gradio takes results only from the temp folder or the current one (it serves neither):
        # a work folder elsewhere becomes this process's temp folder, Gradio's cache included.
        args.workdir.mkdir(parents=True, exist_ok=True)
        tempfile.tempdir = str(args.workdir.resolve())
    from amg.body.anny_model import ensure_compact_data
    from app.context import AppConfig
    from app.ui import build_app, launch_kwargs

    # Without `amg setup`, build the body data now (minutes, once, with a message) rather
    # than inside the first preview a user asks for.
    ensure_compact_data()

    config = AppConfig(root=args.workdir, max_jobs=args.max_jobs, device=args.device)
    if args.model:
        config.models = tuple(args.model)
    for item in args.adapters:
        name, sep, folder = item.partition("=")
        if not sep or not name.strip() or not Path(folder).is_dir():
            print(f"python app.py: error: --adapters {item!r}: must be NAME=DIR with an existing folder",
                  file=sys.stderr)
            return 2
        config.adapters[name.strip()] = Path(folder).resolve()
    demo = build_app(config)
    demo.queue(default_concurrency_limit=4, max_size=64)
    # No allowed_paths: Gradio copies what a handler returns into its cache under a hash of the
    # file's content, and serves only that cache and uploads; the work folder (every session's
    # uploads, scenes, results) is never served by its path.
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, auth=auth, **launch_kwargs())
    return 0


def _movable(folder: Path) -> bool:
    """Whether Gradio may copy files from `folder` into its cache (without serving `folder`)."""
    folder = folder.expanduser().resolve()
    return any(folder.is_relative_to(Path(p).resolve()) for p in (tempfile.gettempdir(), os.getcwd()))


if __name__ == "__main__":
    sys.exit(main())
