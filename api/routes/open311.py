"""Citizens' reports (e-lapor) through Open311 GeoReport v2, JSON and XML: services, requests, tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse

from api.deps import CorrelationDep, EvidenceStoreDep, SessionDep, WorkflowRulesDep
from api.open311_schemas import (
    Open311ErrorOut,
    ReportForm,
    RequestCreatedOut,
    RequestsQuery,
    ServiceDefinitionOut,
    ServiceOut,
    ServiceRequestOut,
    TokenOut,
)
from api.open311_xml import Open311XMLRoute, XMLResponse, to_xml, xml_responses
from api.ratelimit import RateLimiter
from incidents.citizen_intake import (
    create_report,
    get_report,
    get_report_by_token,
    list_public_reports,
    public_media_file,
)
from incidents.citizen_reports import CitizenReport
from incidents.citizen_services import SERVICES, get_service
from incidents.types import utcnow
from incidents.uploads import MAX_MEDIA_BYTES, CheckedImage, check_image

router = APIRouter(prefix="/open311/v2", tags=["open311"])

ServiceRequestId = Annotated[str, Path(description="Public id of the service request.")]


_ERRORS = {
    400: "The request is invalid (the description says why).",
    404: "No such service, service request or token.",
    413: f"The media is larger than {MAX_MEDIA_BYTES} bytes.",
    429: "Too many reports from this client; see Retry-After.",
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": list[Open311ErrorOut], "description": _ERRORS[s]} for s in statuses}


def rate_limit(request: Request) -> None:
    """Refuse a client (by IP address) that sent more than its share of reports."""
    limiter: RateLimiter = request.app.state.open311_limiter
    limiter.check(request.client.host if request.client else "unknown")


@router.get("/services.json")
def list_services() -> list[ServiceOut]:
    """The kinds of complaint citizens can report."""
    return [ServiceOut.from_service(service) for service in SERVICES]


@router.get("/services/{service_code}.json", responses=_errors(404))
def get_service_definition(
    service_code: Annotated[str, Path(description="Code of the service.")],
) -> ServiceDefinitionOut:
    """The extra attributes of one service (none: `metadata` is false for all)."""
    return ServiceDefinitionOut(service_code=get_service(service_code).code, attributes=[])


@router.post(
    "/requests.json", status_code=201, responses=_errors(400, 404, 413, 429), dependencies=[Depends(rate_limit)]
)
def submit(
    form: Annotated[ReportForm, Form()],
    session: SessionDep,
    store: EvidenceStoreDep,
    rules: WorkflowRulesDep,
    correlation: CorrelationDep,
    media: Annotated[UploadFile | None, File(description="A photo (JPEG, PNG or WebP); EXIF is removed.")] = None,
) -> list[RequestCreatedOut]:
    """Submit a citizen's report, with a location and maybe a photo (form-encoded or multipart)."""
    image: CheckedImage | None = None
    if media is not None and media.filename:
        image = check_image(media.file.read(MAX_MEDIA_BYTES + 1))  # bad media: nothing is stored
    report = create_report(
        form.to_submission(), image, session=session, store=store, now=utcnow(), correlation=correlation, rules=rules
    )
    return [
        RequestCreatedOut(
            service_request_id=report.service_request_id, token=report.token, service_notice=_notice(report)
        )
    ]


@router.get("/requests.json", responses=_errors(400))
def list_requests(
    query: Annotated[RequestsQuery, Query()], request: Request, session: SessionDep
) -> list[ServiceRequestOut]:
    """Public service requests, newest first (confidential ones are left out; no personal data)."""
    reports = list_public_reports(query.to_filter(), session=session, now=utcnow())
    return [ServiceRequestOut.from_model(r, _media_url(request, r)) for r in reports]


@router.get("/requests/{service_request_id}.json", responses=_errors(404))
def get_request(service_request_id: ServiceRequestId, request: Request, session: SessionDep) -> list[ServiceRequestOut]:
    """One service request, as a list of one (Open311's shape)."""
    report = get_report(service_request_id, session=session)
    return [ServiceRequestOut.from_model(report, _media_url(request, report))]


@router.get(
    "/requests/{service_request_id}/media.jpg",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The photo, without EXIF."}, **_errors(404)},
)
def get_media(service_request_id: ServiceRequestId, session: SessionDep, store: EvidenceStoreDep) -> FileResponse:
    """The public copy of a request's photo, re-encoded without EXIF (not for confidential requests)."""
    report = get_report(service_request_id, session=session)
    return FileResponse(public_media_file(report, store), media_type="image/jpeg")


@router.get("/tokens/{token}.json", responses=_errors(404))
def get_token(
    token: Annotated[str, Path(description="Token returned when the request was submitted.")], session: SessionDep
) -> list[TokenOut]:
    """The service request id a submission token belongs to."""
    report = get_report_by_token(token, session=session)
    return [TokenOut(service_request_id=report.service_request_id, token=report.token)]


def _media_url(request: Request, report: CitizenReport) -> str | None:
    if report.media_path is not None:
        return str(request.url_for("get_media", service_request_id=report.service_request_id))
    return report.media_url


def _notice(report: CitizenReport) -> str:
    service = get_service(report.service_code)
    notice = f"Laporan diterima: {service.name}, diteruskan ke {report.agency_responsible or 'pusat komando'}."
    if report.camera_confirmed_at is not None:
        notice += " Kejadian juga terpantau kamera CCTV kota."
    if report.anonymous:
        notice += " Identitas pelapor tidak disimpan (anonim)."
    return notice


# The same answers as XML (GeoReport v2's required format), made from the JSON routes' answer objects.
xml_router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311XMLRoute)


def _xml(example: str, *statuses: int, status: int = 200) -> dict[int | str, dict[str, Any]]:
    return xml_responses(example, {s: _ERRORS[s] for s in statuses}, status=status)


@xml_router.get("/services.xml", response_class=XMLResponse, responses=_xml("services"))
def list_services_xml() -> XMLResponse:
    """The kinds of complaint citizens can report, as XML."""
    return XMLResponse(to_xml("services", list_services()))


@xml_router.get("/services/{service_code}.xml", response_class=XMLResponse, responses=_xml("service_definition", 404))
def get_service_definition_xml(
    service_code: Annotated[str, Path(description="Code of the service.")],
) -> XMLResponse:
    """The extra attributes of one service (none: `metadata` is false for all), as XML."""
    return XMLResponse(to_xml("service_definition", get_service_definition(service_code)))


@xml_router.post(
    "/requests.xml",
    status_code=201,
    response_class=XMLResponse,
    responses=_xml("created", 400, 404, 413, 429, status=201),
    dependencies=[Depends(rate_limit)],
)
def submit_xml(
    form: Annotated[ReportForm, Form()],
    session: SessionDep,
    store: EvidenceStoreDep,
    rules: WorkflowRulesDep,
    correlation: CorrelationDep,
    media: Annotated[UploadFile | None, File(description="A photo (JPEG, PNG or WebP); EXIF is removed.")] = None,
) -> XMLResponse:
    """Submit a citizen's report (the fields of `requests.json`); the answer is XML."""
    created = submit(form, session, store, rules, correlation, media)
    return XMLResponse(to_xml("service_requests", created), status_code=201)


@xml_router.get("/requests.xml", response_class=XMLResponse, responses=_xml("requests", 400))
def list_requests_xml(query: Annotated[RequestsQuery, Query()], request: Request, session: SessionDep) -> XMLResponse:
    """Public service requests, newest first (confidential ones are left out; no personal data), as XML."""
    return XMLResponse(to_xml("service_requests", list_requests(query, request, session)))


@xml_router.get("/requests/{service_request_id}.xml", response_class=XMLResponse, responses=_xml("requests", 404))
def get_request_xml(service_request_id: ServiceRequestId, request: Request, session: SessionDep) -> XMLResponse:
    """One service request, as XML (a list of one, Open311's shape)."""
    return XMLResponse(to_xml("service_requests", get_request(service_request_id, request, session)))


@xml_router.get("/tokens/{token}.xml", response_class=XMLResponse, responses=_xml("token", 404))
def get_token_xml(
    token: Annotated[str, Path(description="Token returned when the request was submitted.")], session: SessionDep
) -> XMLResponse:
    """The service request id a submission token belongs to, as XML."""
    return XMLResponse(to_xml("service_requests", get_token(token, session)))


TAG: dict[str, Any] = {
    "name": "open311",
    "description": (
        "Citizens' reports (e-lapor) through Open311 GeoReport v2, in JSON (`.json`) and XML (`.xml`): the kinds "
        "of complaint, submitting one with a location and a photo, and following it by id or token. Personal "
        "data is never published."
    ),
}


def install(app: FastAPI) -> None:
    """Add the Open311 routes (JSON and XML), their tag's description and their rate limiter to ``app``."""
    app.state.open311_limiter = RateLimiter()  # 10 reports a minute per client address
    app.include_router(router)
    app.include_router(xml_router)
    app.openapi_tags = [*(app.openapi_tags or []), TAG]
