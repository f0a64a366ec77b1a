"""Requests for a fresh picture from a camera, to check a citizen's report or an incident with one's own eyes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from incidents.models import Base
from incidents.types import StrEnumType, utcnow


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
