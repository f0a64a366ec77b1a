"""Camera rows: synced from the configuration, updated by the workers' status reports."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import AppConfig, CameraConfig
from core.messages import CameraState, CameraStatus
from incidents.models import Camera
from incidents.types import clip, from_ts

logger = logging.getLogger(__name__)

# A camera whose worker has not reported for this long is offline, whatever its last report said
# (the worker itself may be dead). Three missed reports at a 5 s interval.
STATUS_STALE_AFTER_S = 15.0
# Camera.state_reason and CameraStateSpan.reason: a worker's reason can quote long decoder errors.
REASON_LENGTH = 500


def sync_cameras(config: AppConfig, *, session: Session) -> list[Camera]:
    """Insert or update one row per configured camera; rows no longer configured are disabled.

    Rows are never deleted (incidents point at them). Only the redacted detect URL is stored.
    """
    configured = {camera.id for camera in config.cameras}
    rows = [upsert_camera(camera, session=session) for camera in config.cameras]
    for row in session.scalars(select(Camera).where(Camera.id.not_in(configured), Camera.enabled.is_(True))):
        logger.info("%s: no longer in the configuration: disabled", row.id)
        row.enabled = False
    session.flush()
    return rows


def upsert_camera(camera: CameraConfig, *, session: Session) -> Camera:
    """The row of ``camera``, created or brought up to date with its configuration."""
    row = session.get(Camera, camera.id)
    if row is None:
        row = Camera(id=camera.id, state=CameraState.STARTING)
        session.add(row)
        logger.info("%s: new camera", camera.id)
    location = camera.location
    row.name = camera.name
    row.lat, row.lon, row.heading = location.lat, location.lon, location.heading
    row.fov_deg, row.range_m = location.fov_deg, location.range_m
    row.kelurahan, row.kecamatan, row.address = location.kelurahan, location.kecamatan, location.address
    row.enabled = camera.enabled
    row.input_url = camera.input_for("detect").safe_url
    session.flush()
    return row


def record_status(status: CameraStatus, *, session: Session) -> Camera | None:
    """Store a worker's status report; returns the row, or None for a camera that has no row."""
    row = session.get(Camera, status.camera_id)
    if row is None:
        logger.warning("%s: status report for a camera not in the database: ignored", status.camera_id)
        return None
    row.state = status.state
    row.state_reason = clip(status.reason, REASON_LENGTH)
    row.state_since = from_ts(status.since_ts)
    row.status_at = from_ts(status.at_ts)
    row.fps_in, row.fps_out = status.fps_in, status.fps_out
    row.frames_dropped, row.reconnects = status.frames_dropped, status.reconnects
    row.last_frame_at = from_ts(status.last_frame_ts) if status.last_frame_ts is not None else None
    row.width, row.height, row.codec = status.width, status.height, status.codec
    row.bitrate_kbps, row.reconnects_hour = status.bitrate_kbps, status.reconnects_hour
    row.metrics = status_metrics(status)
    session.flush()
    return row


def status_metrics(status: CameraStatus) -> dict[str, Any]:
    """A status report as plain JSON values (enums as their strings), for the ``metrics`` column."""
    return {key: (value.value if isinstance(value, StrEnum) else value) for key, value in asdict(status).items()}


@dataclass(frozen=True, slots=True)
class EffectiveStatus:
    """A camera's state as it should be shown now."""

    state: CameraState
    reason: str | None
    since: datetime | None


def effective_status(camera: Camera, now: datetime) -> EffectiveStatus:
    """The stored state, unless the camera is disabled or its reports stopped (then offline)."""
    if not camera.enabled:
        return EffectiveStatus(CameraState.OFFLINE, "disabled in the configuration", None)
    if camera.status_at is None:
        return EffectiveStatus(CameraState.OFFLINE, "no status report received yet", None)
    if now - camera.status_at > timedelta(seconds=STATUS_STALE_AFTER_S):
        reason = f"no status report since {camera.status_at.isoformat(timespec='seconds')}"
        return EffectiveStatus(CameraState.OFFLINE, reason, camera.status_at)
    return EffectiveStatus(camera.state, camera.state_reason, camera.state_since)
