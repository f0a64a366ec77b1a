"""Requests for a fresh picture from a camera, to check a citizen's report or an incident with one's own eyes."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import ForeignKey, Index, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.errors import CameraNotFound, IncidentNotFound, ReportNotFound, SnapshotFailed, SnapshotNotFound
from incidents.citizen_reports import CitizenReport
from incidents.evidence import EvidenceStore
from incidents.models import Base, Camera, Incident
from incidents.types import StrEnumType, clip, utcnow

logger = logging.getLogger(__name__)


class SnapshotStatus(StrEnum):
    """Where a snapshot request is."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class SnapshotRequest(Base):
    """An operator's request for the camera's current picture; ``path`` is relative to the evidence directory."""

    __tablename__ = "snapshot_requests"
    __table_args__ = (Index("ix_snapshot_requests_status_requested_at", "status", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("citizen_reports.id", ondelete="SET NULL"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime]
    status: Mapped[SnapshotStatus] = mapped_column(StrEnumType(SnapshotStatus), default=SnapshotStatus.PENDING)
    path: Mapped[str | None] = mapped_column(String(500))
    frame_at: Mapped[datetime | None]  # when the camera took the picture
    error: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]


# -- data access --------------------------------------------------------------------------------------
#
# Requests are not coalesced: each keeps its own row (its requester, its report or incident link,
# its deadline), but the analytics process answers every pending request of a camera with the same
# frame, encoded once, so asking twice costs no second picture.

DEFAULT_TIMEOUT_S = 10.0
RECENT_LIMIT = 20


def snapshot_relpath(camera_id: str, snapshot_id: int, at: datetime) -> str:
    """``snapshots/{camera_id}/{YYYY-MM-DD}/{snapshot_id}.jpg`` in the evidence store; the date is ``at``'s UTC date."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: give it a time zone")
    return f"snapshots/{camera_id}/{at.astimezone(UTC).date().isoformat()}/{snapshot_id}.jpg"


def request_snapshot(
    camera_id: str,
    *,
    session: Session,
    requested_by: str,
    report_id: int | None = None,
    incident_id: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    now: datetime | None = None,
) -> SnapshotRequest:
    """Queue a request for ``camera_id``'s next frame, due within ``timeout_s``.

    A camera that is offline is still asked (it may come back before the deadline); the caller
    tells the operator its state (:func:`incidents.cameras.effective_status`).

    Raises:
        CameraNotFound: when the camera is unknown.
        IncidentNotFound: when ``incident_id`` names no incident.
        ReportNotFound: when ``report_id`` names no citizen report.
    """
    if session.get(Camera, camera_id) is None:
        raise CameraNotFound(f"camera {camera_id!r} not found")
    if incident_id is not None and session.get(Incident, incident_id) is None:
        raise IncidentNotFound(f"incident {incident_id} not found")
    if report_id is not None and session.get(CitizenReport, report_id) is None:
        raise ReportNotFound(f"citizen report {report_id} not found")
    at = now or utcnow()
    request = SnapshotRequest(
        camera_id=camera_id,
        report_id=report_id,
        incident_id=incident_id,
        requested_by=requested_by,
        requested_at=at,
        deadline_at=at + timedelta(seconds=timeout_s),
        status=SnapshotStatus.PENDING,
    )
    session.add(request)
    session.flush()
    logger.info("%s: snapshot %d requested by %s", camera_id, request.id, requested_by)
    return request


def get_snapshot(snapshot_id: int, *, session: Session) -> SnapshotRequest:
    """The snapshot request with ``snapshot_id``.

    Raises:
        SnapshotNotFound: when there is none.
    """
    request = session.get(SnapshotRequest, snapshot_id)
    if request is None:
        raise SnapshotNotFound(f"snapshot {snapshot_id} not found")
    return request


def recent_snapshots(camera_id: str, *, session: Session, limit: int = RECENT_LIMIT) -> list[SnapshotRequest]:
    """The camera's newest snapshot requests, newest first.

    Raises:
        CameraNotFound: when the camera is unknown.
    """
    if session.get(Camera, camera_id) is None:
        raise CameraNotFound(f"camera {camera_id!r} not found")
    stmt = (
        select(SnapshotRequest)
        .where(SnapshotRequest.camera_id == camera_id)
        .order_by(SnapshotRequest.requested_at.desc(), SnapshotRequest.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def pending(*, session: Session, camera_ids: Collection[str]) -> list[SnapshotRequest]:
    """The pending requests of ``camera_ids``, oldest first (served by the status/requested_at index)."""
    if not camera_ids:
        return []
    stmt = (
        select(SnapshotRequest)
        .where(SnapshotRequest.status == SnapshotStatus.PENDING, SnapshotRequest.camera_id.in_(list(camera_ids)))
        .order_by(SnapshotRequest.requested_at, SnapshotRequest.id)
    )
    return list(session.scalars(stmt))


def complete(snapshot_id: int, *, session: Session, path: str, frame_at: datetime, now: datetime | None = None) -> bool:
    """Mark a pending request ready with its picture (``path`` relative to the evidence directory).

    Returns False when the request is no longer pending (it expired meanwhile): the caller then
    removes the file it wrote. One conditional UPDATE, so a concurrent :func:`expire` cannot be overwritten.
    """
    return _finish(snapshot_id, session, status=SnapshotStatus.READY, path=path, frame_at=frame_at, now=now)


def fail(snapshot_id: int, error: str, *, session: Session, now: datetime | None = None) -> bool:
    """Mark a pending request failed with ``error``; False when it was no longer pending."""
    return _finish(snapshot_id, session, status=SnapshotStatus.FAILED, error=clip(error, 2000), now=now)


def expire(now: datetime, *, session: Session) -> list[int]:
    """Fail every pending request whose deadline passed before ``now``; returns their ids."""
    overdue = session.execute(
        select(SnapshotRequest.id, SnapshotRequest.camera_id, SnapshotRequest.requested_at, SnapshotRequest.deadline_at)
        .where(SnapshotRequest.status == SnapshotStatus.PENDING, SnapshotRequest.deadline_at < now)
        .order_by(SnapshotRequest.requested_at)
    ).all()
    failed = []
    for snapshot_id, camera_id, requested_at, deadline_at in overdue:
        waited_s = (deadline_at - requested_at).total_seconds()
        if fail(snapshot_id, f"camera sent no frame in {waited_s:g} s", session=session, now=now):
            logger.warning("%s: snapshot %d failed: no frame in %g s", camera_id, snapshot_id, waited_s)
            failed.append(snapshot_id)
    return failed


def snapshot_file(request: SnapshotRequest, store: EvidenceStore) -> Path:
    """The JPEG of a ready request.

    Raises:
        SnapshotNotFound: when it is still pending, or its file is gone.
        SnapshotFailed: when the camera could not give a picture (the message says why).
    """
    if request.status == SnapshotStatus.PENDING:
        raise SnapshotNotFound(f"snapshot {request.id} is not ready yet (pending until {request.deadline_at:%H:%M:%S})")
    if request.status == SnapshotStatus.FAILED:
        raise SnapshotFailed(f"snapshot {request.id} failed: {request.error}")
    if request.path is None:  # deleted by retention: the row says when and why
        raise SnapshotNotFound(f"snapshot {request.id} is no longer kept: {request.error or 'its picture was deleted'}")
    try:
        path = store.path_for(request.path)
    except ValueError as err:
        logger.error("%s: snapshot %d has a bad path: %s", request.camera_id, request.id, err)
        raise SnapshotNotFound(f"snapshot {request.id} is unavailable") from err
    if not path.is_file():
        raise SnapshotNotFound(f"snapshot {request.id} is no longer on disk")
    return path


def _finish(
    snapshot_id: int,
    session: Session,
    *,
    status: SnapshotStatus,
    now: datetime | None,
    path: str | None = None,
    frame_at: datetime | None = None,
    error: str | None = None,
) -> bool:
    result = session.execute(
        update(SnapshotRequest)
        .where(SnapshotRequest.id == snapshot_id, SnapshotRequest.status == SnapshotStatus.PENDING)
        .values(status=status, path=path, frame_at=frame_at, error=error, completed_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0) == 1)
