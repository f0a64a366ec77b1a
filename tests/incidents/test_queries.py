"""Reading the store: filtered and paginated incidents, evidence with reasons, cameras."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.errors import CameraNotFound, EvidenceUnavailable, IncidentNotFound
from core.messages import Severity
from incidents.cameras import sync_cameras
from incidents.db import session_scope
from incidents.models import Evidence, EvidenceKind, EvidenceStatus, Incident, IncidentStatus
from incidents.queries import (
    IncidentFilter,
    get_camera,
    get_evidence,
    get_incident,
    list_cameras,
    list_incidents,
)

BASE = datetime(2025, 6, 15, 8, 0, tzinfo=UTC)

# id: (camera, kind, status, minutes after BASE). Ids 3 and 4 start at the same time.
ROWS = {
    1: ("simpang_lima", "congestion", IncidentStatus.NEW, 0),
    2: ("ampera", "congestion", IncidentStatus.NEW, 10),
    3: ("simpang_lima", "flood", IncidentStatus.ACKNOWLEDGED, 20),
    4: ("ampera", "congestion", IncidentStatus.RESOLVED, 20),
    5: ("simpang_lima", "congestion", IncidentStatus.NEW, 30),
}


@pytest.fixture
def seeded(session_factory: sessionmaker[Session], config: AppConfig) -> sessionmaker[Session]:
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)
        for incident_id, (camera_id, kind, status, minutes) in ROWS.items():
            started = BASE + timedelta(minutes=minutes)
            session.add(
                Incident(
                    id=incident_id,
                    camera_id=camera_id,
                    kind=kind,
                    zone="road",
                    status=status,
                    severity=Severity.MEDIUM,
                    title=f"{kind} {incident_id}",
                    started_at=started,
                    last_seen_at=started,
                )
            )
    return session_factory


@pytest.mark.parametrize(
    ("filters", "expected_ids"),
    [
        ({}, [5, 4, 3, 2, 1]),
        ({"camera_id": "ampera"}, [4, 2]),
        ({"kind": "flood"}, [3]),
        ({"status": "new"}, [5, 2, 1]),
        ({"camera_id": "simpang_lima", "kind": "congestion"}, [5, 1]),
        ({"started_after": BASE + timedelta(minutes=20)}, [5, 4, 3]),
        ({"started_before": BASE + timedelta(minutes=20)}, [2, 1]),
        (
            {"started_after": BASE + timedelta(minutes=10), "started_before": BASE + timedelta(minutes=30)},
            [4, 3, 2],
        ),
        # 15:20 in Palembang is 08:20 UTC: offsets are honoured.
        ({"started_after": datetime(2025, 6, 15, 15, 20, tzinfo=timezone(timedelta(hours=7)))}, [5, 4, 3]),
        ({"camera_id": "nowhere"}, []),
    ],
)
def test_list_incidents_filters_newest_first(
    seeded: sessionmaker[Session], filters: dict[str, object], expected_ids: list[int]
) -> None:
    with session_scope(seeded) as session:
        items, total = list_incidents(IncidentFilter.model_validate(filters), session=session)
    assert [i.id for i in items] == expected_ids
    assert total == len(expected_ids)


@pytest.mark.parametrize(
    ("limit", "offset", "expected_ids"),
    [(2, 0, [5, 4]), (2, 2, [3, 2]), (2, 4, [1]), (2, 6, []), (200, 0, [5, 4, 3, 2, 1])],
)
def test_list_incidents_pages_and_counts_all_matches(
    seeded: sessionmaker[Session], limit: int, offset: int, expected_ids: list[int]
) -> None:
    with session_scope(seeded) as session:
        items, total = list_incidents(IncidentFilter(limit=limit, offset=offset), session=session)
    assert [i.id for i in items] == expected_ids
    assert total == 5


@pytest.mark.parametrize(
    "bad",
    [
        {"limit": 0},
        {"limit": 201},
        {"offset": -1},
        {"status": "lost"},
        {"started_after": datetime(2025, 6, 15, 8, 0)},  # naive on purpose
        {"camera": "ampera"},
    ],
)
def test_incident_filter_refuses_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        IncidentFilter.model_validate(bad)


def test_get_incident_of_an_unknown_id_raises_incident_not_found(seeded: sessionmaker[Session]) -> None:
    with session_scope(seeded) as session, pytest.raises(IncidentNotFound, match="incident 99 not found"):
        get_incident(99, session=session)


def _add_evidence(factory: sessionmaker[Session], status: EvidenceStatus, error: str | None = None) -> None:
    with session_scope(factory) as session:
        session.add(
            Evidence(
                incident_id=1,
                kind=EvidenceKind.CLIP,
                status=status,
                path="simpang_lima/2025-06-15/1-clip.mp4",
                content_type="video/mp4",
                error=error,
            )
        )


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (None, None, "incident 1 has no clip"),
        (EvidenceStatus.PENDING, None, r"clip of incident 1 is not ready yet \(pending\)"),
        (
            EvidenceStatus.FAILED,
            "no video in the buffer",
            "clip of incident 1 failed: no video in the buffer",
        ),
    ],
)
def test_get_evidence_says_why_a_clip_is_unavailable(
    seeded: sessionmaker[Session], status: EvidenceStatus | None, error: str | None, reason: str
) -> None:
    if status is not None:
        _add_evidence(seeded, status, error)
    with session_scope(seeded) as session, pytest.raises(EvidenceUnavailable, match=reason):
        get_evidence(1, EvidenceKind.CLIP, session=session)


def test_get_evidence_returns_ready_evidence(seeded: sessionmaker[Session]) -> None:
    _add_evidence(seeded, EvidenceStatus.READY)
    with session_scope(seeded) as session:
        assert get_evidence(1, EvidenceKind.CLIP, session=session).status == EvidenceStatus.READY


def test_get_evidence_of_an_unknown_incident_raises_incident_not_found(seeded: sessionmaker[Session]) -> None:
    with session_scope(seeded) as session, pytest.raises(IncidentNotFound):
        get_evidence(99, EvidenceKind.SNAPSHOT, session=session)


def test_cameras_are_listed_by_id_and_an_unknown_one_raises_camera_not_found(
    seeded: sessionmaker[Session],
) -> None:
    with session_scope(seeded) as session:
        assert [c.id for c in list_cameras(session=session)] == ["ampera", "simpang_lima"]
        assert get_camera("ampera", session=session).name == "Jembatan Ampera"
        with pytest.raises(CameraNotFound, match="'nowhere'"):
            get_camera("nowhere", session=session)
