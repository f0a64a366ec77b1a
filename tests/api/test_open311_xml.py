"""Open311 GeoReport v2 in XML: the same answers as JSON, element for field, errors as <errors>, text escaped."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.open311_schemas import AttributeValueOut, ServiceAttributeOut, ServiceDefinitionOut
from api.open311_xml import to_xml
from api.ratelimit import RateLimiter
from core.settings import Settings
from incidents.citizen_reports import CitizenReport
from incidents.db import session_scope

PHOTO = Path(__file__).resolve().parents[3] / "shared" / "assets" / "images" / "ultralytics-bus.jpg"
PERSONAL = {"email": "warga@example.id", "first_name": "Siti", "last_name": "Aminah", "phone": "+62811000111"}
BASE = "/open311/v2"
DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'
# Markup characters, quotes, Indonesian text, an emoji and a Windows line end: all must come back as sent.
AWKWARD = (
    "Sampah <b>menumpuk</b> & \"bau\" 'sekali' di Jl. Merdeka — dekat Pasar 16 Ilir 🚮\r\nTolong segera </description>"
)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_scope(session_factory) as session:
        yield session


@pytest.fixture
def photo() -> bytes:
    """The real bus photo, as a phone would send it."""
    if not PHOTO.is_file():
        pytest.skip(f"{PHOTO} is missing")
    return PHOTO.read_bytes()


def _post(client: TestClient, files: dict[str, Any] | None = None, **fields: Any) -> Any:
    data = {"service_code": "trash", "lat": "-2.99", "long": "104.76", "description": "Sampah menumpuk", **fields}
    return client.post(f"{BASE}/requests.xml", data={k: v for k, v in data.items() if v is not None}, files=files)


def _xml(answer: Any, status: int = 200) -> ET.Element:
    """The parsed XML document of ``answer``, after checking its status and Content-Type."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "text/xml; charset=utf-8"
    assert answer.content.startswith(DECLARATION)
    return ET.fromstring(answer.content)


def _text(value: Any) -> str | None:
    """What the XML holds for a JSON value: booleans in lower case, null as an empty element."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _assert_same(element: ET.Element, item_name: str, json_items: list[dict[str, Any]]) -> None:
    """``element`` holds one ``item_name`` per JSON object, with the same fields, in order, and the same values."""
    assert [child.tag for child in element] == [item_name] * len(json_items)
    for child, item in zip(element, json_items, strict=True):
        assert [field.tag for field in child] == list(item)
        assert {field.tag: field.text for field in child} == {k: _text(v) for k, v in item.items()}


def _error(answer: Any, status: int) -> str:
    """The description of the one error of an XML error answer with ``status``."""
    root = _xml(answer, status)
    assert root.tag == "errors"
    [error] = root
    assert error.tag == "error" and [f.tag for f in error] == ["code", "description"]
    assert error.findtext("code") == str(status)
    return error.findtext("description") or ""


def _count(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(CitizenReport)) or 0


def test_services_xml_holds_the_json_services_element_for_field(anon_client: TestClient) -> None:
    root = _xml(anon_client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    _assert_same(root, "service", anon_client.get(f"{BASE}/services.json").json())
    assert root.findtext("service/metadata") == "false"
    assert root.findtext("service/service_name") == "Sampah / illegal dumping"


def test_a_service_definition_is_given_in_xml_and_an_unknown_one_is_an_xml_404(anon_client: TestClient) -> None:
    root = _xml(anon_client.get(f"{BASE}/services/flooding.xml"))
    assert root.tag == "service_definition"
    assert [(e.tag, e.text) for e in root] == [("service_code", "flooding"), ("attributes", None)]
    assert _error(anon_client.get(f"{BASE}/services/nope.xml"), 404) == "no service with service_code 'nope'"


def test_service_attributes_and_their_values_take_the_specs_element_names() -> None:
    choice = ServiceAttributeOut(
        variable=True, code="JENIS", datatype="singlevaluelist", required=True, order=1, description="Jenis sampah?",
        values=[AttributeValueOut(key="1", name="Rumah tangga"), AttributeValueOut(key="2", name="B3 & medis")],
    )  # fmt: skip
    root = ET.fromstring(to_xml("service_definition", ServiceDefinitionOut(service_code="trash", attributes=[choice])))
    [attribute] = root.findall("attributes/attribute")
    assert [e.tag for e in attribute] == [
        "variable", "code", "datatype", "required", "datatype_description", "order", "description", "values",
    ]  # fmt: skip
    assert [(v.findtext("key"), v.findtext("name")) for v in attribute.findall("values/value")] == [
        ("1", "Rumah tangga"),
        ("2", "B3 & medis"),
    ]
    assert (attribute.findtext("variable"), attribute.findtext("order")) == ("true", "1")


def test_a_form_encoded_report_posted_as_xml_reads_back_like_its_json_without_personal_data(
    anon_client: TestClient,
) -> None:
    created = _xml(_post(anon_client, address_string="Jl. Merdeka", **PERSONAL), 201)
    assert created.tag == "service_requests"
    [request] = created
    assert request.tag == "request"
    assert [e.tag for e in request] == ["service_request_id", "token", "service_notice"]
    assert "Dinas Lingkungan Hidup" in (request.findtext("service_notice") or "")
    request_id, token = request.findtext("service_request_id"), request.findtext("token")

    shown = anon_client.get(f"{BASE}/requests/{request_id}.xml")
    root = _xml(shown)
    assert root.tag == "service_requests"
    _assert_same(root, "request", anon_client.get(f"{BASE}/requests/{request_id}.json").json())
    assert (root.findtext("request/lat"), root.findtext("request/address")) == ("-2.99", "Jl. Merdeka")
    for value in PERSONAL.values():
        assert value not in shown.text
    token_root = _xml(anon_client.get(f"{BASE}/tokens/{token}.xml"))
    _assert_same(token_root, "request", anon_client.get(f"{BASE}/tokens/{token}.json").json())
    assert token_root.findtext("request/service_request_id") == request_id


def test_a_multipart_photo_posted_as_xml_is_published_and_its_url_serves_it(
    anon_client: TestClient, db: Session, api_settings: Settings, photo: bytes
) -> None:
    answer = _post(anon_client, files={"media": ("IMG_0001.jpg", photo, "image/jpeg")}, anonymous="true")
    [request] = _xml(answer, 201)
    request_id = request.findtext("service_request_id")
    assert "anonim" in (request.findtext("service_notice") or "")

    root = _xml(anon_client.get(f"{BASE}/requests/{request_id}.xml"))
    _assert_same(root, "request", anon_client.get(f"{BASE}/requests/{request_id}.json").json())
    media_url = root.findtext("request/media_url") or ""
    assert media_url.endswith(f"{BASE}/requests/{request_id}/media.jpg")
    served = anon_client.get(media_url)
    assert served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size == Image.open(io.BytesIO(photo)).size
    db.expire_all()
    report = db.scalar(select(CitizenReport).where(CitizenReport.service_request_id == request_id))
    assert report is not None and report.media_path is not None
    assert (api_settings.evidence_dir / report.media_path).read_bytes() == served.content


def test_markup_quotes_and_indonesian_text_survive_the_xml_round_trip(anon_client: TestClient) -> None:
    answer = _post(anon_client, description=AWKWARD, address_string="Jl. Kol. Atmo & Jl. Rasyid Sidik <simpang>")
    request_id = _xml(answer, 201).findtext("request/service_request_id")
    shown = anon_client.get(f"{BASE}/requests/{request_id}.xml")
    assert b"&lt;b&gt;menumpuk&lt;/b&gt; &amp;" in shown.content and b"&lt;/description&gt;" in shown.content
    assert b"&#13;\n" in shown.content  # the CR as a reference: a parser would turn a raw CRLF into LF
    root = _xml(shown)
    assert root.findtext("request/description") == AWKWARD
    assert root.findtext("request/address") == "Jl. Kol. Atmo & Jl. Rasyid Sidik <simpang>"
    [listed] = _xml(anon_client.get(f"{BASE}/requests.xml"))
    assert listed.findtext("description") == AWKWARD


def test_a_character_xml_cannot_hold_is_replaced_and_the_list_stays_readable(anon_client: TestClient) -> None:
    assert _post(anon_client, description="Lampu mati\x0b\x01 sejak kemarin").status_code == 201
    [listed] = _xml(anon_client.get(f"{BASE}/requests.xml"))  # one bad report must not break the whole list
    assert listed.findtext("description") == "Lampu mati\ufffd\ufffd sejak kemarin"
    assert anon_client.get(f"{BASE}/requests.json").json()[0]["description"] == "Lampu mati\x0b\x01 sejak kemarin"


def test_requests_xml_lists_and_filters_like_requests_json(anon_client: TestClient) -> None:
    for code in ("trash", "flooding", "road_damage"):
        assert _post(anon_client, service_code=code).status_code == 201
    for params in ({}, {"service_code": "flooding,trash"}, {"status": "closed"}, {"status": "open"}):
        root = _xml(anon_client.get(f"{BASE}/requests.xml", params=params))
        assert root.tag == "service_requests"
        _assert_same(root, "request", anon_client.get(f"{BASE}/requests.json", params=params).json())
    assert len(_xml(anon_client.get(f"{BASE}/requests.xml"))) == 3
    assert "status" in _error(anon_client.get(f"{BASE}/requests.xml", params={"status": "pending"}), 400)


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"service_code": "parking_ticket"}, 404, "no service with service_code 'parking_ticket'"),
        ({"lat": None, "long": None}, 400, "a location is required"),
        ({"long": None}, 400, "lat and long go together"),
        ({"lat": "abc"}, 400, "lat"),
        ({"service_code": None}, 400, "service_code"),
        ({"media_url": "file:///etc/passwd"}, 400, "media_url"),
    ],
)
def test_an_invalid_report_posted_as_xml_is_an_xml_error_and_nothing_is_stored(
    anon_client: TestClient, db: Session, fields: dict[str, Any], status: int, says: str
) -> None:
    answer = _post(anon_client, **fields)
    assert says in _error(answer, status)
    assert _error(answer, status) == _post_json_error(anon_client, status, **fields)
    assert _count(db) == 0


def _post_json_error(client: TestClient, status: int, **fields: Any) -> str:
    data = {"service_code": "trash", "lat": "-2.99", "long": "104.76", "description": "Sampah menumpuk", **fields}
    answer = client.post(f"{BASE}/requests.json", data={k: v for k, v in data.items() if v is not None})
    assert answer.status_code == status
    [error] = answer.json()
    return str(error["description"])


def test_a_text_file_named_like_a_photo_is_an_xml_400_and_nothing_is_stored(
    anon_client: TestClient, db: Session
) -> None:
    answer = _post(anon_client, files={"media": ("photo.jpg", b"just some text, not a JPEG\n" * 50, "image/jpeg")})
    assert "not an image" in _error(answer, 400)
    assert _count(db) == 0


def test_an_unknown_request_or_token_is_an_xml_404(anon_client: TestClient) -> None:
    assert _error(anon_client.get(f"{BASE}/requests/20261129-00000000.xml"), 404) == (
        "no service request '20261129-00000000'"
    )
    assert "token" in _error(anon_client.get(f"{BASE}/tokens/nope.xml"), 404)


def test_too_many_reports_as_xml_is_an_xml_429_with_retry_after(app: FastAPI) -> None:
    app.state.open311_limiter = RateLimiter(capacity=1)
    with TestClient(app) as client:
        assert _post(client).status_code == 201
        refused = _post(client)
        assert _error(refused, 429)
        assert int(refused.headers["Retry-After"]) >= 1
        assert _post_json_error(client, 429)  # one allowance for both formats


def test_a_method_an_xml_route_does_not_take_is_an_xml_405(anon_client: TestClient) -> None:
    answer = anon_client.delete(f"{BASE}/services.xml")
    assert _error(answer, 405) == "Method Not Allowed"
    assert answer.headers["Allow"] == "GET"


def test_the_json_routes_keep_answering_json(anon_client: TestClient) -> None:
    answer = anon_client.get(f"{BASE}/services/nope.json")
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()[0]["code"] == 404


def test_every_xml_route_is_documented_with_xml_examples_that_parse(anon_client: TestClient) -> None:
    paths = anon_client.get("/openapi.json").json()["paths"]
    xml_paths = sorted(p for p in paths if p.startswith(BASE) and p.endswith(".xml"))
    assert xml_paths == [
        f"{BASE}/requests.xml", f"{BASE}/requests/{{service_request_id}}.xml", f"{BASE}/services.xml",
        f"{BASE}/services/{{service_code}}.xml", f"{BASE}/tokens/{{token}}.xml",
    ]  # fmt: skip
    for path in xml_paths:
        for method, operation in paths[path].items():
            documented = {s: r for s, r in operation["responses"].items() if s != "422"}  # FastAPI's own entry
            assert {"200", "201"} & set(documented), f"{method} {path}"
            for status, response in documented.items():
                example = response["content"]["text/xml"]["example"]
                root = ET.fromstring(example.encode())
                expected = (
                    {"errors"} if status.startswith("4") else {"services", "service_definition", "service_requests"}
                )
                assert root.tag in expected, f"{method} {path} {status}"
