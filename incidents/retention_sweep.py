"""The files on disk against the index: what crashed writers left, and rows whose file is gone.

It walks every file, so retention runs it far less often than it checks the limits.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from incidents.db import session_scope
from incidents.evidence import EvidenceStore
from incidents.models import Evidence, EvidenceStatus, RecordingSegment
from incidents.retention_report import Category, RetentionReport

logger = logging.getLogger(__name__)

BATCH = 500
TEMP_GRACE_S = 300.0  # a temporary file this old belongs to a writer that died
ORPHAN_GRACE_S = 600.0  # a segment file this old and still not indexed was never announced (its worker died)
EXPORT_GRACE_S = 3600.0  # an export directory this old was left by an API process that died


class Sweeper:
    """Removes leftovers under the recordings, evidence and export directories; drops rows of vanished files."""

    def __init__(self, recordings_dir: Path, evidence_dir: Path, exports_dir: Path, sessions: sessionmaker[Session]):
        self.recordings_dir = recordings_dir
        self.evidence = EvidenceStore(evidence_dir)
        self.exports_dir = exports_dir
        self.sessions = sessions

    def run(self, report: RetentionReport) -> None:
        """One sweep; file ages are judged by the real clock, as file times are."""
        wall = time.time()
        for root in (self.recordings_dir, self.evidence.root):
            for path, stat in scan(root):
                if is_temporary(path) and wall - stat.st_mtime > TEMP_GRACE_S:
                    report.add(Category.TEMP_FILES, unlink(path))
                    logger.info("%s: deleted temporary file %s left by a writer that stopped", _owner(root, path), path)
        if self.exports_dir.is_dir():
            for workdir in self.exports_dir.iterdir():
                if workdir.is_dir() and wall - workdir.stat().st_mtime > EXPORT_GRACE_S:
                    shutil.rmtree(workdir, ignore_errors=True)
                    logger.info("-: deleted export directory %s left by an API process that stopped", workdir)
        for camera_id in sorted(self._camera_dirs() | self._indexed_cameras()):
            self._sweep_camera(camera_id, wall, report)
        self._remove_leftover_evidence(report)
        for root in (self.recordings_dir, self.evidence.root):
            prune_empty_dirs(root, wall - TEMP_GRACE_S)

    def _sweep_camera(self, camera_id: str, wall: float, report: RetentionReport) -> None:
        # Rows first, then the disk: a file renamed into place after the walk began cannot look missing.
        with session_scope(self.sessions) as session:
            rows = session.execute(
                select(RecordingSegment.id, RecordingSegment.path).where(RecordingSegment.camera_id == camera_id)
            ).all()
        indexed = {path: row_id for row_id, path in rows}
        on_disk: set[str] = set()
        for path, stat in scan(self.recordings_dir / camera_id):
            if path.suffix != ".mp4" or is_temporary(path):
                continue
            relpath = path.relative_to(self.recordings_dir).as_posix()
            on_disk.add(relpath)
            if relpath not in indexed and wall - stat.st_mtime > ORPHAN_GRACE_S:
                report.add(Category.ORPHAN_SEGMENTS, unlink(path))
                logger.info("%s: deleted segment %s: never indexed (its worker stopped first)", camera_id, relpath)
        missing = sorted(relpath for relpath in indexed if relpath not in on_disk)
        for start in range(0, len(missing), BATCH):
            batch = missing[start : start + BATCH]
            with session_scope(self.sessions) as session:
                session.execute(delete(RecordingSegment).where(RecordingSegment.id.in_([indexed[p] for p in batch])))
            for relpath in batch:
                report.add(Category.MISSING_FILES, 0)
                logger.info("%s: dropped index row of %s: its file is gone", camera_id, relpath)

    def _remove_leftover_evidence(self, report: RetentionReport) -> None:
        """Files of evidence marked deleted that are still there (a crash between the mark and the unlink)."""
        with session_scope(self.sessions) as session:
            rows = session.execute(select(Evidence.path, Evidence.status)).all()
        kept = {path for path, status in rows if status != EvidenceStatus.DELETED}
        for relpath in sorted({path for path, status in rows if status == EvidenceStatus.DELETED} - kept):
            try:
                path = self.evidence.path_for(relpath)
            except ValueError:
                continue  # a bad path is never followed
            if path.is_file():
                report.add(Category.LEFTOVER_EVIDENCE, unlink(path))
                logger.info("%s: deleted %s: its evidence was already marked deleted", relpath.split("/")[0], relpath)

    def _camera_dirs(self) -> set[str]:
        if not self.recordings_dir.is_dir():
            return set()
        return {p.name for p in self.recordings_dir.iterdir() if p.is_dir()}

    def _indexed_cameras(self) -> set[str]:
        with session_scope(self.sessions) as session:
            return set(session.scalars(select(RecordingSegment.camera_id).distinct()))


def _owner(root: Path, path: Path) -> str:
    """The camera a file under ``root`` belongs to (its first folder), or ``-``."""
    return path.relative_to(root).parts[0] if path.parent != root else "-"


def scan(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Every regular file under ``root`` (none when it does not exist), with its stat."""
    if not root.is_dir():
        return
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:  # removed meanwhile
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    yield Path(entry.path), entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is a file being written: ``.<name>.partial`` (clips, segments, evidence) or ``*.tmp``."""
    name = path.name
    return (name.startswith(".") and name.endswith(".partial")) or name.endswith(".tmp")


def unlink(path: Path) -> int:
    """Remove ``path``; the bytes that freed (0 when it was already gone)."""
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size


def prune_empty_dirs(root: Path, older_than_ts: float) -> None:
    """Remove empty directories under ``root`` that were not changed since ``older_than_ts``.

    A directory a writer has just made is newer than that, so it is never pulled from under it; a
    parent emptied by this very pass goes too (its only change was the removal of its children).
    """
    if not root.is_dir():
        return
    removed: set[Path] = set()
    for directory, subdirs, files in os.walk(root, topdown=False):
        path = Path(directory)
        if path == root or files:
            continue
        emptied_here = bool(subdirs) and all(path / d in removed for d in subdirs)
        try:
            if emptied_here or path.stat().st_mtime < older_than_ts:
                path.rmdir()  # fails when not empty: a file arrived meanwhile, and it stays
                removed.add(path)
        except OSError:
            continue
