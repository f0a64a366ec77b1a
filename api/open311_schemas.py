"""Open311 GeoReport v2 documents (JSON, and XML from the same objects): services, requests, tokens, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.errors import ReportInvalid
from incidents.citizen_intake import ReportFilter, Submission
from incidents.citizen_reports import CitizenReport, ReportStatus
from incidents.citizen_services import Service, get_service


class Open311Out(BaseModel):
    """Base of the Open311 answers."""

    model_config = ConfigDict(frozen=True)


class Open311ErrorOut(Open311Out):
    """One error; Open311 answers a list of them."""

    code: int = Field(description="The HTTP status, repeated.")
    description: str = Field(description="What went wrong, in words.")


class ServiceOut(Open311Out):
    """A kind of complaint citizens can report."""

    service_code: str = Field(description="Unique code of the service, to send as `service_code`.")
    service_name: str = Field(description="Name of the service (Indonesian, as in LAPOR!).")
    description: str = Field(description="What the service is for.")
    metadata: bool = Field(description="Whether the service has extra attributes (never, here).")
    type: Literal["realtime", "batch", "blackbox"] = Field(description="`realtime`: the id is returned at once.")
    keywords: str = Field(description="Comma-separated keywords.")
    group: str = Field(description="Group of services it belongs to.")

    @classmethod
    def from_service(cls, service: Service) -> ServiceOut:
        """The Open311 view of ``service``."""
        return cls(
            service_code=service.code,
            service_name=service.name,
            description=service.description,
            metadata=False,
            type="realtime",
            keywords=", ".join(service.keywords),
            group=service.group,
        )


class AttributeValueOut(Open311Out):
    """One choice of a `singlevaluelist` or `multivaluelist` attribute."""

    key: str = Field(description="The value to send.")
    name: str = Field(description="The value as shown to the citizen.")


class ServiceAttributeOut(Open311Out):
    """An extra form field of a service (none of ours has any); fields in the spec's order."""

    variable: bool = Field(description="Whether the citizen fills it in.")
    code: str = Field(description="Name of the field.")
    datatype: str = Field(description="string, number, datetime, text, singlevaluelist or multivaluelist.")
    required: bool = Field(description="Whether it must be given.")
    datatype_description: str | None = Field(default=None, description="How to fill it in, if said.")
    order: int = Field(description="Position in the form.")
    description: str = Field(description="The question asked.")
    values: list[AttributeValueOut] = Field(default_factory=list, description="The choices of a list attribute.")


class ServiceDefinitionOut(Open311Out):
    """The extra attributes of a service."""

    service_code: str = Field(description="Code of the service.")
    attributes: list[ServiceAttributeOut] = Field(description="Its extra attributes; empty for every service here.")


class RequestCreatedOut(Open311Out):
    """The answer to a submitted report."""

    service_request_id: str = Field(description="Public id of the new service request.")
    token: str = Field(description="Token to look the request up by later (`tokens/{token}.json`).")
    service_notice: str | None = Field(description="What happens next, in words.")


class TokenOut(Open311Out):
    """The service request a token belongs to."""

    service_request_id: str = Field(description="Public id of the service request.")
    token: str = Field(description="The token asked about.")


class ServiceRequestOut(Open311Out):
    """A service request as anyone may see it: never the reporter's name, email or phone."""

    service_request_id: str = Field(description="Public id of the service request.")
    status: ReportStatus = Field(description="`open` or `closed`.")
    status_notes: str | None = Field(description="Why the status is what it is, if said.")
    service_name: str = Field(description="Name of the service.")
    service_code: str = Field(description="Code of the service.")
    description: str | None = Field(description="The citizen's description; withheld when confidential.")
    agency_responsible: str | None = Field(description="Agency (OPD) that handles it.")
    service_notice: str | None = Field(description="Notice about the handling, if any.")
    requested_datetime: datetime = Field(description="When it was submitted.")
    updated_datetime: datetime = Field(description="When it last changed.")
    expected_datetime: datetime | None = Field(description="When it is expected to be handled (not set yet).")
    address: str | None = Field(description="Address given by the citizen; withheld when confidential.")
    address_id: str | None = Field(description="Id of the address in a city database (unused).")
    zipcode: str | None = Field(description="Postal code (unused).")
    lat: float | None = Field(description="Latitude, WGS84; withheld when confidential.")
    long: float | None = Field(description="Longitude, WGS84; withheld when confidential.")
    media_url: str | None = Field(description="URL of the photo (its public copy, without EXIF), if any.")

    @classmethod
    def from_model(cls, report: CitizenReport, media_url: str | None) -> ServiceRequestOut:
        """The public view of ``report``; a confidential one shows its status only."""
        hidden = report.confidential
        return cls(
            service_request_id=report.service_request_id,
            status=report.status,
            status_notes=report.status_notes,
            service_name=get_service(report.service_code).name,
            service_code=report.service_code,
            description=None if hidden else report.description,
            agency_responsible=report.agency_responsible,
            service_notice=None,
            requested_datetime=report.requested_datetime,
            updated_datetime=report.updated_datetime,
            expected_datetime=None,
            address=None if hidden else report.address_string,
            address_id=None,
            zipcode=None,
            lat=None if hidden else report.lat,
            long=None if hidden else report.lon,
            media_url=None if hidden else media_url,
        )


class ReportForm(BaseModel):
    """The fields of `POST requests.json` (form-encoded or multipart); unknown fields are ignored."""

    service_code: str = Field(max_length=32, description="Code of the service (see `services.json`).")
    lat: float | None = Field(default=None, ge=-90, le=90, description="Latitude, WGS84 (with `long`).")
    long: float | None = Field(default=None, ge=-180, le=180, description="Longitude, WGS84 (with `lat`).")
    address_string: str | None = Field(
        default=None, max_length=500, description="Address or landmark; required without lat/long."
    )
    description: str | None = Field(default=None, max_length=4000, description="What is wrong, in words.")
    media_url: str | None = Field(
        default=None, max_length=1000, pattern=r"^https?://", description="URL of a photo; stored, never fetched."
    )
    email: str | None = Field(default=None, max_length=254, description="Reporter's email; never published.")
    first_name: str | None = Field(default=None, max_length=100, description="Reporter's first name; never published.")
    last_name: str | None = Field(default=None, max_length=100, description="Reporter's last name; never published.")
    phone: str | None = Field(default=None, max_length=50, description="Reporter's phone; never published.")
    anonymous: bool = Field(default=False, description="Do not keep the reporter's name, email or phone at all.")
    confidential: bool = Field(default=False, description="Do not publish the description, location or photo.")
    api_key: str | None = Field(default=None, description="Accepted for Open311 clients; not needed here.")
    jurisdiction_id: str | None = Field(default=None, description="Accepted for Open311 clients; ignored.")

    def to_submission(self) -> Submission:
        """The submission for :func:`incidents.citizen_intake.create_report`."""
        return Submission(
            service_code=self.service_code,
            lat=self.lat,
            lon=self.long,
            address_string=self.address_string,
            description=self.description,
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            phone=self.phone,
            media_url=self.media_url,
            anonymous=self.anonymous,
            confidential=self.confidential,
        )


class RequestsQuery(BaseModel):
    """Filters of `GET requests.json`; without dates, the last 90 days."""

    service_request_id: str | None = Field(default=None, description="Comma-separated service request ids.")
    service_code: str | None = Field(default=None, description="Comma-separated service codes.")
    status: str | None = Field(default=None, description="Comma-separated statuses: `open`, `closed`.")
    start_date: datetime | None = Field(default=None, description="Earliest request time (W3C, e.g. ISO 8601).")
    end_date: datetime | None = Field(default=None, description="Latest request time (W3C, e.g. ISO 8601).")
    jurisdiction_id: str | None = Field(default=None, description="Accepted for Open311 clients; ignored.")

    def to_filter(self) -> ReportFilter:
        """The filter for :func:`incidents.citizen_intake.list_public_reports`.

        Raises:
            ReportInvalid: on an unknown status.
        """
        try:
            statuses = tuple(ReportStatus(s) for s in _split(self.status))
        except ValueError as err:
            raise ReportInvalid(f"status must be open or closed, not {self.status!r}") from err
        return ReportFilter(
            service_request_ids=_split(self.service_request_id),
            service_codes=_split(self.service_code),
            statuses=statuses,
            start=_aware(self.start_date),
            end=_aware(self.end_date),
        )


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _aware(value: datetime | None) -> datetime | None:
    """A date without a time zone is taken as UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
