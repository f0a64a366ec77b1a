"""Tables of the incident store: cameras, incidents, the evidence (snapshots, clips) behind them, reviews, audit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.messages import CameraState, Severity
from incidents.types import StrEnumType, UtcDateTime, utcnow

# Deterministic constraint and index names, the same on SQLite and PostgreSQL, so later
# migrations can name what they alter.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class IncidentStatus(StrEnum):
    """Where an incident is in the operators' workflow; :mod:`incidents.workflow` holds the allowed moves."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    FALSE_POSITIVE = "false_positive"
    DUPLICATE = "duplicate"
    ON_HOLD = "on_hold"


OPEN_STATUSES: frozenset[IncidentStatus] = frozenset(
    {
        IncidentStatus.NEW,
        IncidentStatus.ACKNOWLEDGED,
        IncidentStatus.DISPATCHED,
        IncidentStatus.IN_PROGRESS,
        IncidentStatus.ON_HOLD,
    }
)


class EvidenceKind(StrEnum):
    """What an evidence file is."""

    SNAPSHOT = "snapshot"  # the frame with zones and boxes drawn, for operators
    FRAME = "frame"  # the same frame undrawn, for training datasets
    CLIP = "clip"


class ReviewVerdict(StrEnum):
    """An operator's verdict on whether a camera incident was real."""

    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"


class EvidenceStatus(StrEnum):
    """Whether an evidence file can be served."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"  # removed by retention; the row stays as a record of what was there


class Base(DeclarativeBase):
    """Declarative base of every table; datetimes map to :class:`UtcDateTime`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: JSON()}


class Timestamped:
    """``created_at`` / ``updated_at`` kept by the ORM."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Camera(Timestamped, Base):
    """A camera from the configuration and its latest health report."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float]
    lon: Mapped[float]
    heading: Mapped[float] = mapped_column(default=0.0)
    fov_deg: Mapped[float] = mapped_column(default=60.0)  # horizontal field of view
    range_m: Mapped[float] = mapped_column(default=80.0)  # how far the camera usefully sees
    kelurahan: Mapped[str | None] = mapped_column(String(100))
    kecamatan: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    enabled: Mapped[bool] = mapped_column(default=True)
    input_url: Mapped[str] = mapped_column(String(1000))  # always redacted: never credentials
    state: Mapped[CameraState] = mapped_column(StrEnumType(CameraState), default=CameraState.STARTING)
    state_reason: Mapped[str | None] = mapped_column(String(500))
    state_since: Mapped[datetime | None]
    status_at: Mapped[datetime | None]
    fps_in: Mapped[float] = mapped_column(default=0.0)
    fps_out: Mapped[float] = mapped_column(default=0.0)
    frames_dropped: Mapped[int] = mapped_column(default=0)
    reconnects: Mapped[int] = mapped_column(default=0)
    last_frame_at: Mapped[datetime | None]
    width: Mapped[int | None]
    height: Mapped[int | None]
    codec: Mapped[str | None] = mapped_column(String(32))
    bitrate_kbps: Mapped[float] = mapped_column(default=0.0)
    reconnects_hour: Mapped[int] = mapped_column(default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the latest report, for /metrics

    def __repr__(self) -> str:
        return f"Camera(id={self.id!r}, state={self.state!s})"


class CameraStateSpan(Base):
    """One stretch of time a camera spent in one state; uptime is computed from these.

    The open span (``ended_at`` null) is the current state. Time the service did not run has
    no span: it is reported as unmonitored, not as downtime.
    """

    __tablename__ = "camera_state_spans"
    __table_args__ = (Index("ix_camera_state_spans_camera_id_started_at", "camera_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    state: Mapped[CameraState] = mapped_column(StrEnumType(CameraState))
    reason: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"CameraStateSpan(camera_id={self.camera_id!r}, state={self.state!s}, started_at={self.started_at})"


class ProcessExit(Base):
    """A child process (camera worker, analytics, API) that ended without being asked to."""

    __tablename__ = "process_exits"

    id: Mapped[int] = mapped_column(primary_key=True)
    process: Mapped[str] = mapped_column(String(100), index=True)
    camera_id: Mapped[str | None] = mapped_column(String(64), index=True)
    exit_code: Mapped[int | None]
    signal_name: Mapped[str | None] = mapped_column(String(16))
    ran_s: Mapped[float]
    restart_in_s: Mapped[float]
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RecordingSegment(Base):
    """One file of a camera's continuous recording; ``path`` is relative to the recordings directory."""

    __tablename__ = "recording_segments"
    __table_args__ = (Index("ix_recording_segments_camera_id_start_at", "camera_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    path: Mapped[str] = mapped_column(String(500), unique=True)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    size_bytes: Mapped[int]
    frames: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrafficCount(Base):
    """Tracked objects of one class that crossed a camera's counting line one way in one minute."""

    __tablename__ = "traffic_counts"
    __table_args__ = (
        # named by hand: the conventional name is longer than PostgreSQL's 63 characters
        UniqueConstraint(
            "camera_id", "line", "class_name", "direction", "bucket_start", name="uq_traffic_counts_bucket"
        ),
        Index("ix_traffic_counts_camera_id_bucket_start", "camera_id", "bucket_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    line: Mapped[str] = mapped_column(String(64))
    class_name: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))  # "in" or "out", as the line's configuration defines
    bucket_start: Mapped[datetime]  # start of the minute
    count: Mapped[int]


class ComponentStatus(Base):
    """The latest report of a component that is not a camera (the detector), for /metrics."""

    __tablename__ = "component_status"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Incident(Timestamped, Base):
    """Something a camera (or, later, a citizen) raised that operators handle."""

    __tablename__ = "incidents"
    __table_args__ = (
        # The list filters by one of these and pages newest first (migration 0008).
        Index("ix_incidents_camera_id_started_at", "camera_id", "started_at"),
        Index("ix_incidents_kind_started_at", "kind", "started_at"),
        Index("ix_incidents_status_started_at", "status", "started_at"),
        # AUTOINCREMENT on SQLite: ids are never reused, since evidence file names contain them.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    camera_id: Mapped[str | None] = mapped_column(ForeignKey("cameras.id"))
    kind: Mapped[str] = mapped_column(String(64))
    zone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[IncidentStatus] = mapped_column(StrEnumType(IncidentStatus), default=IncidentStatus.NEW)
    severity: Mapped[Severity] = mapped_column(StrEnumType(Severity))
    title: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]  # null while the event is still going on
    # The operators' workflow (incidents.workflow): set by status changes, never by the recorder.
    agency: Mapped[str | None] = mapped_column(String(32), index=True)  # code of the agency dispatched to
    acknowledged_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    expected_by: Mapped[datetime | None]  # when the agency should have it resolved
    resolved_at: Mapped[datetime | None]
    # A plain foreign key, no ON DELETE: SQLite reflects no options of the column-level constraint
    # migration 0005 had to use, and incidents are never deleted (retention removes files, not rows).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))

    camera: Mapped[Camera | None] = relationship()  # its kecamatan routes the incident

    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Evidence.id",
    )

    def latest_evidence(self, kind: EvidenceKind) -> Evidence | None:
        """The newest evidence of ``kind``, or None."""
        matches = [e for e in self.evidence if e.kind == kind]
        return matches[-1] if matches else None

    def __repr__(self) -> str:
        return f"Incident(id={self.id!r}, camera_id={self.camera_id!r}, kind={self.kind!r})"


class Evidence(Timestamped, Base):
    """A snapshot or clip of an incident; ``path`` is relative to the evidence directory."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EvidenceKind] = mapped_column(StrEnumType(EvidenceKind))
    status: Mapped[EvidenceStatus] = mapped_column(StrEnumType(EvidenceStatus), index=True)
    path: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int | None]
    duration_s: Mapped[float | None]
    start_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # ClipRequest.request_id
    deadline_at: Mapped[datetime | None]

    incident: Mapped[Incident] = relationship(back_populates="evidence")

    def __repr__(self) -> str:
        return f"Evidence(id={self.id!r}, kind={self.kind!s}, status={self.status!s})"


class IncidentReview(Base):
    """An operator's verdict on an incident; the newest row counts, older ones are kept as history."""

    __tablename__ = "incident_reviews"
    __table_args__ = (Index("ix_incident_reviews_incident_id_reviewed_at", "incident_id", "reviewed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    verdict: Mapped[ReviewVerdict] = mapped_column(StrEnumType(ReviewVerdict), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    # Not "by" / "at": SQL keywords, reserved in the standard even where a database lets them pass.
    reviewed_by: Mapped[str] = mapped_column(String(100))
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"IncidentReview(incident_id={self.incident_id!r}, verdict={self.verdict!s}, by={self.reviewed_by!r})"


class IncidentAudit(Base):
    """One change of an incident's status: who, when, from what to what, and why."""

    __tablename__ = "incident_audit"
    __table_args__ = (Index("ix_incident_audit_incident_id_id", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    # Not "at" / "by": SQL keywords (as in IncidentReview); the API calls them at / by.
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(100))
    from_status: Mapped[IncidentStatus] = mapped_column(StrEnumType(IncidentStatus))
    to_status: Mapped[IncidentStatus] = mapped_column(StrEnumType(IncidentStatus))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # agency, expected_by, merged_into, ...

    def __repr__(self) -> str:
        return f"IncidentAudit(incident_id={self.incident_id!r}, {self.from_status!s}->{self.to_status!s})"
