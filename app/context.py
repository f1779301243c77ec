"""What every tab shares: the session store, the job registry, and the error handling of events."""

from __future__ import annotations

import functools
import logging
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from amg.errors import AmgError
from app.jobs import JobRegistry
from app.session import Session, SessionStore

#: Largest upload the app accepts (motion files, scenes, camera paths, videos).
MAX_UPLOAD = "200mb"
#: API previews and exports are copied into Gradio's cache when their call returns; after this
#: long the work folder's copy goes, and so does a finished job's folder that no session holds.
RESULT_TTL_S = 600
#: Motions uploaded through the API stay this long (later scenes refer to them by `source`).
API_UPLOAD_TTL_S = 24 * 3600
SWEEP_EVERY_S = 300
log = logging.getLogger("amg.app")


@dataclass
class AppConfig:
    """Server-side settings of one app instance."""

    root: Path | None = None  # session and job files (default: <tmp>/amg-studio)
    max_jobs: int = 1  # generations running at once; the rest wait in line
    max_previews: int = 2  # preview renders running at once
    device: str | None = None  # for generation: None = CUDA when present
    scenes_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parents[1] / "presets" / "scenes")
    #: Base models API callers may choose among (the operator's choice: `python app.py --model`);
    #: empty: the engine's registered model names (never a free path or hub id).
    models: tuple[str, ...] = ()
    #: Adapter folders API callers may choose among, by name (`python app.py --adapters NAME=DIR`).
    adapters: dict[str, Path] = field(default_factory=dict)


class Ctx:
    def __init__(self, config: AppConfig):
        self.config = config
        self.store = SessionStore(config.root)
        self.jobs = JobRegistry(config.max_jobs)
        _HIDDEN_ROOTS.add(str(self.store.root.resolve()))
        _HIDDEN_ROOTS.add(str(self.store.root))
        #: per-session State in the page: the client id (the session lives on the server)
        self.client: gr.State | None = None

    def session(self, client_id: str | None) -> Session:
        return self.store.get(client_id)

    def start_sweeping(self) -> None:
        """Sweep the work folder every SWEEP_EVERY_S in the background (for the life of the server)."""
        def loop():
            while True:
                time.sleep(SWEEP_EVERY_S)
                try:
                    self.sweep_files()
                except OSError as e:  # never stop the server over a file that will not go
                    log.warning("sweeping %s: %s", self.store.root, e)

        threading.Thread(target=loop, name="amg-sweep", daemon=True).start()

    def sweep_files(self, now: float | None = None) -> list[Path]:
        """Delete API previews, exports and uploads past their time, and job folders no live
        session holds (and no running job writes). Returns what was deleted."""
        now = time.time() if now is None else now
        self.store.sweep()
        held = set()
        for s in list(self.store._sessions.values()):
            held.update(j for j in (s.job_id, s.train_job_id) if j)
            held.update(part for r in s.history for v in r.values() if isinstance(v, str) for part in Path(v).parts)
        api = self.store.root / "api"
        groups = [(api / "previews", RESULT_TTL_S), (api / "exports", RESULT_TTL_S),
                  (api / "motions", API_UPLOAD_TTL_S), (self.store.root / "jobs", RESULT_TTL_S)]
        gone = []
        for folder, ttl in groups:
            for item in folder.glob("*") if folder.is_dir() else []:
                job = self.jobs.get(item.name) if folder.name == "jobs" else None
                if item.name in held or (job is not None and job.active):
                    continue
                try:
                    if now - item.stat().st_mtime > ttl:
                        shutil.rmtree(item) if item.is_dir() else item.unlink()
                        gone.append(item)
                except OSError:
                    pass
        return gone


#: Work folders whose paths never reach a user (messages name files by their own name).
_HIDDEN_ROOTS: set[str] = set()


def public_message(text: str) -> str:
    """`text` with every path inside the server's work folder cut down to the file's name."""
    for root in sorted(_HIDDEN_ROOTS, key=len, reverse=True):
        text = re.sub(re.escape(root) + r"[/\\](?:[^\s'\"/\\]*[/\\])*", "", text)
    return text


def user_errors(fn):
    """Show AmgError (bad input) as a plain message in the page, never a server error; any
    other failure as one line that says so, its Python text only in the server's log."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AmgError as e:
            raise gr.Error(public_message(str(e)), print_exception=False) from None
        except gr.Error:
            raise
        except RecursionError:
            raise gr.Error("the input is nested too deeply to read", print_exception=False) from None
        except Exception:
            log.exception("request failed in %s", getattr(fn, "__name__", "handler"))
            raise gr.Error("the server failed on this request (an internal error; its details are in the "
                           "server's log)", print_exception=False) from None

    return wrapper
