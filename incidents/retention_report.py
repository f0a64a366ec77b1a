"""What a retention run deleted, per rule, and how many bytes that freed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Category(StrEnum):
    """What was deleted, and under which rule."""

    RECORDINGS_AGE = "recordings_age"
    RECORDINGS_CAMERA_SIZE = "recordings_camera_size"
    RECORDINGS_STORAGE = "recordings_storage"
    EVIDENCE_AGE = "evidence_age"
    EVIDENCE_STORAGE = "evidence_storage"
    ORPHAN_SEGMENTS = "orphan_segments"
    TEMP_FILES = "temp_files"
    MISSING_FILES = "missing_files"  # index rows whose file was gone (no bytes freed)
    LEFTOVER_EVIDENCE = "leftover_evidence"  # files of evidence already marked deleted
    SNAPSHOTS_AGE = "snapshots_age"  # pictures operators asked cameras for, older than storage.snapshot_days


@dataclass(slots=True)
class Freed:
    """How many things one rule deleted and how many bytes that freed."""

    count: int = 0
    bytes: int = 0


@dataclass
class RetentionReport:
    """What one run deleted, per category."""

    freed: dict[Category, Freed] = field(default_factory=dict)

    def add(self, category: Category, size: int) -> None:
        """Count one deletion of ``size`` bytes."""
        entry = self.freed.setdefault(category, Freed())
        entry.count += 1
        entry.bytes += size

    def get(self, category: Category) -> Freed:
        """What ``category`` freed (zero when nothing)."""
        return self.freed.get(category, Freed())

    @property
    def total_bytes(self) -> int:
        """Bytes freed in all."""
        return sum(f.bytes for f in self.freed.values())

    def summary(self) -> str:
        """One line for the log."""
        parts = [f"{c}: {f.count} ({f.bytes / 1e6:.1f} MB)" for c, f in sorted(self.freed.items()) if f.count]
        return ", ".join(parts) if parts else "nothing to delete"
