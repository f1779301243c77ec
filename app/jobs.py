"""Background jobs (generation) that outlive the browser request that started them.

A job runs in its own thread so a page reload does not stop it; the page finds it again
by its id and re-attaches. At most `max_running` jobs run at once (generation takes all
the CPU); the others wait in order and report their place in the line.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Callable

from amg.errors import AmgError, Cancelled

#: Finished jobs are kept this long so a reloaded page can still show their result.
KEEP_FINISHED_S = 6 * 3600


class JobCancelled(Cancelled):
    """Raised inside a job's work when its Cancel button was pressed."""


@dataclass
class Job:
    id: str
    owner: str
    kind: str
    status: str = "queued"  # queued | running | done | failed | cancelled
    step: int = 0
    total: int = 0
    seconds_left: float | None = None
    #: Share of the whole job done, 0..1 (None: unknown).
    fraction: float | None = None
    message: str = "waiting for a free worker"
    result: dict | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def should_cancel(self) -> bool:
        return self.cancel_event.is_set()

    def report(self, step: int, total: int, seconds_left: float | None = None, message: str | None = None,
               fraction: float | None = None, stop_if_cancelled: bool = True) -> None:
        """Progress callback handed to the engine. It raises JobCancelled once Cancel was
        pressed, unless the engine stops by itself (`stop_if_cancelled=False`: training
        checks `should_cancel` and writes a checkpoint first)."""
        self.step, self.total, self.seconds_left = int(step), int(total), seconds_left
        if fraction is not None:
            self.fraction = min(max(float(fraction), 0.0), 1.0)
        if message:
            self.message = message
        if stop_if_cancelled and self.cancel_event.is_set():
            raise JobCancelled()


#: The work of a job: fn(job) -> result dict. It calls job.report(...) and checks job.should_cancel().
Work = Callable[[Job], dict]


class JobRegistry:
    def __init__(self, max_running: int = 1):
        self.max_running = max(1, int(max_running))
        self._slots = threading.Semaphore(self.max_running)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, work: Work, owner: str, kind: str = "generate") -> Job:
        job = Job(id=uuid.uuid4().hex, owner=owner, kind=kind)
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, work), name=f"amg-job-{job.id[:8]}", daemon=True).start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        # wait for a free slot, but leave the line at once when cancelled there
        while not self._slots.acquire(timeout=0.1):
            if job.cancel_event.is_set():
                self._finish(job, "cancelled", message="cancelled before it started")
                return
        try:
            if job.cancel_event.is_set():
                self._finish(job, "cancelled", message="cancelled before it started")
                return
            job.status, job.started, job.message = "running", time.time(), "starting"
            try:
                job.result = work(job)
            except Cancelled:  # JobCancelled, or the engine's own (generation, training)
                self._finish(job, "cancelled", message="cancelled")
            except AmgError as e:
                self._finish(job, "failed", error=str(e))
            except Exception as e:  # noqa: BLE001 - a job failure must reach the page, not kill the server
                traceback.print_exc()
                self._finish(job, "failed", error=f"{type(e).__name__}: {e}")
            else:
                self._finish(job, "done", message="done")
        finally:
            self._slots.release()

    @staticmethod
    def _finish(job: Job, status: str, message: str | None = None, error: str | None = None) -> None:
        job.finished = time.time()
        job.error = error
        job.message = message or (error or status)
        job.status = status  # last: watchers read status, then the fields above

    def get(self, job_id: str | None) -> Job | None:
        if not job_id:
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str | None) -> Job | None:
        job = self.get(job_id)
        if job is not None and job.active:
            job.cancel_event.set()
            job.message = "cancelling..."
        return job

    def place_in_line(self, job: Job) -> int:
        """1 for the next job to start; 0 when it is not waiting."""
        if job.status != "queued":
            return 0
        with self._lock:
            return 1 + sum(1 for j in self._jobs.values() if j.status == "queued" and j.created < job.created)

    def running(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.status == "running")

    def _forget_old(self) -> None:
        now = time.time()
        for jid, j in list(self._jobs.items()):
            if j.finished and now - j.finished > KEEP_FINISHED_S:
                del self._jobs[jid]

    def wait(self, job: Job, timeout: float | None = None, poll_s: float = 0.1) -> Job:
        end = None if timeout is None else time.time() + timeout
        while job.active and (end is None or time.time() < end):
            time.sleep(poll_s)
        return job
