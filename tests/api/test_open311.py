"""Citizens' reports through Open311 GeoReport v2: services, intake with photos, public views, limits."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.ratelimit import RateLimiter
from core.errors import RateLimited
from core.settings import Settings
from incidents.citizen_reports import CitizenReport, ReportStatus
from incidents.db import session_scope

PHOTO = Path(__file__).resolve().parents[3] / "shared" / "assets" / "images" / "ultralytics-bus.jpg"
# Palembang, Jembatan Ampera: 2°59'24" S, 104°45'36" E
AMPERA = (-(2 + 59 / 60 + 24 / 3600), 104 + 45 / 60 + 36 / 3600)
PERSONAL = {"email": "warga@example.id", "first_name": "Siti", "last_name": "Aminah", "phone": "+62811000111"}
PUBLIC_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip
BASE = "/open311/v2"


@pytest.fixture
def photo_with_gps(tmp_path: Path) -> bytes:
    """The real bus photo with an EXIF block: a camera make and the GPS position of Ampera."""
    if not PHOTO.is_file():
        pytest.skip(f"{PHOTO} is missing")
    image = Image.open(PHOTO)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (IFDRational(2), IFDRational(59), IFDRational(24)),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (IFDRational(104), IFDRational(45), IFDRational(36)),
    }
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_scope(session_factory) as session:
        yield session


def _post(client: TestClient, files: dict[str, Any] | None = None, **fields: Any) -> Any:
    data = {"service_code": "trash", "lat": "-2.99", "long": "104.76", "description": "Sampah menumpuk", **fields}
    return client.post(f"{BASE}/requests.json", data={k: v for k, v in data.items() if v is not None}, files=files)


def _report(db: Session, service_request_id: str) -> CitizenReport:
    db.expire_all()
    report = db.scalar(select(CitizenReport).where(CitizenReport.service_request_id == service_request_id))
    assert report is not None
    return report


def _stored_files(settings: Settings) -> list[Path]:
    root = settings.evidence_dir / "citizen"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _count(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(CitizenReport)) or 0


def _has_exif(data: bytes) -> bool:
    return bool(Image.open(io.BytesIO(data)).getexif()) or b"Exif\x00\x00" in data


def test_services_list_the_lapor_categories_in_open311_fields(client: TestClient) -> None:
    services = client.get(f"{BASE}/services.json").json()
    assert [s["service_code"] for s in services] == [
        "trash", "flooding", "traffic", "road_damage", "street_light", "other",
    ]  # fmt: skip
    trash = services[0]
    assert set(trash) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert trash["service_name"] == "Sampah / illegal dumping"
    assert (trash["metadata"], trash["type"]) == (False, "realtime")
    assert "sampah" in trash["keywords"]


def test_a_service_definition_is_given_and_an_unknown_one_is_a_404_in_open311_format(client: TestClient) -> None:
    assert client.get(f"{BASE}/services/flooding.json").json() == {"service_code": "flooding", "attributes": []}
    answer = client.get(f"{BASE}/services/nope.json")
    assert answer.status_code == 404
    assert answer.json() == [{"code": 404, "description": "no service with service_code 'nope'"}]


def test_a_form_encoded_report_is_listed_without_personal_fields(client: TestClient, db: Session) -> None:
    answer = _post(client, address_string="Jl. Merdeka", **PERSONAL)
    assert answer.status_code == 201
    [created] = answer.json()
    assert set(created) == {"service_request_id", "token", "service_notice"}
    assert "Dinas Lingkungan Hidup" in created["service_notice"]

    [shown] = client.get(f"{BASE}/requests/{created['service_request_id']}.json").json()
    assert set(shown) == PUBLIC_FIELDS
    assert shown["status"] == "open"
    assert (shown["lat"], shown["long"], shown["address"]) == (-2.99, 104.76, "Jl. Merdeka")
    assert shown["agency_responsible"] == "Dinas Lingkungan Hidup dan Kebersihan"
    listed = client.get(f"{BASE}/requests.json")
    assert [r["service_request_id"] for r in listed.json()] == [created["service_request_id"]]
    for value in PERSONAL.values():
        assert value not in listed.text
        assert value not in client.get(f"{BASE}/requests/{created['service_request_id']}.json").text
    report = _report(db, created["service_request_id"])  # kept for the operators, though
    assert (report.email, report.first_name, report.anonymous) == (PERSONAL["email"], "Siti", False)


def test_an_anonymous_report_keeps_no_name_email_or_phone(client: TestClient, db: Session) -> None:
    [created] = _post(client, anonymous="true", **PERSONAL).json()
    assert "anonim" in created["service_notice"]
    report = _report(db, created["service_request_id"])
    assert report.anonymous is True
    assert (report.email, report.first_name, report.last_name, report.phone) == (None, None, None, None)


def test_a_multipart_photo_is_published_without_exif_and_its_gps_is_kept_as_data(
    client: TestClient, db: Session, api_settings: Settings, photo_with_gps: bytes
) -> None:
    assert _has_exif(photo_with_gps)
    answer = _post(client, files={"media": ("IMG_0001.jpg", photo_with_gps, "image/jpeg")}, **PERSONAL)
    assert answer.status_code == 201, answer.text
    [created] = answer.json()
    report = _report(db, created["service_request_id"])
    assert report.exif_lat == pytest.approx(AMPERA[0]) and report.exif_lon == pytest.approx(AMPERA[1])
    assert report.media_path is not None and report.original_media_path is not None
    public = (api_settings.evidence_dir / report.media_path).read_bytes()
    assert report.media_path.startswith("citizen/") and not _has_exif(public)
    assert Image.open(io.BytesIO(public)).size == (810, 1080)
    assert (api_settings.evidence_dir / report.original_media_path).read_bytes() == photo_with_gps  # private

    [shown] = client.get(f"{BASE}/requests/{created['service_request_id']}.json").json()
    assert shown["media_url"].endswith(f"/open311/v2/requests/{created['service_request_id']}/media.jpg")
    served = client.get(shown["media_url"])
    assert served.headers["content-type"] == "image/jpeg"
    assert served.content == public


def test_a_media_url_is_stored_as_given_and_never_fetched(client: TestClient) -> None:
    url = "http://198.51.100.7/foto/sampah.jpg"  # a documentation address: nothing answers there
    [created] = _post(client, media_url=url).json()
    [shown] = client.get(f"{BASE}/requests/{created['service_request_id']}.json").json()
    assert shown["media_url"] == url


def test_a_confidential_report_is_not_listed_and_shows_only_its_status(client: TestClient) -> None:
    [created] = _post(client, confidential="1", address_string="Rumah saya").json()
    assert client.get(f"{BASE}/requests.json").json() == []
    [shown] = client.get(f"{BASE}/requests/{created['service_request_id']}.json").json()
    assert shown["status"] == "open"
    assert (shown["description"], shown["lat"], shown["long"], shown["address"]) == (None, None, None, None)


def test_a_text_file_named_like_a_photo_is_refused_and_nothing_is_stored(
    client: TestClient, db: Session, api_settings: Settings
) -> None:
    answer = _post(client, files={"media": ("photo.jpg", b"just some text, not a JPEG\n" * 50, "image/jpeg")})
    assert answer.status_code == 400
    [error] = answer.json()
    assert error["code"] == 400 and "not an image" in error["description"]
    assert _count(db) == 0
    assert _stored_files(api_settings) == []


def test_a_truncated_photo_is_refused(client: TestClient, db: Session, photo_with_gps: bytes) -> None:
    answer = _post(client, files={"media": ("cut.jpg", photo_with_gps[: len(photo_with_gps) // 2], "image/jpeg")})
    assert answer.status_code == 400
    assert _count(db) == 0


def test_a_photo_over_8_mb_is_a_413_and_nothing_is_stored(
    client: TestClient, db: Session, api_settings: Settings, photo_with_gps: bytes
) -> None:
    padded = photo_with_gps + b"\0" * (8 * 1024 * 1024)  # still a valid JPEG, too large
    answer = _post(client, files={"media": ("big.jpg", padded, "image/jpeg")})
    assert answer.status_code == 413
    assert "limit" in answer.json()[0]["description"]
    assert _count(db) == 0
    assert _stored_files(api_settings) == []


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"lat": None, "long": None}, 400, "location is required"),
        ({"long": None}, 400, "lat and long go together"),
        ({"lat": "abc"}, 400, "lat"),
        ({"lat": "95"}, 400, "lat"),
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "parking_ticket"}, 404, "no service"),
        ({"media_url": "file:///etc/passwd"}, 400, "media_url"),
    ],
)
def test_an_invalid_report_is_refused_in_open311_format(
    client: TestClient, db: Session, fields: dict[str, Any], status: int, says: str
) -> None:
    answer = _post(client, **fields)
    assert answer.status_code == status
    [error] = answer.json()
    assert error["code"] == status and says in error["description"]
    assert _count(db) == 0


def test_an_address_alone_is_location_enough(client: TestClient) -> None:
    assert _post(client, lat=None, long=None, address_string="Pasar 16 Ilir").status_code == 201


def test_the_eleventh_report_within_a_minute_from_one_address_is_a_429(client: TestClient) -> None:
    for _ in range(10):
        assert _post(client).status_code == 201
    answer = _post(client)
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json()[0]["code"] == 429
    assert client.get(f"{BASE}/requests.json").status_code == 200  # reading is not limited


def test_the_rate_limiter_refills_over_time_and_counts_each_address_apart() -> None:
    now = [0.0]
    limiter = RateLimiter(capacity=2, period_s=60, clock=lambda: now[0])
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(RateLimited) as refused:
        limiter.check("a")
    assert refused.value.retry_after_s == 30
    limiter.check("b")
    now[0] = 30.0
    limiter.check("a")


def test_the_rate_limiter_forgets_the_least_recent_addresses_beyond_its_size() -> None:
    limiter = RateLimiter(capacity=1, max_keys=2, clock=lambda: 0.0)
    for key in ("a", "b", "c"):
        limiter.check(key)
    limiter.check("a")  # forgotten, so it starts full again
    with pytest.raises(RateLimited):
        limiter.check("c")


def test_a_token_gives_its_service_request_id(client: TestClient) -> None:
    [created] = _post(client).json()
    answer = client.get(f"{BASE}/tokens/{created['token']}.json")
    assert answer.json() == [{"service_request_id": created["service_request_id"], "token": created["token"]}]
    assert client.get(f"{BASE}/tokens/nope.json").status_code == 404
    assert client.get(f"{BASE}/requests/nope.json").json()[0]["code"] == 404


def test_requests_are_filtered_by_id_service_status_and_date(client: TestClient, db: Session) -> None:
    trash = _post(client).json()[0]["service_request_id"]
    flood = _post(client, service_code="flooding").json()[0]["service_request_id"]
    old = _post(client, service_code="road_damage").json()[0]["service_request_id"]
    closed = _post(client, service_code="street_light").json()[0]["service_request_id"]
    now = datetime.now(UTC)
    old_report, closed_report = _report(db, old), _report(db, closed)
    old_report.requested_datetime = now - timedelta(days=100)
    closed_report.status = ReportStatus.CLOSED
    db.commit()

    def ids(**params: str) -> list[str]:
        answer = client.get(f"{BASE}/requests.json", params=params)
        assert answer.status_code == 200, answer.text
        return sorted(r["service_request_id"] for r in answer.json())

    assert ids() == sorted([trash, flood, closed])  # the last 90 days
    assert ids(service_code="flooding,trash") == sorted([trash, flood])
    assert ids(status="closed") == [closed]
    assert ids(status="open") == sorted([trash, flood])
    assert ids(service_request_id=f"{trash},{old}") == [trash]
    window = {"start_date": (now - timedelta(days=120)).isoformat(), "end_date": (now - timedelta(days=80)).isoformat()}
    assert ids(**window) == [old]
    assert ids(start_date=(now - timedelta(days=101)).strftime("%Y-%m-%dT%H:%M:%S")) == sorted(
        [trash, flood, old, closed]
    )
    assert client.get(f"{BASE}/requests.json", params={"status": "pending"}).json()[0]["code"] == 400
    backwards = {"start_date": now.isoformat(), "end_date": (now - timedelta(days=1)).isoformat()}
    assert client.get(f"{BASE}/requests.json", params=backwards).status_code == 400


def test_other_routes_keep_their_own_error_format(client: TestClient) -> None:
    assert set(client.get("/api/incidents/999999").json()) == {"detail"}
    invalid = client.get("/api/incidents", params={"limit": "x"})
    assert invalid.status_code == 422 and isinstance(invalid.json()["detail"], list)


def test_a_fresh_limiter_can_be_given_to_the_app(app: FastAPI) -> None:
    app.state.open311_limiter = RateLimiter(capacity=1)
    with TestClient(app) as client:
        assert _post(client).status_code == 201
        assert _post(client).status_code == 429


@pytest.mark.parametrize(("mode", "fmt"), [("RGBA", "PNG"), ("P", "PNG"), ("I;16", "PNG"), ("CMYK", "JPEG")])
def test_unusual_pixel_formats_are_published_as_plain_jpeg(
    client: TestClient, db: Session, api_settings: Settings, mode: str, fmt: str
) -> None:
    upload = io.BytesIO()
    Image.new(mode, (40, 30)).save(upload, format=fmt)
    answer = _post(client, files={"media": ("x", upload.getvalue(), "application/octet-stream")})
    assert answer.status_code == 201, answer.text
    report = _report(db, answer.json()[0]["service_request_id"])
    assert report.media_path is not None
    public = Image.open(api_settings.evidence_dir / report.media_path)
    assert (public.format, public.mode, public.size) == ("JPEG", "RGB", (40, 30))
