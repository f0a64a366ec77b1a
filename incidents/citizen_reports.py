"""Citizens' reports (e-lapor, Open311 GeoReport v2): the table and its states."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from incidents.models import Base
from incidents.types import StrEnumType, utcnow


class ReportStatus(StrEnum):
    """The two states Open311 knows."""

    OPEN = "open"
    CLOSED = "closed"


class CitizenReport(Base):
    """A complaint a citizen sent with a location and, maybe, a photo.

    The personal fields (email, names, phone) and the original upload are never shown publicly;
    ``media_path`` is the EXIF-stripped public copy. Paths are relative to the evidence directory.
    """

    __tablename__ = "citizen_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_request_id: Mapped[str] = mapped_column(String(32), unique=True)  # the public id
    token: Mapped[str] = mapped_column(String(64), unique=True)
    service_code: Mapped[str] = mapped_column(String(32), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    address_string: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(50))
    anonymous: Mapped[bool] = mapped_column(default=False)  # the reporter's identity was not kept
    confidential: Mapped[bool] = mapped_column(default=False)  # the content is not published
    status: Mapped[ReportStatus] = mapped_column(StrEnumType(ReportStatus), default=ReportStatus.OPEN, index=True)
    status_notes: Mapped[str | None] = mapped_column(Text)
    agency_responsible: Mapped[str | None] = mapped_column(String(200))
    requested_datetime: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_datetime: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    media_url: Mapped[str | None] = mapped_column(String(1000))  # as the client gave it, never fetched
    media_path: Mapped[str | None] = mapped_column(String(500))  # public copy, re-encoded without EXIF
    original_media_path: Mapped[str | None] = mapped_column(String(500))  # the upload as sent: private
    exif_lat: Mapped[float | None]  # GPS position in the photo's EXIF, if any
    exif_lon: Mapped[float | None]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    # Correlation (incidents.correlation): when cameras and incidents nearby were looked for, and when
    # a camera incident of the same kind, linked to this report, confirmed it.
    correlated_at: Mapped[datetime | None]
    camera_confirmed_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"CitizenReport(service_request_id={self.service_request_id!r}, service_code={self.service_code!r})"
