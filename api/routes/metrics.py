"""Prometheus metrics: camera streams, the detector and open incidents, read from the database at each scrape.

The API process sees only the database: camera workers' and the detector's latest reports are
stored there by the supervisor, so every scrape describes the service as its last reports did.
Counters restart from zero when the process that counts restarts; Prometheus' ``rate()`` allows
for that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from core.messages import CameraState
from incidents.cameras import STATUS_STALE_AFTER_S, effective_status
from incidents.components import DETECTOR_KIND, is_stale, list_components
from incidents.models import OPEN_STATUSES, Camera, ComponentStatus, Incident
from incidents.types import utcnow

router = APIRouter(tags=["health"])

# The classic text format every Prometheus version scrapes (the names here need none of 1.0.0's escaping).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_EXPOSITION = "Prometheus text exposition format 0.0.4: `# HELP`, `# TYPE` and the sample lines of each metric."


@dataclass(frozen=True, slots=True)
class _Series:
    """One metric of a table below: its name, help text and whether it is a counter."""

    name: str
    help: str
    counter: bool = False


_CAMERA_SERIES = (
    _Series("matakota_camera_up", "1 while the camera delivers frames (online or degraded); 0 when down or silent."),
    _Series("matakota_camera_fps_in", "Frames per second read from the stream (0 while its reports have stopped)."),
    _Series("matakota_camera_fps_out", "Frames per second handed to analytics (0 while its reports have stopped)."),
    _Series("matakota_camera_frames_dropped", "Frames analytics never took (a newer one replaced them).", counter=True),
    _Series("matakota_camera_decode_seconds", "Mean time to decode one frame over the last report window."),
    _Series("matakota_camera_reconnects", "Reconnections to the stream since the worker started.", counter=True),
    _Series("matakota_camera_reconnects_last_hour", "Reconnections to the stream in the last hour."),
    _Series(
        "matakota_camera_received_bytes", "Bytes received from every input since the worker started.", counter=True
    ),
    _Series("matakota_camera_bitrate_bits_per_second", "Bitrate of the record input (0 while reports have stopped)."),
    _Series("matakota_camera_buffer_fill_ratio", "Share of the configured ring buffer the buffered packets fill, 0-1."),
    _Series("matakota_camera_buffer_seconds", "Seconds of video in the ring buffer, for clips."),
    _Series("matakota_camera_last_frame_age_seconds", "Seconds since the camera's last frame was read."),
    _Series("matakota_camera_status_age_seconds", "Seconds since the camera worker's last status report."),
)

_DETECTOR_SERIES = (
    _Series("matakota_detector_up", "1 while the detector reports, 0 once its reports have stopped."),
    _Series("matakota_detector_inference_seconds", "Mean inference time of one frame over the last report window."),
    _Series("matakota_detector_frames_per_second", "Frames the detector processed per second (0 when silent)."),
    _Series("matakota_detector_queue_depth", "Frames the detector found waiting in its last round over the cameras."),
    _Series("matakota_detector_frames", "Frames processed since the analytics process started.", counter=True),
    _Series(
        "matakota_detector_skipped_frames", "Frames the detector never took (newer ones replaced them).", counter=True
    ),
    _Series("matakota_detector_status_age_seconds", "Seconds since the detector's last status report."),
)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"description": _EXPOSITION, "content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(session: SessionDep) -> Response:
    """Prometheus metrics of the camera streams, the detector and the open incidents, for scraping."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(session, utcnow()))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)


class StoreCollector:
    """A Prometheus collector that reads the latest reports and open incidents from the database."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def collect(self) -> Iterable[Metric]:
        """Every metric, read now."""
        cameras = self.session.scalars(select(Camera).where(Camera.enabled.is_(True)).order_by(Camera.id)).all()
        yield from _families(_CAMERA_SERIES, ["camera"], [([c.id], _camera_values(c, self.now)) for c in cameras])
        yield _camera_states(cameras, self.now)
        detectors = list_components(DETECTOR_KIND, session=self.session)
        samples = [([d.name, str(d.metrics.get("model", ""))], _detector_values(d, self.now)) for d in detectors]
        yield from _families(_DETECTOR_SERIES, ["detector", "model"], samples)
        yield _open_incidents(self.session)


def _families(
    table: Iterable[_Series], labels: list[str], samples: list[tuple[list[str], dict[str, float | None]]]
) -> Iterable[Metric]:
    """One family per series of ``table``, with a sample per label set whose value is known."""
    for series in table:
        family_type = CounterMetricFamily if series.counter else GaugeMetricFamily
        family = family_type(series.name, series.help, labels=labels)
        for label_values, values in samples:
            value = values.get(series.name)
            if value is not None:
                family.add_metric(label_values, value)
        yield family


def _camera_states(cameras: Iterable[Camera], now: datetime) -> Metric:
    """Each camera's state as one sample per possible state, 1 for the current one (offline once silent)."""
    family = GaugeMetricFamily("matakota_camera_state", "1 for the camera's current state.", labels=["camera", "state"])
    for camera in cameras:
        current = effective_status(camera, now).state
        for state in CameraState:
            family.add_metric([camera.id, state.value], float(state == current))
    return family


def _camera_values(camera: Camera, now: datetime) -> dict[str, float | None]:
    """The camera's samples by metric name; a silent camera is down and its rates read 0."""
    report: Mapping[str, Any] = camera.metrics or {}
    reporting = camera.status_at is not None and now - camera.status_at <= timedelta(seconds=STATUS_STALE_AFTER_S)
    live = 1.0 if reporting else 0.0
    last_frame = _optional_number(report, "last_frame_ts")
    if last_frame is None and camera.last_frame_at is not None:
        last_frame = camera.last_frame_at.timestamp()
    return {
        "matakota_camera_up": float(effective_status(camera, now).state.is_up),
        "matakota_camera_fps_in": live * _number(report, "fps_in", camera.fps_in),
        "matakota_camera_fps_out": live * _number(report, "fps_out", camera.fps_out),
        "matakota_camera_frames_dropped": _number(report, "frames_dropped", camera.frames_dropped),
        "matakota_camera_decode_seconds": _number(report, "decode_ms") / 1000,
        "matakota_camera_reconnects": _number(report, "reconnects", camera.reconnects),
        "matakota_camera_reconnects_last_hour": _number(report, "reconnects_hour", camera.reconnects_hour),
        "matakota_camera_received_bytes": _number(report, "bytes_in"),
        "matakota_camera_bitrate_bits_per_second": live * _number(report, "bitrate_kbps", camera.bitrate_kbps) * 1000,
        "matakota_camera_buffer_fill_ratio": _number(report, "buffer_fill"),
        "matakota_camera_buffer_seconds": _number(report, "buffer_s"),
        "matakota_camera_last_frame_age_seconds": None if last_frame is None else now.timestamp() - last_frame,
        "matakota_camera_status_age_seconds": None if camera.status_at is None else _age_s(camera.status_at, now),
    }


def _detector_values(component: ComponentStatus, now: datetime) -> dict[str, float | None]:
    """The detector's samples by metric name; a silent detector is down and its rate reads 0."""
    report: Mapping[str, Any] = component.metrics or {}
    live = 0.0 if is_stale(component, now) else 1.0
    return {
        "matakota_detector_up": live,
        "matakota_detector_inference_seconds": _number(report, "inference_ms") / 1000,
        "matakota_detector_frames_per_second": live * _number(report, "frames_per_s"),
        "matakota_detector_queue_depth": _number(report, "queue_depth"),
        "matakota_detector_frames": _number(report, "frames_total"),
        "matakota_detector_skipped_frames": _number(report, "skipped_total"),
        "matakota_detector_status_age_seconds": _age_s(component.updated_at, now),
    }


def _open_incidents(session: Session) -> Metric:
    """Open incidents (an open status, the event not ended) by kind; 0 for every kind ever raised."""
    family = GaugeMetricFamily("matakota_incidents_open", "Incidents still going on and not closed.", labels=["kind"])
    counts = dict.fromkeys(session.scalars(select(Incident.kind).distinct()), 0)
    open_stmt = (
        select(Incident.kind, func.count())
        .where(Incident.status.in_(OPEN_STATUSES), Incident.ended_at.is_(None))
        .group_by(Incident.kind)
    )
    counts.update(dict(session.execute(open_stmt).all()))
    for kind in sorted(counts):
        family.add_metric([kind], counts[kind])
    return family


def _number(report: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    """``report[key]`` as a float, or ``default`` when it is missing or not a number."""
    value = _optional_number(report, key)
    return default if value is None else value


def _optional_number(report: Mapping[str, Any], key: str) -> float | None:
    """``report[key]`` as a float, or None when it is missing or not a number."""
    value = report.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _age_s(at: datetime, now: datetime) -> float:
    return max(0.0, (now - at).total_seconds())
