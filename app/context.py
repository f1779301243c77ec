"""What every tab shares: the session store, the job registry, and the error handling of events."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from amg.errors import AmgError
from app.jobs import JobRegistry
from app.session import Session, SessionStore

#: Largest upload the app accepts (motion files, scenes, camera paths, videos).
MAX_UPLOAD = "200mb"


@dataclass
class AppConfig:
    """Server-side settings of one app instance."""

    root: Path | None = None  # session and job files (default: <tmp>/amg-studio)
    max_jobs: int = 1  # generations running at once; the rest wait in line
    max_previews: int = 2  # preview renders running at once
    device: str | None = None  # for generation: None = CUDA when present
    scenes_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parents[1] / "presets" / "scenes")


class Ctx:
    def __init__(self, config: AppConfig):
        self.config = config
        self.store = SessionStore(config.root)
        self.jobs = JobRegistry(config.max_jobs)
        #: per-session State in the page: the client id (the session lives on the server)
        self.client: gr.State | None = None

    def session(self, client_id: str | None) -> Session:
        return self.store.get(client_id)


def user_errors(fn):
    """Show AmgError (bad input) as a plain message in the page, never a server error."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AmgError as e:
            raise gr.Error(str(e), print_exception=False) from None

    return wrapper
