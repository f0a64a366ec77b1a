"""Answers operators' requests for a camera's current picture, in the analytics process (which sees every frame).

The analytics loop offers the service each frame it reads; that is one dictionary look-up, so the
loop never waits for the database or the disk. A thread of the service does the rest: every
:data:`POLL_INTERVAL_S` it fetches the pending requests of its cameras (one indexed query) and fails
those past their deadline; when a camera with pending requests sends a frame taken after them, it
writes that frame (undrawn) as a JPEG under ``snapshots/`` in the evidence store and marks every one
of them ready. Requests for the same camera share one frame, encoded once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from analytics.annotate import encode_jpeg
from core.backoff import Backoff
from core.messages import Frame
from core.settings import Settings
from incidents.db import make_engine, make_session_factory, session_scope
from incidents.evidence import EvidenceStore
from incidents.snapshots import complete, expire, fail, pending, snapshot_relpath
from incidents.types import from_ts

logger = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.5
JPEG_QUALITY = 90  # a picture an operator looks at closely: finer than the incident snapshots


@dataclass(frozen=True, slots=True)
class _Waiting:
    """A pending request as the service remembers it between two polls."""

    id: int
    camera_id: str
    requested_ts: float


class SnapshotService:
    """Takes the next frame of each camera an operator asked for and stores it as the requested picture.

    Call :meth:`offer` from the analytics loop with every frame it reads, and :meth:`start` the thread
    (or call :meth:`run_once` yourself, as tests do).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: EvidenceStore,
        camera_ids: Iterable[str],
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.camera_ids = frozenset(camera_ids)
        self.poll_interval_s = poll_interval_s
        self.clock = clock
        self.served = 0  # requests answered with a picture since the service started
        # camera id -> the request time of its oldest pending request; replaced whole, read by offer()
        self._wanted: dict[str, float] = {}
        self._frames: dict[str, Frame] = {}  # camera id -> a frame taken after that time, for the thread
        self._waiting: dict[str, list[_Waiting]] = {}
        self._last_poll = -math.inf
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_settings(cls, settings: Settings, camera_ids: Iterable[str]) -> SnapshotService:
        """A service on the database and evidence directory of ``settings``."""
        sessions = make_session_factory(make_engine(settings.resolved_database_url))
        return cls(sessions, EvidenceStore(settings.evidence_dir), camera_ids)

    def offer(self, frame: Frame) -> None:
        """Keep ``frame`` when a request of its camera waits for a frame this fresh; never blocks, never raises."""
        since = self._wanted.get(frame.camera_id)
        if since is not None and frame.captured_ts >= since:
            self._frames[frame.camera_id] = frame
            self._wake.set()

    def run_once(self) -> int:
        """Answer what the offered frames are fresh enough for, and poll when due; returns how many got a picture."""
        served = self._serve_offered()
        now = self.clock()
        if now - self._last_poll >= self.poll_interval_s:
            self._poll(now)
            self._last_poll = now
        return served

    # -- the thread ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve requests in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (a picture being written is finished first)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        backoff = Backoff(initial_s=self.poll_interval_s, max_s=30.0)
        while not self._stop.is_set():
            self._wake.clear()  # before the round: a frame offered during it wakes the next one at once
            delay = self.poll_interval_s
            try:
                self.run_once()
                backoff.reset()
            except OperationalError as err:  # SQLite busy, PostgreSQL restarting: analytics go on without us
                delay = backoff.next_delay_s()
                logger.warning("snapshot requests unavailable (retry in %.1f s): %s", delay, err.orig)
            except Exception:  # loop boundary: a failed round must never stop analytics
                delay = backoff.next_delay_s()
                logger.exception("snapshot round failed (retry in %.1f s)", delay)
            self._wake.wait(delay)

    # -- one round ----------------------------------------------------------------------------------

    def _poll(self, now: float) -> None:
        """Fail the overdue requests, then remember the pending ones of this process's cameras."""
        with session_scope(self.sessions) as session:
            expire(from_ts(now), session=session)
            rows = pending(session=session, camera_ids=self.camera_ids)
            waiting: dict[str, list[_Waiting]] = {}
            for row in rows:
                waiting.setdefault(row.camera_id, []).append(
                    _Waiting(row.id, row.camera_id, row.requested_at.timestamp())
                )
        self._set_waiting(waiting)

    def _serve_offered(self) -> int:
        served = 0
        for camera_id in tuple(self._frames):
            frame = self._frames.pop(camera_id, None)
            waiting = self._waiting.get(camera_id, [])
            due = [w for w in waiting if frame is not None and w.requested_ts <= frame.captured_ts]
            if frame is None or not due:
                continue
            served += self._answer(frame, due)
            self._set_waiting({**self._waiting, camera_id: [w for w in waiting if w not in due]})
        self.served += served
        return served

    def _answer(self, frame: Frame, due: list[_Waiting]) -> int:
        """Store ``frame`` as the picture of every request in ``due``; returns how many became ready."""
        jpeg = encode_jpeg(frame.image, quality=JPEG_QUALITY)
        frame_at = from_ts(frame.captured_ts)
        ready = 0
        with session_scope(self.sessions) as session:
            for request in due:
                relpath = snapshot_relpath(request.camera_id, request.id, frame_at)
                try:
                    # The file is complete before the row that points at it is committed.
                    self.store.write_atomic(relpath, jpeg)
                except OSError as err:
                    logger.error("%s: snapshot %d not written: %s", request.camera_id, request.id, err)
                    fail(request.id, f"picture not written: {err.strerror or err}", session=session)
                    continue
                if complete(request.id, session=session, path=relpath, frame_at=frame_at):
                    ready += 1
                    logger.info(
                        "%s: snapshot %d ready, frame taken %.2f s after the request",
                        request.camera_id, request.id, frame.captured_ts - request.requested_ts,
                    )  # fmt: skip
                else:  # it expired meanwhile: its answer says so, and no file should outlive it
                    self.store.path_for(relpath).unlink(missing_ok=True)
        return ready

    def _set_waiting(self, waiting: dict[str, list[_Waiting]]) -> None:
        self._waiting = {camera_id: rows for camera_id, rows in waiting.items() if rows}
        self._wanted = {camera_id: min(w.requested_ts for w in rows) for camera_id, rows in self._waiting.items()}
