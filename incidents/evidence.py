"""Evidence files (snapshots, clips) on disk, written atomically under one root directory."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath


class EvidenceStore:
    """Files under ``root``; the database keeps paths relative to it, so the root can move."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, relpath: str) -> Path:
        """The absolute path of ``relpath``.

        Raises:
            ValueError: when ``relpath`` is absolute or climbs out of the root.
        """
        if not relpath or PurePosixPath(relpath).is_absolute() or Path(relpath).is_absolute():
            raise ValueError(f"evidence path {relpath!r} must be relative to the evidence directory")
        root = self.root.resolve()
        path = (root / relpath).resolve()
        if not path.is_relative_to(root) or path == root:
            raise ValueError(f"evidence path {relpath!r} escapes the evidence directory")
        return path

    def relpath_of(self, path: str | Path) -> str:
        """``path`` (absolute, inside the root) as the relative path stored in the database.

        Raises:
            ValueError: when ``path`` is outside the root.
        """
        resolved = Path(path).resolve()
        root = self.root.resolve()
        if not resolved.is_relative_to(root) or resolved == root:
            raise ValueError(f"{path} is outside the evidence directory {root}")
        return resolved.relative_to(root).as_posix()

    def write_atomic(self, relpath: str, data: bytes) -> Path:
        """Write ``data`` to ``relpath`` so that the file is either absent or complete.

        The bytes go to a temporary file in the same directory, are fsynced, and the file is
        renamed into place: a crash never leaves a half file that the database points to.
        """
        path = self.path_for(relpath)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp_name).replace(path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_directory(path.parent)
        return path

    @staticmethod
    def snapshot_relpath(camera_id: str, incident_id: int, at: datetime) -> str:
        """``{camera_id}/{YYYY-MM-DD}/{incident_id}-snapshot.jpg``; the date is ``at``'s UTC date."""
        return f"{camera_id}/{_utc_day(at)}/{incident_id}-snapshot.jpg"

    @staticmethod
    def frame_relpath(camera_id: str, incident_id: int, at: datetime) -> str:
        """``{camera_id}/{YYYY-MM-DD}/{incident_id}-frame.jpg`` (the undrawn frame); the date is ``at``'s UTC date."""
        return f"{camera_id}/{_utc_day(at)}/{incident_id}-frame.jpg"

    @staticmethod
    def clip_relpath(camera_id: str, incident_id: int, at: datetime) -> str:
        """``{camera_id}/{YYYY-MM-DD}/{incident_id}-clip.mp4``; the date is ``at``'s UTC date."""
        return f"{camera_id}/{_utc_day(at)}/{incident_id}-clip.mp4"


def _utc_day(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: give it a time zone")
    return at.astimezone(UTC).date().isoformat()


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the directory)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
