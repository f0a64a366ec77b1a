"""Open311 GeoReport v2 answers as XML, built from the same pydantic objects as the JSON answers.

Each field becomes an element of the same name, in the same order; a list is an element holding one
element per item, named as the spec names it (``<services><service>``, ``<service_requests><request>``,
``<attributes><attribute>``, ``<values><value>``, ``<errors><error>``). Values are written as the JSON
answer writes them (pydantic's JSON mode), booleans as ``true``/``false``, and null as an empty element.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from api.open311_schemas import (
    Open311ErrorOut,
    RequestCreatedOut,
    ServiceDefinitionOut,
    ServiceOut,
    ServiceRequestOut,
    TokenOut,
)
from incidents.citizen_reports import ReportStatus
from incidents.citizen_services import SERVICES

MEDIA_TYPE = "text/xml; charset=utf-8"

# GeoReport v2 names the elements of a list after what they are.
ITEM_NAMES: dict[str, str] = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}

_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
# Characters XML 1.0 cannot hold even escaped (most C0 controls, lone surrogates, U+FFFE and U+FFFF): one of
# them in a citizen's text would make the whole document unreadable, so it becomes U+FFFD.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ERRORS = TypeAdapter(list[Open311ErrorOut])


class XMLResponse(Response):
    """An XML document, as ``text/xml; charset=utf-8``."""

    media_type = "text/xml"  # Starlette adds the charset to text types


def to_xml(root: str, answer: BaseModel | Sequence[BaseModel]) -> bytes:
    """The XML document of ``answer`` (one object, or a list of them) under the element ``root``, UTF-8.

    Args:
        root: name of the document's element, e.g. ``services`` or ``service_definition``.
        answer: what the JSON route answers.

    Raises:
        KeyError: when a list has no item name in :data:`ITEM_NAMES` (a schema the spec does not know).
    """
    data = (
        answer.model_dump(mode="json") if isinstance(answer, BaseModel) else [a.model_dump(mode="json") for a in answer]
    )
    element = ET.Element(root)
    _fill(element, data)
    text = ET.tostring(element, encoding="unicode", short_empty_elements=False)
    # A parser reads a raw CR as a line end (CRLF becomes LF); as a reference it survives. Only text holds one.
    return (_DECLARATION + text.replace("\r", "&#13;")).encode("utf-8")


def error_document(status: int, errors: Sequence[Open311ErrorOut]) -> bytes:
    """The ``<errors>`` document of a failed request (``status`` only names the errors when none is given)."""
    return to_xml("errors", list(errors) or [Open311ErrorOut(code=status, description=_phrase(status))])


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _fill(ET.SubElement(element, name), item)
    elif isinstance(value, list):
        item_name = ITEM_NAMES[element.tag]
        for item in value:
            _fill(ET.SubElement(element, item_name), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("\ufffd", str(value))  # ElementTree escapes &, < and >


class Open311XMLRoute(APIRoute):
    """A route answering XML, its errors too: the app's error handlers answer them, in the Open311 JSON list.

    Those handlers run where the request's database session is rolled back and their status mapping lives;
    this route only re-encodes their answer as the ``<errors>`` document, with the same status and headers.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().handle(scope, receive, _errors_as_xml(send))
        except HTTPException as exc:  # raised before the route's handler runs: a method it does not take
            error = Open311ErrorOut(code=exc.status_code, description=exc.detail)
            answer = XMLResponse(error_document(exc.status_code, [error]), exc.status_code, headers=exc.headers)
            await answer(scope, receive, send)


def _errors_as_xml(send: Send) -> Send:
    """``send``, but a JSON error answer (status 400 and up) is sent as the XML ``<errors>`` document."""
    start: Message | None = None
    body = bytearray()

    async def sender(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start" and message["status"] >= 400 and _is_json(message):
            start = message
            return
        if start is None:
            await send(message)
            return
        body.extend(message.get("body", b""))
        if message.get("more_body", False):
            return
        status = start["status"]
        content = error_document(status, _errors_in(status, bytes(body)))
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-type", b"content-length")]
        headers += [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(content)).encode())]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return sender


def _is_json(start: Message) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"application/json") for k, v in start.get("headers", []))


def _errors_in(status: int, body: bytes) -> list[Open311ErrorOut]:
    """The errors of a JSON error answer: Open311's list, else FastAPI's ``{"detail": ...}`` as one error."""
    try:
        return _ERRORS.validate_json(body)
    except ValidationError:
        pass
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        detail = None
    return [Open311ErrorOut(code=status, description=detail if isinstance(detail, str) else _phrase(status))]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


_AT = datetime(2026, 11, 29, 6, 15, 2, tzinfo=UTC)
_ID, _TOKEN = "20261129-1a2b3c4d", "Qm9yb2sgZGkgU3VuZ2FpIE11c2k"
# Examples of each answer for the OpenAPI document: (root element, answer), written by the same code.
EXAMPLES: dict[str, tuple[str, BaseModel | list[BaseModel]]] = {
    "services": ("services", [ServiceOut.from_service(SERVICES[0])]),
    "service_definition": ("service_definition", ServiceDefinitionOut(service_code="flooding", attributes=[])),
    "created": (
        "service_requests",
        [RequestCreatedOut(service_request_id=_ID, token=_TOKEN, service_notice="Laporan diterima: Sampah / ...")],
    ),
    "requests": (
        "service_requests",
        [
            ServiceRequestOut(
                service_request_id=_ID,
                status=ReportStatus.OPEN,
                status_notes=None,
                service_name="Sampah / illegal dumping",
                service_code="trash",
                description="Sampah menumpuk di pinggir jalan & menutup selokan",
                agency_responsible="Dinas Lingkungan Hidup dan Kebersihan",
                service_notice=None,
                requested_datetime=_AT,
                updated_datetime=_AT,
                expected_datetime=None,
                address="Jl. Merdeka",
                address_id=None,
                zipcode=None,
                lat=-2.9917,
                long=104.7632,
                media_url=f"https://matakota.example.id/open311/v2/requests/{_ID}/media.jpg",
            )
        ],
    ),
    "token": ("service_requests", [TokenOut(service_request_id=_ID, token=_TOKEN)]),
}


def xml_responses(example: str, errors: Mapping[int, str], *, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of an XML route: its answer (``EXAMPLES[example]``) and its errors, each shown.

    Args:
        example: key of :data:`EXAMPLES`.
        errors: the statuses it may answer besides ``status``, each with what it means.
        status: the status of a successful answer.
    """
    root, answer = EXAMPLES[example]
    documented: dict[int | str, dict[str, Any]] = {status: _documented("The answer, as XML.", to_xml(root, answer))}
    for code, what in errors.items():
        documented[code] = _documented(what, error_document(code, [Open311ErrorOut(code=code, description=what)]))
    return documented


def _documented(description: str, example: bytes) -> dict[str, Any]:
    return {"description": description, "content": {"text/xml": {"example": example.decode("utf-8")}}}
