"""The supervisor's consumer of worker messages: camera and detector status, events, clip results, traffic counts."""

from __future__ import annotations

import logging
import threading
import time
from multiprocessing.connection import Connection, wait
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.backoff import Backoff
from core.messages import (
    CameraStatus,
    ClipRequest,
    ClipResult,
    DetectorStatus,
    Event,
    RecordingSegment,
    TrafficCount,
)
from incidents.cameras import record_status
from incidents.components import record_detector_status
from incidents.db import session_scope
from incidents.health import HealthMonitor
from incidents.recorder import IncidentRecorder
from incidents.recordings import index_segment
from incidents.snapshots import expire as expire_snapshots
from incidents.traffic import add_traffic_count
from incidents.types import from_ts

logger = logging.getLogger(__name__)

STATUS_WRITE_INTERVAL_S = 5.0  # a status is written at once when it changes, else this often
EXPIRE_INTERVAL_S = 5.0
DB_RETRIES = 5


class BusConsumer:
    """Reads every child's uplink in a thread of the supervisor; sends clip requests down to cameras.

    Children come and go (restarts): their pipes are attached and detached while it runs.
    """

    def __init__(
        self,
        recorder: IncidentRecorder,
        sessions: sessionmaker[Session],
        *,
        health: HealthMonitor | None = None,
        recordings_dir: Path | None = None,
    ) -> None:
        self.recorder = recorder
        self.sessions = sessions
        self.health = health
        self.recordings_dir = recordings_dir  # where segments of continuous recording are indexed from
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._uplinks: dict[str, Connection] = {}
        self._downlinks: dict[str, Connection] = {}  # camera id -> pipe to its worker
        self._last_status: dict[str, tuple[str, float]] = {}
        self._last_expire = 0.0
        self._thread = threading.Thread(target=self._run, name="bus", daemon=True)

    def attach(
        self, child: str, uplink: Connection, *, camera_id: str | None = None, downlink: Connection | None = None
    ) -> None:
        """Start reading ``child``'s messages (and, for a camera, remember how to reach it)."""
        with self._lock:
            self._uplinks[child] = uplink
            if camera_id is not None and downlink is not None:
                old = self._downlinks.get(camera_id)
                self._downlinks[camera_id] = downlink
                if old is not None:
                    old.close()

    def start(self) -> None:
        """Start consuming."""
        self._thread.start()

    def close(self, drain_s: float = 3.0) -> None:
        """Read what the stopped children still sent (until their pipes end or ``drain_s``), then stop."""
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._uplinks:
                    break
            time.sleep(0.05)
        self.stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            for connection in [*self._uplinks.values(), *self._downlinks.values()]:
                connection.close()

    def _run(self) -> None:
        while not self.stop.is_set():
            with self._lock:
                uplinks = dict(self._uplinks)
            ready = wait(list(uplinks.values()), timeout=0.2) if uplinks else []
            if not uplinks:
                self.stop.wait(0.2)
            for child, connection in uplinks.items():
                if connection in ready:
                    self._receive(child, connection)
            self._expire()

    def _receive(self, child: str, connection: Connection) -> None:
        try:
            message = connection.recv()
        except (EOFError, OSError):  # the child ended (or died mid-message): its successor gets a new pipe
            with self._lock:
                if self._uplinks.get(child) is connection:
                    del self._uplinks[child]
            connection.close()
            return
        self._handle_safely(message)

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
            self._record(message)
        elif isinstance(message, ClipResult):
            self.recorder.handle_clip_result(message)
        elif isinstance(message, DetectorStatus):
            with session_scope(self.sessions) as session:
                record_detector_status(message, session=session)
        elif isinstance(message, RecordingSegment):
            self._index(message)
        elif isinstance(message, TrafficCount):
            with session_scope(self.sessions) as session:
                add_traffic_count(message, session=session)
        else:
            logger.warning("unknown message on the bus: %r", type(message))

    def check_health(self, now_ts: float | None = None) -> None:
        """Judge every camera's health and record the events of its health incidents."""
        if self.health is None:
            return
        with session_scope(self.sessions) as session:
            events = self.health.check(session=session, now_ts=now_ts)
        for event in events:  # after the spans are committed: the recorder writes in its own transaction
            self._record(event)

    def _record(self, event: Event) -> None:
        """The one place events become incidents, the rules' and camera health's alike."""
        request = self.recorder.handle_event(event)
        if request is not None:
            self._send_down(request)

    def _index(self, segment: RecordingSegment) -> None:
        if self.recordings_dir is None:
            logger.warning(
                "%s: recording segment %s not indexed: no recordings directory", segment.camera_id, segment.path
            )
            return
        with session_scope(self.sessions) as session:
            index_segment(segment, self.recordings_dir, session=session)

    def _send_down(self, request: ClipRequest) -> None:
        with self._lock:
            downlink = self._downlinks.get(request.camera_id)
        try:
            if downlink is None:
                raise BrokenPipeError("no worker")
            downlink.send(request)
        except OSError:  # the worker is restarting: the clip is marked failed at its deadline
            logger.warning("%s: worker unreachable, clip for incident %d lost", request.camera_id, request.incident_id)

    def _status(self, status: CameraStatus) -> None:
        previous = self._last_status.get(status.camera_id)
        if previous and previous[0] == status.state and status.at_ts - previous[1] < STATUS_WRITE_INTERVAL_S:
            return
        with session_scope(self.sessions) as session:
            if record_status(status, session=session) is not None and self.health is not None:
                self.health.on_status(status, session=session)
        self._last_status[status.camera_id] = (status.state, status.at_ts)

    def _expire(self) -> None:
        """Every few seconds: fail overdue clips and snapshots, judge camera health (a database error skips a round)."""
        now = time.time()
        if now - self._last_expire < EXPIRE_INTERVAL_S:
            return
        self._last_expire = now
        try:
            expired = self.recorder.expire_pending(now)
            if expired:
                logger.warning("%d clip(s) were not delivered in time", expired)
            with session_scope(self.sessions) as session:  # also while the analytics process is down
                expire_snapshots(from_ts(now), session=session)
            self.check_health(now)
        except OperationalError as err:
            logger.warning("database busy while checking clips and camera health: %s", err.orig)
        except Exception:  # loop boundary: the bus must keep consuming whatever this round did
            logger.exception("periodic clip and camera health check failed")
