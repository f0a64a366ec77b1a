"""Evidence files: atomic writes, paths confined to the store, predictable names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from incidents.evidence import EvidenceStore


def test_write_atomic_writes_the_whole_file_and_leaves_no_temporary_file(store: EvidenceStore) -> None:
    path = store.write_atomic("cam/2025-06-15/1-snapshot.jpg", b"\xff\xd8jpeg\xff\xd9")
    assert path == store.root.resolve() / "cam" / "2025-06-15" / "1-snapshot.jpg"
    assert path.read_bytes() == b"\xff\xd8jpeg\xff\xd9"
    assert [p.name for p in path.parent.iterdir()] == ["1-snapshot.jpg"]


def test_write_atomic_replaces_an_existing_file(store: EvidenceStore) -> None:
    store.write_atomic("cam/x.jpg", b"old and longer")
    path = store.write_atomic("cam/x.jpg", b"new")
    assert path.read_bytes() == b"new"


@pytest.mark.parametrize("relpath", ["../outside.jpg", "cam/../../outside.jpg", "/etc/passwd", "", "."])
def test_path_for_refuses_paths_that_leave_the_store(store: EvidenceStore, relpath: str) -> None:
    with pytest.raises(ValueError, match="evidence"):
        store.path_for(relpath)


def test_relpath_of_turns_a_file_in_the_store_into_its_relative_path(store: EvidenceStore) -> None:
    assert store.relpath_of(store.root / "cam" / "1-clip.mp4") == "cam/1-clip.mp4"


def test_relpath_of_refuses_a_file_outside_the_store(store: EvidenceStore, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside"):
        store.relpath_of(tmp_path / "elsewhere.mp4")


def test_evidence_names_hold_the_camera_the_utc_day_and_the_incident() -> None:
    # 06:30 in Palembang (UTC+7) is still the previous day in UTC.
    at = datetime(2025, 6, 16, 6, 30, tzinfo=timezone(timedelta(hours=7)))
    assert EvidenceStore.snapshot_relpath("ampera", 42, at) == "ampera/2025-06-15/42-snapshot.jpg"
    assert EvidenceStore.clip_relpath("ampera", 42, at.astimezone(UTC)) == "ampera/2025-06-15/42-clip.mp4"
