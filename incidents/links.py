"""Links between what was seen: citizens' reports and the cameras that can see them, incidents and their twins."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from incidents.models import Base
from incidents.types import StrEnumType, utcnow


class ReportCamera(Base):
    """A camera near a citizen's report; ``in_view`` when the report's place is inside its view sector."""

    __tablename__ = "report_cameras"
    __table_args__ = (UniqueConstraint("report_id", "camera_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("citizen_reports.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    distance_m: Mapped[float]
    bearing_deg: Mapped[float]  # from the camera to the report, degrees from north
    in_view: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LinkStatus(StrEnum):
    """Whether an operator acted on a suggested link between two incidents."""

    SUGGESTED = "suggested"  # found by place and time; nobody has looked yet
    MERGED = "merged"  # the newer one was merged into the older one (status duplicate)
    DISMISSED = "dismissed"  # an operator said they are different events


class IncidentLink(Base):
    """Two incidents of the same kind close in space and time: probably one event seen twice."""

    __tablename__ = "incident_links"
    __table_args__ = (UniqueConstraint("incident_id", "linked_incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)  # the older one
    linked_incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)  # the newer one
    reason: Mapped[str] = mapped_column(String(200))
    distance_m: Mapped[float | None]
    gap_s: Mapped[float | None]
    status: Mapped[LinkStatus] = mapped_column(StrEnumType(LinkStatus), default=LinkStatus.SUGGESTED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
