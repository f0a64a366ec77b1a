"""Data access for citizens' reports: take one in (with its photo files), find, list."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ReportInvalid, ReportNotFound
from core.incident_config import CorrelationConfig
from incidents.citizen_reports import CitizenReport, ReportStatus
from incidents.citizen_services import get_service
from incidents.correlation import correlate_report
from incidents.evidence import EvidenceStore
from incidents.routing import WorkflowRules
from incidents.uploads import CheckedImage

logger = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(days=90)  # Open311: without dates, the last 90 days
MAX_LISTED = 1000  # Open311's usual cap on one answer


@dataclass(frozen=True, slots=True)
class Submission:
    """What a citizen sent, as parsed from the form; checked by :func:`create_report`."""

    service_code: str
    lat: float | None = None
    lon: float | None = None
    address_string: str | None = None
    description: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    media_url: str | None = None
    anonymous: bool = False
    confidential: bool = False


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Which reports to list; every set criterion must hold."""

    service_request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[ReportStatus, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


def create_report(
    submission: Submission,
    image: CheckedImage | None,
    *,
    session: Session,
    store: EvidenceStore,
    now: datetime,
    correlation: CorrelationConfig | None = None,
    rules: WorkflowRules | None = None,
) -> CitizenReport:
    """Add a report, write its photo files (public copy, private original), link it to cameras and incidents; flushes.

    Correlation (``correlation``, default settings when None) that fails is logged: the report is kept.

    Raises:
        ReportNotFound: when the service code is unknown.
        ReportInvalid: when the report has no location (lat and long, or address_string).
    """
    service = get_service(submission.service_code)
    has_point = submission.lat is not None and submission.lon is not None
    if (submission.lat is None) != (submission.lon is None):
        raise ReportInvalid("lat and long go together: give both, or address_string alone")
    if not has_point and not (submission.address_string or "").strip():
        raise ReportInvalid("a location is required: lat and long, or address_string")
    personal = {} if submission.anonymous else _personal_fields(submission)
    report = CitizenReport(
        service_request_id=f"{now.astimezone(UTC):%Y%m%d}-{secrets.token_hex(4)}",
        token=secrets.token_urlsafe(24),
        service_code=service.code,
        description=submission.description,
        lat=submission.lat,
        lon=submission.lon,
        address_string=submission.address_string,
        anonymous=submission.anonymous,
        confidential=submission.confidential,
        status=ReportStatus.OPEN,
        agency_responsible=service.agency_name,
        requested_datetime=now,
        updated_datetime=now,
        media_url=submission.media_url,
        exif_lat=image.exif_lat if image else None,
        exif_lon=image.exif_lon if image else None,
        **personal,
    )
    session.add(report)
    session.flush()  # a clash of ids fails here, before any file is written
    if image is not None:
        _write_media(report, image, store)
    _correlate(report, correlation or CorrelationConfig(), rules, session=session, now=now)
    return report


def _correlate(
    report: CitizenReport, settings: CorrelationConfig, rules: WorkflowRules | None, *, session: Session, now: datetime
) -> None:
    try:
        with session.begin_nested():  # a failure rolls back the links only
            correlate_report(report, session=session, settings=settings, rules=rules, now=now)
    except Exception:  # a citizen's report is stored whatever correlation does
        logger.exception("report %s: correlation failed", report.service_request_id)


def _personal_fields(submission: Submission) -> dict[str, str | None]:
    return {
        "email": submission.email,
        "first_name": submission.first_name,
        "last_name": submission.last_name,
        "phone": submission.phone,
    }


def _write_media(report: CitizenReport, image: CheckedImage, store: EvidenceStore) -> None:
    """Both files, or neither: a failure removes what was written and the session rolls the row back."""
    day = report.requested_datetime.astimezone(UTC).date().isoformat()
    public = f"citizen/{day}/{report.service_request_id}.jpg"
    original = f"citizen/private/{day}/{report.service_request_id}-original.{image.extension}"
    written: list[Path] = []
    try:
        written.append(store.write_atomic(original, image.original))
        written.append(store.write_atomic(public, image.public_jpeg))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    report.media_path, report.original_media_path = public, original


def get_report(service_request_id: str, *, session: Session) -> CitizenReport:
    """The report with the public id ``service_request_id``.

    Raises:
        ReportNotFound: when there is none.
    """
    report = session.scalar(select(CitizenReport).where(CitizenReport.service_request_id == service_request_id))
    if report is None:
        raise ReportNotFound(f"no service request {service_request_id!r}")
    return report


def get_report_by_token(token: str, *, session: Session) -> CitizenReport:
    """The report that was given ``token`` when it was submitted.

    Raises:
        ReportNotFound: when there is none.
    """
    report = session.scalar(select(CitizenReport).where(CitizenReport.token == token))
    if report is None:
        raise ReportNotFound("no service request has this token")
    return report


def list_public_reports(flt: ReportFilter, *, session: Session, now: datetime) -> list[CitizenReport]:
    """Reports that may be published (not confidential), newest first, at most :data:`MAX_LISTED`.

    Without dates, the last 90 days; with ``start`` alone, from it to now; with ``end`` alone, the 90 days up to it.
    """
    end = flt.end or now
    start = flt.start or end - DEFAULT_WINDOW
    if start > end:
        raise ReportInvalid("start_date is after end_date")
    stmt = select(CitizenReport).where(
        CitizenReport.confidential.is_(False),
        CitizenReport.requested_datetime >= start,
        CitizenReport.requested_datetime <= end,
    )
    if flt.service_request_ids:
        stmt = stmt.where(CitizenReport.service_request_id.in_(flt.service_request_ids))
    if flt.service_codes:
        stmt = stmt.where(CitizenReport.service_code.in_(flt.service_codes))
    if flt.statuses:
        stmt = stmt.where(CitizenReport.status.in_([s.value for s in flt.statuses]))
    stmt = stmt.order_by(CitizenReport.requested_datetime.desc(), CitizenReport.id.desc()).limit(MAX_LISTED)
    return list(session.scalars(stmt))


def public_media_file(report: CitizenReport, store: EvidenceStore) -> Path:
    """The EXIF-stripped public copy of the report's photo.

    Raises:
        ReportNotFound: when the report has none, is confidential, or the file is gone.
    """
    if report.media_path is None or report.confidential:
        raise ReportNotFound(f"service request {report.service_request_id!r} has no public media")
    path = store.path_for(report.media_path)
    if not path.is_file():
        raise ReportNotFound(f"the media of service request {report.service_request_id!r} is gone")
    return path
