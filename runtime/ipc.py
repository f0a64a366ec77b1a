"""Message links between the supervisor and one incarnation of a child process.

Each link is a one-way pipe with exactly one writer and one reader, made anew for every child
that starts, and nothing in it is shared with any other process. So a child killed at any instant
(a decoder's SIGABRT, an OOM kill) cannot leave a lock held that blocks the others; its pipe just
ends, and its successor gets fresh ones. (``multiprocessing.Queue`` and ``Event`` share locks
across processes, and a child killed while holding one blocks every other process for good.)
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

logger = logging.getLogger(__name__)

OUTBOX_LIMIT = 2000  # messages buffered in a child while the supervisor is not reading


def describe_exit(exitcode: int | None) -> str:
    """A dead child's exit for people: ``signal SIGSEGV`` or ``code 1``."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"code {exitcode}"


class Uplink:
    """Child → supervisor: ``put`` never blocks; a sender thread writes to the pipe."""

    def __init__(self, connection: Connection, stop: threading.Event) -> None:
        self._connection = connection
        self._stop = stop
        self._pending: deque[object] = deque()
        self._ready = threading.Condition()
        self.lost = 0
        self._thread = threading.Thread(target=self._send_forever, name="uplink", daemon=True)
        self._thread.start()

    def put(self, message: object) -> None:
        """Queue ``message``; if the supervisor has stopped reading for long, the oldest is lost."""
        with self._ready:
            if len(self._pending) >= OUTBOX_LIMIT:
                self._pending.popleft()
                self.lost += 1
                if self.lost == 1 or self.lost % 100 == 0:
                    logger.warning("supervisor not reading: %d message(s) lost so far", self.lost)
            self._pending.append(message)
            self._ready.notify()

    def _send_forever(self) -> None:
        while True:
            with self._ready:
                while not self._pending:
                    self._ready.wait()
                message = self._pending.popleft()
            try:
                self._connection.send(message)
            except (OSError, EOFError):  # the supervisor is gone: nobody to work for
                self._stop.set()
                return

    def flush(self, timeout_s: float = 3.0) -> None:
        """Wait until everything queued was sent (at exit, so the last clip results arrive)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._thread.is_alive():
            with self._ready:
                if not self._pending:
                    return
            time.sleep(0.05)


class Downlink:
    """Supervisor → child, read without blocking (``get_nowait``, as ``queue.Queue`` has)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get_nowait(self) -> Any:
        """The next message.

        Raises:
            queue.Empty: when none is waiting (or the supervisor is gone).
        """
        try:
            if self._connection.poll(0):
                return self._connection.recv()
        except (OSError, EOFError):
            pass
        raise queue.Empty
