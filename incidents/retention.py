"""Retention: delete old recordings and evidence by age and by size, whichever limit is hit first.

Recording segments go first (per camera by ``record.retain_days`` and ``record.max_gb``; then the
oldest of all cameras while ``storage.max_gb`` is exceeded or the disk has less than
``storage.min_free_gb`` free); then evidence of incidents that are no longer open. Evidence of an
open incident is never deleted, whatever the limits.

Every deletion changes the database first (commit) and removes the file after. A crash in between
leaves only a file that nothing points at, which a later sweep removes; the other order would
leave rows pointing at files that are gone, served by the API as broken links. Such leftovers, and
rows whose file vanished, are handled by :mod:`incidents.retention_sweep`. GB means 10^9 bytes.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Row, Select, delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig, RecordConfig
from core.settings import Settings
from incidents.db import session_scope
from incidents.evidence import EvidenceStore
from incidents.models import OPEN_STATUSES, Evidence, EvidenceStatus, Incident, RecordingSegment
from incidents.recordings import segment_file
from incidents.retention_report import Category, Freed, RetentionReport
from incidents.retention_sweep import Sweeper, unlink
from incidents.snapshots import SnapshotRequest
from incidents.types import utcnow

__all__ = ["Category", "Freed", "Retention", "RetentionReport"]

logger = logging.getLogger(__name__)

GB = 1_000_000_000
BATCH = 500  # rows deleted per transaction, so the store is never locked for long
SWEEP_INTERVAL_S = 3600.0  # the walk over every file on disk is this rare; the limits are checked every run


_Segment = Row[int, str, str, int]  # id, camera_id, path, size_bytes


class Retention:
    """Applies the storage limits of ``config`` to the files under ``settings`` and their rows."""

    def __init__(
        self,
        config: AppConfig,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        sweep_every_s: float = SWEEP_INTERVAL_S,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.recordings_dir = settings.recordings_dir
        self.evidence_store = EvidenceStore(settings.evidence_dir)
        self.data_dir = settings.data_dir
        exports_dir = settings.resolved_cache_dir / "exports"
        self.sweeper = Sweeper(settings.recordings_dir, settings.evidence_dir, exports_dir, sessions)
        self.sweep_every_s = sweep_every_s
        self._last_sweep = -math.inf

    def run_once(self, now: datetime | None = None) -> RetentionReport:
        """Apply every rule once; ``now`` dates the rows (file ages are always judged by the real clock)."""
        now = now if now is not None else utcnow()
        report = RetentionReport()
        if time.monotonic() - self._last_sweep >= self.sweep_every_s:
            self.sweeper.run(report)
            self._last_sweep = time.monotonic()
        for camera_id in self._recorded_cameras():
            record = self._record_config(camera_id)
            self._expire_recordings(camera_id, now - timedelta(days=record.retain_days), report)
            if record.max_gb is not None:
                self._fit_camera(camera_id, int(record.max_gb * GB), report)
        self._expire_evidence(now, report)
        self._expire_snapshots(now, report)
        self._fit_storage(now, report)
        if report.freed:
            logger.info("retention: %s", report.summary())
        return report

    # -- recordings ------------------------------------------------------------------------------

    def _expire_recordings(self, camera_id: str, cutoff: datetime, report: RetentionReport) -> None:
        why = f"older than record.retain_days (ended before {cutoff.isoformat(timespec='seconds')})"
        stmt = _segments().where(RecordingSegment.camera_id == camera_id, RecordingSegment.end_at < cutoff)
        while batch := self._select(stmt.limit(BATCH)):
            self._delete_segments(batch, Category.RECORDINGS_AGE, why, report)

    def _fit_camera(self, camera_id: str, limit: int, report: RetentionReport) -> None:
        total = func.coalesce(func.sum(RecordingSegment.size_bytes), 0)
        with session_scope(self.sessions) as session:
            used = session.scalar(select(total).where(RecordingSegment.camera_id == camera_id)) or 0
        why = f"the camera's recordings exceed record.max_gb ({limit / GB:g} GB)"
        stmt = _segments().where(RecordingSegment.camera_id == camera_id)
        self._delete_oldest(stmt, used - limit, Category.RECORDINGS_CAMERA_SIZE, why, report)

    def _delete_oldest(
        self, stmt: Select[int, str, str, int], excess: int, category: Category, why: str, report: RetentionReport
    ) -> int:
        """Delete the oldest segments of ``stmt`` until ``excess`` bytes are gone; the bytes that freed."""
        freed = 0
        while freed < excess and (batch := self._select(stmt.limit(BATCH))):
            take, total = [], 0
            for row in batch:
                take.append(row)
                total += row.size_bytes
                if freed + total >= excess:
                    break
            freed += self._delete_segments(take, category, why, report)
        return freed

    def _delete_segments(self, rows: list[_Segment], category: Category, why: str, report: RetentionReport) -> int:
        """Delete the rows (committed), then their files (see the module docstring); their indexed bytes."""
        with session_scope(self.sessions) as session:
            session.execute(delete(RecordingSegment).where(RecordingSegment.id.in_([r.id for r in rows])))
        for row in rows:
            path = self._segment_file(row.path)
            size = unlink(path) if path is not None else 0
            report.add(category, size)
            logger.info("%s: deleted recording %s (%.1f MB): %s", row.camera_id, row.path, size / 1e6, why)
        return sum(row.size_bytes for row in rows)

    # -- evidence --------------------------------------------------------------------------------

    def _expire_evidence(self, now: datetime, report: RetentionReport) -> None:
        days = self.config.storage.evidence_days
        cutoff = now - timedelta(days=days)
        stmt = _closed_evidence().where(
            Incident.updated_at < cutoff, or_(Incident.ended_at.is_(None), Incident.ended_at < cutoff)
        )
        why = f"its incident was closed more than storage.evidence_days ({days:g}) ago"
        while self._delete_evidence(stmt.limit(BATCH), None, Category.EVIDENCE_AGE, why, now, report)[0]:
            pass

    def _delete_evidence(
        self,
        stmt: Select[Evidence],
        excess: int | None,
        category: Category,
        why: str,
        now: datetime,
        report: RetentionReport,
    ) -> tuple[int, int]:
        """Mark the evidence of ``stmt`` deleted (until ``excess`` bytes, if given), then remove its files.

        Returns:
            How many were deleted, and their recorded bytes.
        """
        taken: list[tuple[str, int, str, str]] = []
        total = 0
        with session_scope(self.sessions) as session:
            for evidence in session.scalars(stmt):
                incident = evidence.incident
                if incident.status in OPEN_STATUSES:  # never, whatever the query says
                    continue
                evidence.status = EvidenceStatus.DELETED
                evidence.error = f"deleted by retention on {now.date().isoformat()}: {why}"
                taken.append((incident.camera_id or "-", incident.id, evidence.kind, evidence.path))
                total += evidence.size_bytes or 0
                if excess is not None and total >= excess:
                    break
        for camera_id, incident_id, kind, relpath in taken:
            path = self._evidence_file(relpath)
            size = unlink(path) if path is not None else 0
            report.add(category, size)
            logger.info("%s: deleted %s of incident %d (%s): %s", camera_id, kind, incident_id, relpath, why)
        return len(taken), total

    def _expire_snapshots(self, now: datetime, report: RetentionReport) -> None:
        """Pictures asked of cameras (``snapshots/``) go after ``storage.snapshot_days``; their rows stay."""
        days = self.config.storage.snapshot_days
        cutoff = now - timedelta(days=days)
        why = f"older than storage.snapshot_days ({days:g})"
        while True:
            with session_scope(self.sessions) as session:
                rows = session.scalars(
                    select(SnapshotRequest)
                    .where(SnapshotRequest.path.is_not(None), SnapshotRequest.requested_at < cutoff)
                    .limit(BATCH)
                ).all()
                taken = [(row.camera_id, row.id, row.path) for row in rows if row.path is not None]
                for row in rows:
                    row.path = None
                    row.error = f"picture deleted by retention on {now.date().isoformat()}: {why}"
            for camera_id, snapshot_id, relpath in taken:
                path = self._evidence_file(relpath)
                report.add(Category.SNAPSHOTS_AGE, unlink(path) if path is not None else 0)
                logger.info("%s: deleted snapshot %d (%s): %s", camera_id, snapshot_id, relpath, why)
            if len(rows) < BATCH:
                return

    # -- the whole store -------------------------------------------------------------------------

    def _fit_storage(self, now: datetime, report: RetentionReport) -> None:
        storage = self.config.storage
        excess, why = self._storage_excess()
        if excess <= 0:
            return
        excess -= self._delete_oldest(_segments(), excess, Category.RECORDINGS_STORAGE, why, report)
        while excess > 0:
            count, freed = self._delete_evidence(
                _closed_evidence().limit(BATCH), excess, Category.EVIDENCE_STORAGE, why, now, report
            )
            if count == 0:
                break
            excess -= freed
        if excess > 0:
            logger.warning(
                "retention: %.2f GB still over the storage limits (max_gb %s, min_free_gb %g): "
                "evidence of open incidents is kept",
                excess / GB,
                storage.max_gb,
                storage.min_free_gb,
            )

    def _storage_excess(self) -> tuple[int, str]:
        """Bytes over the tighter of ``storage.max_gb`` and ``storage.min_free_gb``, and why."""
        storage = self.config.storage
        with session_scope(self.sessions) as session:
            recordings = session.scalar(select(func.coalesce(func.sum(RecordingSegment.size_bytes), 0))) or 0
            evidence = (
                session.scalar(
                    select(func.coalesce(func.sum(Evidence.size_bytes), 0)).where(
                        Evidence.status != EvidenceStatus.DELETED
                    )
                )
                or 0
            )
        free = shutil.disk_usage(_existing(self.data_dir)).free
        short_of_free = int(storage.min_free_gb * GB - free)
        if storage.max_gb is not None and recordings + evidence - storage.max_gb * GB >= short_of_free:
            over_max = int(recordings + evidence - storage.max_gb * GB)
            return over_max, f"recordings and evidence exceed storage.max_gb ({storage.max_gb:g} GB)"
        return short_of_free, f"less than storage.min_free_gb ({storage.min_free_gb:g} GB) free on disk"

    # -- queries ---------------------------------------------------------------------------------

    def _select(self, stmt: Select[int, str, str, int]) -> list[_Segment]:
        with session_scope(self.sessions) as session:
            return list(session.execute(stmt).all())

    def _segment_file(self, relpath: str) -> Path | None:
        try:
            return segment_file(self.recordings_dir, relpath)
        except ValueError:
            logger.error("-: recording path %r escapes the recordings directory: file left alone", relpath)
            return None

    def _evidence_file(self, relpath: str) -> Path | None:
        try:
            return self.evidence_store.path_for(relpath)
        except ValueError:
            logger.error("-: evidence path %r escapes the evidence directory: file left alone", relpath)
            return None

    def _recorded_cameras(self) -> list[str]:
        with session_scope(self.sessions) as session:
            # ordered: PostgreSQL's DISTINCT has no stable order; sweep (and log) cameras alike on both
            query = select(RecordingSegment.camera_id).distinct().order_by(RecordingSegment.camera_id)
            return list(session.scalars(query))

    def _record_config(self, camera_id: str) -> RecordConfig:
        """The camera's record section; a camera no longer configured keeps the defaults."""
        for camera in self.config.cameras:
            if camera.id == camera_id:
                return camera.record
        return self.config.defaults.record


def _segments() -> Select[int, str, str, int]:
    """Segment rows (id, camera, path, size), oldest first."""
    return select(
        RecordingSegment.id, RecordingSegment.camera_id, RecordingSegment.path, RecordingSegment.size_bytes
    ).order_by(RecordingSegment.start_at, RecordingSegment.id)


def _closed_evidence() -> Select[Evidence]:
    """Evidence not yet deleted of incidents that are not open, oldest first."""
    return (
        select(Evidence)
        .join(Incident)
        .where(Evidence.status != EvidenceStatus.DELETED, Incident.status.not_in(OPEN_STATUSES))
        .order_by(Evidence.created_at, Evidence.id)
    )


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
