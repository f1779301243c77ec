"""Who may use the app: the --auth password, with a limit on wrong guesses.

Gradio calls `auth(username, password)` without the caller's address, so the limit is for
the whole server: after MAX_FAILURES wrong passwords within WINDOW_S seconds every login,
the right one included, is refused until the oldest of them is WINDOW_S old, and each wrong
password costs its caller FAILURE_DELAY_S. Thirty guesses take minutes instead of a second.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from typing import Callable

MAX_FAILURES = 5
WINDOW_S = 60.0
FAILURE_DELAY_S = 1.0


class RateLimitedAuth:
    def __init__(self, user: str, password: str, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self._user, self._password = user.encode(), password.encode()
        self._clock, self._sleep = clock, sleep
        self._failures: deque[float] = deque()
        self._lock = threading.Lock()

    def locked(self) -> bool:
        with self._lock:
            now = self._clock()
            while self._failures and now - self._failures[0] > WINDOW_S:
                self._failures.popleft()
            return len(self._failures) >= MAX_FAILURES

    def __call__(self, username: str, password: str) -> bool:
        if self.locked():
            return False
        good = hmac.compare_digest(str(username).encode(), self._user) & \
            hmac.compare_digest(str(password).encode(), self._password)
        if not good:
            with self._lock:
                self._failures.append(self._clock())
            self._sleep(FAILURE_DELAY_S)
        return bool(good)
