"""Turn events (analytics rules', camera health's) into incidents with evidence, deduplicated, one transaction each."""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig, CameraConfig
from core.incident_config import IncidentsConfig
from core.messages import ClipRequest, ClipResult, Event, EventPhase, Severity
from incidents.cameras import upsert_camera
from incidents.correlation import correlate_incident
from incidents.db import session_scope
from incidents.evidence import EvidenceStore
from incidents.health import CAMERA_HEALTH_KIND, REOPEN_WITHIN_S
from incidents.models import OPEN_STATUSES, Camera, Evidence, EvidenceKind, EvidenceStatus, Incident, IncidentStatus
from incidents.routing import WorkflowRules
from incidents.types import from_ts
from incidents.workflow import reopen_by_system, resolve_by_system

logger = logging.getLogger(__name__)

CLIP_NOT_DELIVERED = "clip not delivered in time"
_MAX_TS = 32503680000.0  # year 3000: anything later is a unit mix-up (milliseconds), not a time
AUTO_RESOLVED = "auto_resolved"  # details key: resolved by its own END, not by an operator
FLAPS = "flaps"  # details key: times a self-resolved incident came back within its window


@dataclass(frozen=True, slots=True)
class KindPolicy:
    """How the recorder treats the events of one kind."""

    dedup_window_s: float  # a START this soon after the incident ended continues it
    resolve_on_end: bool = False  # END means the trouble went away by itself (a camera recovered): resolve


# Camera health: a camera that fails again within 5 minutes continues its incident (a flap).
DEFAULT_POLICIES: Mapping[str, KindPolicy] = {
    CAMERA_HEALTH_KIND: KindPolicy(dedup_window_s=REOPEN_WITHIN_S, resolve_on_end=True),
}


class IncidentRecorder:
    """Records events as incidents and tracks the clips asked of the camera workers.

    Each call is one transaction. Database errors propagate so the caller can retry; events
    that make no sense (unknown camera, no running incident) are logged and dropped.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        store: EvidenceStore,
        config: AppConfig,
        *,
        dedup_window_s: float = 120.0,
        policies: Mapping[str, KindPolicy] | None = None,
        clip_grace_s: float = 30.0,
    ) -> None:
        self.session_factory = session_factory
        self.store = store
        self.cameras = {camera.id: camera for camera in config.cameras}
        self.dedup_window_s = dedup_window_s
        self.policies = {**DEFAULT_POLICIES, **(policies or {})}
        self.clip_grace_s = clip_grace_s
        self.correlation = config.correlation
        self.rules = WorkflowRules.from_config(config)

    def policy(self, kind: str) -> KindPolicy:
        """The policy of ``kind``: its own, or the default dedup window."""
        return self.policies.get(kind) or KindPolicy(dedup_window_s=self.dedup_window_s)

    def handle_event(self, event: Event) -> ClipRequest | None:
        """Apply one event; returns the clip to ask the camera's worker for when an incident opens.

        The incident is committed before this returns, so the request may be sent at once.
        """
        camera = self.cameras.get(event.camera_id)
        problem = "its camera is not in the configuration" if camera is None else _problem(event)
        if camera is None or problem:
            logger.warning("%s: %s event dropped: %s", event.camera_id, event.kind, problem)
            return None
        with session_scope(self.session_factory) as session:
            if event.phase == EventPhase.START:
                return self._start(event, camera, session)
            incident = self._running(event, session)
            if incident is None:
                # Normal after a restart: the rule's START came before this process recorded it.
                logger.info(
                    "%s: %s of %s/%s has no running incident: ignored",
                    event.camera_id, event.phase, event.kind, event.zone,
                )  # fmt: skip
            elif event.phase == EventPhase.UPDATE:
                _apply_update(incident, event)
            else:
                self._end(incident, event)
        return None

    def handle_clip_result(self, result: ClipResult) -> None:
        """Mark the clip evidence of ``result.request_id`` ready or failed."""
        with session_scope(self.session_factory) as session:
            evidence = session.scalar(select(Evidence).where(Evidence.request_id == result.request_id))
            if evidence is None:
                logger.warning("%s: unknown clip request %s: ignored", result.camera_id, result.request_id)
                return
            if not result.ok:
                _fail(evidence, result.error or "clip could not be made")
                return
            try:
                evidence.path = self.store.relpath_of(result.path)
            except ValueError as err:
                _fail(evidence, str(err))
                return
            # A late clip still wins over an expired request: the video is worth having.
            evidence.status, evidence.error = EvidenceStatus.READY, None
            evidence.size_bytes, evidence.duration_s = result.size_bytes, result.duration_s
            if result.start_ts is not None:
                evidence.start_at = from_ts(result.start_ts)
            logger.info("%s: clip of incident %d ready", result.camera_id, evidence.incident_id)

    def expire_pending(self, now_ts: float) -> int:
        """Fail the pending clips whose deadline passed before ``now_ts``; returns how many."""
        now = from_ts(now_ts)
        with session_scope(self.session_factory) as session:
            overdue = session.scalars(
                select(Evidence).where(Evidence.status == EvidenceStatus.PENDING, Evidence.deadline_at < now)
            ).all()
            for evidence in overdue:
                _fail(evidence, CLIP_NOT_DELIVERED)
            return len(overdue)

    # -- phases -----------------------------------------------------------------------------------

    def _start(self, event: Event, camera: CameraConfig, session: Session) -> ClipRequest | None:
        recent = self._recent_open(event, session)
        if recent is None:
            return self._open(event, camera, session)
        if recent.status == IncidentStatus.RESOLVED:  # resolved by its own END moments ago: back again
            flaps = int(recent.details.get(FLAPS, 0)) + 1
            logger.warning(
                "%s: %s again: incident %d reopened (flap %d)", event.camera_id, event.kind, recent.id, flaps
            )
            reopen_by_system(recent, at=from_ts(event.started_ts), note=f"{event.kind} again (flap {flaps})")
            recent.details = {**{k: v for k, v in recent.details.items() if k != AUTO_RESOLVED}, FLAPS: flaps}
        else:
            logger.info("%s: %s/%s continues incident %d", event.camera_id, event.kind, event.zone, recent.id)
        recent.ended_at = None
        _apply_update(recent, event)
        return None

    def _end(self, incident: Incident, event: Event) -> None:
        incident.ended_at = from_ts(event.at_ts)
        incident.last_seen_at = max(incident.last_seen_at, incident.ended_at)
        if not self.policy(event.kind).resolve_on_end or incident.status not in OPEN_STATUSES:
            logger.info("%s: incident %d ended", event.camera_id, incident.id)
            return
        # The END says what resolved it (for a camera: when it recovered, after how long down).
        resolve_by_system(incident, at=incident.ended_at, note=f"{event.kind} ended by itself")
        incident.details = {**incident.details, **_json_safe(event.details), AUTO_RESOLVED: True}
        logger.info("%s: incident %d ended and resolved itself", event.camera_id, incident.id)

    def _open(self, event: Event, camera: CameraConfig, session: Session) -> ClipRequest | None:
        if session.get(Camera, camera.id) is None:
            upsert_camera(camera, session=session)  # events may come before the first sync
        started_at = from_ts(event.started_ts)
        incident = Incident(
            camera_id=event.camera_id,
            kind=event.kind,
            zone=event.zone,
            severity=event.severity,
            title=event.title,
            details=_json_safe(event.details),
            started_at=started_at,
            last_seen_at=max(started_at, from_ts(event.at_ts)),
        )
        session.add(incident)
        session.flush()  # the id names the evidence files
        logger.info("%s: incident %d opened: %s", event.camera_id, incident.id, event.title)
        self._correlate(incident, session)
        if event.snapshot_jpeg:
            self._add_snapshot(incident, camera.id, event.snapshot_jpeg)
        if event.frame_jpeg:
            self._add_snapshot(incident, camera.id, event.frame_jpeg, kind=EvidenceKind.FRAME)
        if not event.request_clip:
            return None  # no video to cut (the camera is offline): no clip that is bound to fail

        # The clip is centred on the moment the rule fired (the snapshot's moment), not on the
        # onset, which for a slow rule may already have left the camera's packet buffer.
        record = camera.record
        request_id = uuid.uuid4().hex
        relpath = self.store.clip_relpath(camera.id, incident.id, started_at)
        roll = record.roll_for(event.kind)  # per event kind when configured (record.events)
        clip_start_ts = event.at_ts - roll.pre_roll_s
        clip_end_ts = event.at_ts + roll.post_roll_s
        incident.evidence.append(
            Evidence(
                kind=EvidenceKind.CLIP,
                status=EvidenceStatus.PENDING,
                path=relpath,
                content_type="video/mp4",
                start_at=from_ts(clip_start_ts),
                request_id=request_id,
                deadline_at=from_ts(clip_end_ts + self.clip_grace_s),
            )
        )
        session.flush()
        return ClipRequest(
            request_id=request_id,
            camera_id=camera.id,
            incident_id=incident.id,
            start_ts=clip_start_ts,
            end_ts=clip_end_ts,
            path=str(self.store.path_for(relpath)),
        )

    def _correlate(self, incident: Incident, session: Session) -> None:
        """Link citizens' reports and twin incidents to a new incident; a failure must not lose the incident."""
        try:
            with session.begin_nested():  # a failure rolls back the links only
                correlate_incident(incident, session=session, settings=self.correlation, rules=self.rules)
        except Exception:  # the incident is stored whatever correlation does
            logger.exception("%s: correlating incident %d failed", incident.camera_id, incident.id)

    def _add_snapshot(
        self, incident: Incident, camera_id: str, jpeg: bytes, *, kind: EvidenceKind = EvidenceKind.SNAPSHOT
    ) -> None:
        """Store a JPEG of the incident's start: the drawn snapshot, or the undrawn frame (``FRAME``)."""
        name_for = self.store.frame_relpath if kind == EvidenceKind.FRAME else self.store.snapshot_relpath
        relpath = name_for(camera_id, incident.id, incident.started_at)
        snapshot = Evidence(kind=kind, path=relpath, content_type="image/jpeg")
        try:
            # The file is complete before the row that points at it is committed.
            self.store.write_atomic(relpath, jpeg)
        except OSError as err:
            logger.error("%s: %s of incident %d not written: %s", camera_id, kind, incident.id, err)
            snapshot.status, snapshot.error = EvidenceStatus.FAILED, f"{kind} not written: {err}"
        else:
            snapshot.status, snapshot.size_bytes = EvidenceStatus.READY, len(jpeg)
        incident.evidence.append(snapshot)

    def _recent_open(self, event: Event, session: Session) -> Incident | None:
        """The open incident of the event's key that is running or ended within the dedup window.

        For a kind whose END resolves it, an incident that resolved itself within the window counts
        as open; one an operator resolved does not.
        """
        policy = self.policy(event.kind)
        window_start = from_ts(event.started_ts - policy.dedup_window_s)
        continuable: ColumnElement[bool] = Incident.status.in_(OPEN_STATUSES)
        if policy.resolve_on_end:
            resolved_itself = and_(
                Incident.status == IncidentStatus.RESOLVED, Incident.details[AUTO_RESOLVED].as_boolean().is_(True)
            )
            continuable = or_(continuable, resolved_itself)
        return session.scalar(
            _same_key(event)
            .where(continuable)
            .where(or_(Incident.ended_at.is_(None), Incident.ended_at >= window_start))
        )

    def _running(self, event: Event, session: Session) -> Incident | None:
        """The newest incident of the event's key that has not ended."""
        return session.scalar(_same_key(event).where(Incident.ended_at.is_(None)))


def _same_key(event: Event) -> Select[Incident]:
    return (
        select(Incident)
        .where(Incident.camera_id == event.camera_id, Incident.kind == event.kind)
        .where(Incident.zone == event.zone)
        .order_by(Incident.started_at.desc(), Incident.id.desc())
        .limit(1)
    )


def _apply_update(incident: Incident, event: Event) -> None:
    """Newer sighting: later ``last_seen_at``, latest title and details, severity only ever raised."""
    incident.last_seen_at = max(incident.last_seen_at, from_ts(event.at_ts))
    incident.title = event.title
    if event.details:
        kept = {FLAPS: incident.details[FLAPS]} if FLAPS in incident.details else {}  # the recorder's own count
        incident.details = {**kept, **_json_safe(event.details)}
    if Severity(event.severity).rank > Severity(incident.severity).rank:
        logger.info("%s: incident %d escalated to %s", event.camera_id, incident.id, event.severity)
        incident.severity = event.severity


def _fail(evidence: Evidence, error: str) -> None:
    evidence.status, evidence.error = EvidenceStatus.FAILED, error
    logger.warning("%s of incident %d failed: %s", evidence.kind, evidence.incident_id, error)


def _problem(event: Event) -> str | None:
    """Why ``event`` cannot be recorded, or None when it can."""
    if event.phase not in tuple(EventPhase):
        return f"unknown phase {event.phase!r}"
    if event.severity not in tuple(Severity):
        return f"unknown severity {event.severity!r}"
    for name in ("started_ts", "at_ts"):
        value = getattr(event, name)
        if not isinstance(value, int | float) or not math.isfinite(value) or not 0 < value < _MAX_TS:
            return f"{name} {value!r} is not a time"
    if not isinstance(event.details, dict):
        return "details is not a mapping"
    return None


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` as plain JSON types: numpy numbers become numbers, anything else a string.

    A value the JSON column cannot store would fail the commit, and the caller would retry forever.
    """
    safe: dict[str, Any] = json.loads(json.dumps(details, default=_to_json))
    return safe


def _to_json(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    return tolist() if callable(tolist) else str(value)


def policies_from_config(config: IncidentsConfig) -> dict[str, KindPolicy]:
    """The per-kind dedup windows of ``config`` as policies; a kind's other settings (resolve on END) are kept."""
    return {
        kind: replace(DEFAULT_POLICIES.get(kind) or KindPolicy(dedup_window_s=window), dedup_window_s=window)
        for kind, window in config.dedup_windows.items()
    }
