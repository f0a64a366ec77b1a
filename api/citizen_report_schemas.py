"""Request and response models of the operators' view of citizens' reports, and of links between incidents."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.deps import MAX_ID
from api.schemas import Out
from incidents.citizen_reports import CitizenReport, ReportStatus
from incidents.citizen_services import get_service
from incidents.correlation import Match
from incidents.links import IncidentLink, LinkStatus, ReportCamera
from incidents.models import Camera, Incident, IncidentStatus


def photo_url(report: CitizenReport) -> str | None:
    """Where an operator sees the report's photo: its EXIF-stripped copy, else the URL the citizen gave."""
    return f"/api/citizen-reports/{report.id}/media.jpg" if report.media_path is not None else report.media_url


class CitizenReportOut(Out):
    """A citizen's report as operators see it (the reporter's contact only in the detail)."""

    id: int = Field(description="Report id (operators' side).")
    service_request_id: str = Field(description="Public Open311 id of the report.")
    service_code: str = Field(description="Open311 service code, e.g. `trash`.")
    service_name: str = Field(description="Name of the service.")
    status: ReportStatus = Field(description="Open311 status, `open` or `closed`; follows the linked incident.")
    status_notes: str | None = Field(description="The public status notes the citizen sees.")
    description: str | None = Field(description="The citizen's description (shown to operators even if confidential).")
    lat: float | None = Field(description="Latitude, WGS84.")
    lon: float | None = Field(description="Longitude, WGS84.")
    address: str | None = Field(description="Address the citizen gave.")
    photo_url: str | None = Field(description="URL of the photo (EXIF removed), or the URL the citizen gave.")
    agency_responsible: str | None = Field(description="Agency (OPD) that handles it.")
    anonymous: bool = Field(description="The reporter's identity was not kept.")
    confidential: bool = Field(description="The content is not published on Open311.")
    requested_at: datetime = Field(description="When it was submitted.")
    updated_at: datetime = Field(description="When it last changed.")
    incident_id: int | None = Field(description="The incident it is linked to; null when none.")
    correlated_at: datetime | None = Field(description="When cameras and incidents near it were last looked for.")
    camera_confirmed_at: datetime | None = Field(description="When a camera incident confirmed it; null if none.")

    @classmethod
    def from_model(cls, report: CitizenReport) -> CitizenReportOut:
        """The answer for ``report``."""
        return cls.model_validate(report_fields(report))


def report_fields(report: CitizenReport) -> dict[str, object]:
    """The fields of :class:`CitizenReportOut` for ``report``."""
    return {
        "id": report.id,
        "service_request_id": report.service_request_id,
        "service_code": report.service_code,
        "service_name": get_service(report.service_code).name,
        "status": report.status,
        "status_notes": report.status_notes,
        "description": report.description,
        "lat": report.lat,
        "lon": report.lon,
        "address": report.address_string,
        "photo_url": photo_url(report),
        "agency_responsible": report.agency_responsible,
        "anonymous": report.anonymous,
        "confidential": report.confidential,
        "requested_at": report.requested_datetime,
        "updated_at": report.updated_datetime,
        "incident_id": report.incident_id,
        "correlated_at": report.correlated_at,
        "camera_confirmed_at": report.camera_confirmed_at,
    }


class CitizenReportPage(Out):
    """One page of citizens' reports, newest first."""

    items: list[CitizenReportOut] = Field(description="The reports on this page.")
    total: int = Field(description="Number of reports matching the filter, on all pages.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Number of matching reports skipped before this page.")


class ReporterOut(Out):
    """How to reach the citizen who reported (never published)."""

    first_name: str | None = Field(description="First name, if given.")
    last_name: str | None = Field(description="Last name, if given.")
    email: str | None = Field(description="Email address, if given.")
    phone: str | None = Field(description="Phone number, if given.")


class ReportCameraOut(Out):
    """A camera near a report."""

    camera_id: str = Field(description="Camera id.")
    name: str = Field(description="Camera name.")
    distance_m: float = Field(description="From the camera to the report's place, metres.")
    bearing_deg: float = Field(description="Direction from the camera to the report's place, degrees from north.")
    heading: float = Field(description="Where the camera looks, degrees from north.")
    in_view: bool = Field(description="Whether the place is inside the camera's view (range and field of view).")
    suggested_for_snapshot: bool = Field(
        description="The nearest camera that sees the place: ask it for a fresh snapshot to verify the report."
    )

    @classmethod
    def from_model(cls, row: ReportCamera, camera: Camera, *, suggested: bool) -> ReportCameraOut:
        """The answer for one stored camera of a report."""
        return cls(
            camera_id=camera.id,
            name=camera.name,
            distance_m=row.distance_m,
            bearing_deg=row.bearing_deg,
            heading=camera.heading,
            in_view=row.in_view,
            suggested_for_snapshot=suggested,
        )


class NearbyIncidentOut(Out):
    """An incident near a report, or the one it is linked to."""

    id: int = Field(description="Incident id.")
    camera_id: str | None = Field(description="Camera that raised it.")
    kind: str = Field(description="Incident kind.")
    status: IncidentStatus = Field(description="Its status in the operators' workflow.")
    title: str = Field(description="One-line summary.")
    started_at: datetime = Field(description="When it started.")
    distance_m: float | None = Field(description="From its camera to the report's place, metres; null if unknown.")
    gap_s: float | None = Field(description="Seconds between the report and the incident (0: it was going on).")

    @classmethod
    def from_match(cls, match: Match) -> NearbyIncidentOut:
        """The answer for an incident found near a report."""
        return cls.from_model(match.incident, distance_m=match.distance_m, gap_s=match.gap_s)

    @classmethod
    def from_model(cls, incident: Incident, *, distance_m: float | None, gap_s: float | None) -> NearbyIncidentOut:
        """The answer for ``incident``."""
        return cls(
            id=incident.id,
            camera_id=incident.camera_id,
            kind=incident.kind,
            status=incident.status,
            title=incident.title,
            started_at=incident.started_at,
            distance_m=None if distance_m is None else round(distance_m, 1),
            gap_s=None if gap_s is None else round(gap_s, 1),
        )


class CitizenReportDetailOut(CitizenReportOut):
    """One report with its reporter, the cameras that can see it, its incident and the open incidents near it."""

    reporter: ReporterOut | None = Field(description="The reporter's contact; null when anonymous.")
    cameras: list[ReportCameraOut] = Field(
        description="Cameras near it: those that see the place first, nearest first."
    )
    incident: NearbyIncidentOut | None = Field(description="The incident it is linked to; null when none.")
    nearby_incidents: list[NearbyIncidentOut] = Field(
        description="Other open camera incidents of a matching kind near it in space and time, nearest first."
    )


def reporter_of(report: CitizenReport) -> ReporterOut | None:
    """The reporter's contact, or None when the report is anonymous (nothing was kept)."""
    if report.anonymous:
        return None
    return ReporterOut(first_name=report.first_name, last_name=report.last_name, email=report.email, phone=report.phone)


class LinkReportIn(BaseModel):
    """An operator links a report to an incident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: int = Field(ge=1, le=MAX_ID, description="The incident the report is about.")
    note: str | None = Field(default=None, max_length=2000, description="Why, in the operator's words.")


class UnlinkReportIn(BaseModel):
    """An operator unlinks a report from its incident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str | None = Field(default=None, max_length=2000, description="Why, in the operator's words.")


class MergeIn(BaseModel):
    """An operator merges an incident into another: it becomes a duplicate of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    into: int = Field(ge=1, le=MAX_ID, description="The incident this one repeats (usually the older one).")
    note: str | None = Field(default=None, max_length=2000, description="Why, in the operator's words.")


class IncidentLinkOut(Out):
    """A link between two incidents of one kind close in space and time."""

    id: int = Field(description="Link id, for dismissing it.")
    incident_id: int = Field(description="The older incident.")
    linked_incident_id: int = Field(description="The newer incident.")
    status: LinkStatus = Field(description="`suggested`, `merged` or `dismissed`.")
    reason: str = Field(description="Why they were linked.")
    distance_m: float | None = Field(description="Between their cameras, metres.")
    gap_s: float | None = Field(description="Seconds between them (0: they overlapped).")
    created_at: datetime = Field(description="When the link was made.")
    decided_at: datetime | None = Field(description="When an operator merged or dismissed it.")
    decided_by: str | None = Field(description="Who merged or dismissed it.")

    @classmethod
    def from_model(cls, link: IncidentLink) -> IncidentLinkOut:
        """The answer for ``link``."""
        return cls(
            id=link.id,
            incident_id=link.incident_id,
            linked_incident_id=link.linked_incident_id,
            status=link.status,
            reason=link.reason,
            distance_m=link.distance_m,
            gap_s=link.gap_s,
            created_at=link.created_at,
            decided_at=link.decided_at,
            decided_by=link.decided_by,
        )


class IncidentReportOut(Out):
    """A citizen's report linked to an incident."""

    id: int = Field(description="Report id (operators' side).")
    service_request_id: str = Field(description="Public Open311 id.")
    service_code: str = Field(description="Open311 service code.")
    status: ReportStatus = Field(description="`open` or `closed`.")
    description: str | None = Field(description="The citizen's description.")
    photo_url: str | None = Field(description="URL of the photo (EXIF removed), or the URL the citizen gave.")
    distance_m: float | None = Field(description="From the incident's camera to the report's place, metres.")
    camera_confirmed_at: datetime | None = Field(description="When the camera confirmed it.")

    @classmethod
    def from_model(cls, report: CitizenReport, distance_m: float | None) -> IncidentReportOut:
        """The answer for ``report``, ``distance_m`` from the incident's camera."""
        return cls(
            id=report.id,
            service_request_id=report.service_request_id,
            service_code=report.service_code,
            status=report.status,
            description=report.description,
            photo_url=photo_url(report),
            distance_m=None if distance_m is None else round(distance_m, 1),
            camera_confirmed_at=report.camera_confirmed_at,
        )
