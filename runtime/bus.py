"""The supervisor's consumer of worker messages: camera status, events and clip results into the store."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.backoff import Backoff
from core.messages import CameraStatus, ClipResult, Event
from incidents.cameras import record_status
from incidents.db import session_scope
from incidents.recorder import IncidentRecorder

logger = logging.getLogger(__name__)

STATUS_WRITE_INTERVAL_S = 5.0  # a status is written at once when it changes, else this often
EXPIRE_INTERVAL_S = 5.0
DB_RETRIES = 5


class BusConsumer:
    """Reads the bus in a thread of the supervisor; database writes retry while SQLite is busy."""

    def __init__(
        self,
        bus: Any,
        recorder: IncidentRecorder,
        sessions: sessionmaker[Session],
        controls: dict[str, Any],
    ) -> None:
        self.bus = bus
        self.recorder = recorder
        self.sessions = sessions
        self.controls = controls
        self.stop = threading.Event()
        self._last_status: dict[str, tuple[str, float]] = {}
        self._last_expire = 0.0
        self._thread = threading.Thread(target=self._run, name="bus", daemon=True)

    def start(self) -> None:
        """Start consuming."""
        self._thread.start()

    def close(self, drain_s: float = 3.0) -> None:
        """Handle what is still queued (for up to ``drain_s``), then stop."""
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline and self._thread.is_alive():
            try:
                message = self.bus.get(timeout=0.2)
            except queue.Empty:
                break
            self._handle_safely(message)
        self.stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                message = self.bus.get(timeout=0.5)
            except queue.Empty:
                message = None
            except (EOFError, OSError):
                return  # the queue was closed at shutdown
            if message is not None:
                self._handle_safely(message)
            self._expire()

    def _handle_safely(self, message: object) -> None:
        backoff = Backoff(initial_s=0.1, max_s=2.0)
        for attempt in range(DB_RETRIES):
            try:
                self.handle(message)
                return
            except OperationalError as err:  # SQLite busy or a dropped PostgreSQL connection
                logger.warning("database busy (attempt %d/%d): %s", attempt + 1, DB_RETRIES, err.orig)
                time.sleep(backoff.next_delay_s())
            except Exception:  # loop boundary: keep consuming, make the failure visible
                logger.exception("could not handle %s", type(message).__name__)
                return
        logger.error("gave up on %s after %d attempts", type(message).__name__, DB_RETRIES)

    def handle(self, message: object) -> None:
        """Store one message; a new incident's clip request goes to its camera's worker."""
        if isinstance(message, CameraStatus):
            self._status(message)
        elif isinstance(message, Event):
            request = self.recorder.handle_event(message)
            if request is not None and request.camera_id in self.controls:
                self.controls[request.camera_id].put(request)
        elif isinstance(message, ClipResult):
            self.recorder.handle_clip_result(message)
        else:
            logger.warning("unknown message on the bus: %r", type(message))

    def _status(self, status: CameraStatus) -> None:
        previous = self._last_status.get(status.camera_id)
        if previous and previous[0] == status.state and status.at_ts - previous[1] < STATUS_WRITE_INTERVAL_S:
            return
        with session_scope(self.sessions) as session:
            record_status(status, session=session)
        self._last_status[status.camera_id] = (status.state, status.at_ts)

    def _expire(self) -> None:
        now = time.time()
        if now - self._last_expire < EXPIRE_INTERVAL_S:
            return
        self._last_expire = now
        try:
            expired = self.recorder.expire_pending(now)
        except OperationalError as err:
            logger.warning("database busy while expiring clips: %s", err.orig)
            return
        if expired:
            logger.warning("%d clip(s) were not delivered in time", expired)
