"""Response models of the API; every field is described so the OpenAPI document reads well."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.messages import CameraState, Severity
from incidents.cameras import effective_status
from incidents.health import UptimeTally
from incidents.models import (
    Camera,
    Evidence,
    EvidenceKind,
    EvidenceStatus,
    Incident,
    IncidentStatus,
    ProcessExit,
    RecordingSegment,
)
from incidents.recordings import coverage
from incidents.routing import WorkflowRules, sla_status
from incidents.traffic import TrafficSeries

ClipStatus = Literal["pending", "ready", "failed", "deleted", "none"]
_CLIP_STATUS: dict[EvidenceStatus, ClipStatus] = {
    EvidenceStatus.PENDING: "pending",
    EvidenceStatus.READY: "ready",
    EvidenceStatus.FAILED: "failed",
    EvidenceStatus.DELETED: "deleted",
}


class Out(BaseModel):
    """Base of the response models."""

    model_config = ConfigDict(frozen=True)


class ErrorOut(Out):
    """An error answer."""

    detail: str = Field(description="What went wrong, in words.")


class BadQueryOut(Out):
    """Why a query was refused: a sentence, or FastAPI's list of invalid parameters."""

    detail: str | list[dict[str, Any]] = Field(
        description="A sentence (e.g. a bad range or time zone), or one entry per invalid parameter (type, value)."
    )


class HealthOut(Out):
    """Whether the service and its database work, and how many cameras are online."""

    status: Literal["ok", "degraded"] = Field(description="`ok`, or `degraded` when the database is down.")
    version: str = Field(description="Version of the Mata Kota service.")
    database: bool = Field(description="Whether the database answered.")
    cameras_total: int = Field(description="Number of enabled cameras.")
    cameras_online: int = Field(description="Number of enabled cameras that are online now.")


class LocationOut(Out):
    """Where a camera stands and where it looks."""

    lat: float = Field(description="Latitude, WGS84 degrees.")
    lon: float = Field(description="Longitude, WGS84 degrees.")
    heading: float = Field(description="View direction, degrees clockwise from north.")
    fov_deg: float = Field(description="Horizontal field of view, degrees: the view sector is `heading ± fov_deg / 2`.")
    range_m: float = Field(description="How far the camera usefully sees, metres: the view sector's radius.")
    kelurahan: str | None = Field(description="Kelurahan (urban village), if known.")
    kecamatan: str | None = Field(description="Kecamatan (district), if known.")
    address: str | None = Field(description="Street address or landmark, if known.")


class ResolutionOut(Out):
    """Size of a video stream."""

    width: int = Field(description="Width in pixels.")
    height: int = Field(description="Height in pixels.")


class CameraStatusOut(Out):
    """A camera's stream health as of this answer."""

    state: CameraState = Field(
        description=(
            "`starting`; `online`; `degraded` (frames flow, but too few, over a flapping link, or the record input "
            "is down); `offline` (no frames: refused, timed out, 404 on the path, or its worker stopped reporting); "
            "`auth_failed` (the camera refuses the login); `tampered` (frozen, black or blurred picture)."
        )
    )
    reason: str | None = Field(description="Why the camera is in this state, when not plainly online.")
    since: datetime | None = Field(description="When the camera entered this state.")
    reported_at: datetime | None = Field(description="When its worker last reported, if ever.")
    fps_in: float = Field(description="Frames per second decoded from the stream.")
    fps_out: float = Field(description="Frames per second handed to analytics.")
    frames_dropped: int = Field(description="Frames dropped because analytics lagged behind.")
    reconnects: int = Field(description="Times the stream was reopened.")
    last_frame_at: datetime | None = Field(description="When the last frame arrived.")
    resolution: ResolutionOut | None = Field(description="Size of the detect stream, once known.")
    codec: str | None = Field(description="Codec of the detect stream, once known (e.g. `h264`).")
    nominal_fps: float | None = Field(description="Frame rate the stream announces, once known.")
    bitrate_kbps: float = Field(description="Bit rate of the record stream (the detect stream when they are one).")
    decode_ms: float = Field(description="Mean time to decode one frame, milliseconds.")
    reconnects_last_hour: int = Field(
        description="Times the stream was lost and regained in the last hour (a flapping link shows here)."
    )
    buffer_s: float = Field(description="Seconds of encoded video held for incident clips.")
    record_state: CameraState | None = Field(
        description="State of the separate record input, when the camera has one (null when one input does both)."
    )
    record_reason: str | None = Field(description="Why the record input is not online, when it is not.")


class CameraOut(Out):
    """A camera, where it is, and how its stream is doing."""

    id: str = Field(description="Camera id from the configuration.")
    name: str = Field(description="Human-readable camera name.")
    location: LocationOut = Field(description="Where the camera stands and looks.")
    enabled: bool = Field(description="Whether the camera is switched on in the configuration.")
    input_url: str = Field(description="Detect stream URL, credentials removed.")
    status: CameraStatusOut = Field(description="Stream health as of this answer.")

    @classmethod
    def from_model(cls, camera: Camera, now: datetime) -> CameraOut:
        """The answer for ``camera``, its status judged as of ``now``."""
        effective = effective_status(camera, now)
        resolution = (
            ResolutionOut(width=camera.width, height=camera.height)
            if camera.width is not None and camera.height is not None
            else None
        )
        return cls(
            id=camera.id,
            name=camera.name,
            location=LocationOut(
                lat=camera.lat,
                lon=camera.lon,
                heading=camera.heading,
                fov_deg=camera.fov_deg,
                range_m=camera.range_m,
                kelurahan=camera.kelurahan,
                kecamatan=camera.kecamatan,
                address=camera.address,
            ),
            enabled=camera.enabled,
            input_url=camera.input_url,
            status=CameraStatusOut(
                state=effective.state,
                reason=effective.reason,
                since=effective.since,
                reported_at=camera.status_at,
                fps_in=camera.fps_in,
                fps_out=camera.fps_out,
                frames_dropped=camera.frames_dropped,
                reconnects=camera.reconnects,
                last_frame_at=camera.last_frame_at,
                resolution=resolution,
                codec=camera.codec,
                nominal_fps=camera.metrics.get("nominal_fps"),
                bitrate_kbps=camera.bitrate_kbps,
                decode_ms=float(camera.metrics.get("decode_ms") or 0.0),
                reconnects_last_hour=camera.reconnects_hour,
                buffer_s=float(camera.metrics.get("buffer_s") or 0.0),
                record_state=camera.metrics.get("record_state"),
                record_reason=camera.metrics.get("record_reason"),
            ),
        )


class IncidentOut(Out):
    """An incident raised by a camera, with links to its evidence."""

    id: int = Field(description="Incident id.")
    camera_id: str | None = Field(description="Camera that raised it; null for citizen reports.")
    kind: str = Field(description="What happened, e.g. `congestion`, or `camera_health` for a failing camera.")
    zone: str | None = Field(description="Zone of the camera image where it happened.")
    status: IncidentStatus = Field(description="Where the incident is in the operators' workflow.")
    severity: Severity = Field(description="How urgent it is; only ever raised while the event lasts.")
    title: str = Field(description="One-line summary for the incident queue.")
    details: dict[str, Any] = Field(description="Rule-specific measurements (counts, durations, ...).")
    started_at: datetime = Field(description="When the event started.")
    last_seen_at: datetime = Field(description="When the event was last seen.")
    ended_at: datetime | None = Field(description="When the event ended; null while it is still going on.")
    snapshot_url: str | None = Field(description="URL of the JPEG snapshot; null until there is one.")
    clip_url: str | None = Field(description="URL of the MP4 clip; null until it is ready.")
    clip_status: ClipStatus = Field(
        description=(
            "`pending` while the camera cuts the clip, `ready`, `failed`, `deleted` by retention, "
            "or `none` without one."
        )
    )
    created_at: datetime = Field(description="When the incident was recorded; its SLA clock starts here.")
    updated_at: datetime = Field(description="When the incident was last changed.")
    routed_agency: str | None = Field(
        description="Code of the agency the routing rules send it to (by kind and kecamatan); null when none matches."
    )
    agency: str | None = Field(description="Code of the agency it was dispatched to; null before dispatch.")
    acknowledged_at: datetime | None = Field(description="When an operator first acknowledged it.")
    dispatched_at: datetime | None = Field(description="When it was last dispatched to an agency.")
    expected_by: datetime | None = Field(description="When the agency it was dispatched to should have it resolved.")
    resolved_at: datetime | None = Field(description="When it was resolved; null while unresolved or reopened.")
    merged_into: int | None = Field(description="For a duplicate: the incident it repeats.")
    acknowledge_due_at: datetime = Field(description="SLA: when it must be acknowledged by.")
    resolve_due_at: datetime = Field(description="SLA: when it must be resolved by (`expected_by` once dispatched).")
    overdue: bool = Field(
        description="Whether it is still new past its acknowledge time, or open past its resolve time."
    )

    @classmethod
    def from_model(cls, incident: Incident, rules: WorkflowRules, now: datetime) -> IncidentOut:
        """The answer for ``incident`` (its evidence loaded), its routing and SLA by ``rules`` as of ``now``."""
        sla = sla_status(incident, rules.sla, now)
        snapshot = incident.latest_evidence(EvidenceKind.SNAPSHOT)
        clip = incident.latest_evidence(EvidenceKind.CLIP)
        base = f"/api/incidents/{incident.id}"
        return cls(
            id=incident.id,
            camera_id=incident.camera_id,
            kind=incident.kind,
            zone=incident.zone,
            status=incident.status,
            severity=incident.severity,
            title=incident.title,
            details=incident.details,
            started_at=incident.started_at,
            last_seen_at=incident.last_seen_at,
            ended_at=incident.ended_at,
            snapshot_url=f"{base}/snapshot.jpg" if _ready(snapshot) else None,
            clip_url=f"{base}/clip.mp4" if _ready(clip) else None,
            clip_status=_CLIP_STATUS[clip.status] if clip is not None else "none",
            created_at=incident.created_at,
            updated_at=incident.updated_at,
            routed_agency=rules.routed_agency(incident),
            agency=incident.agency,
            acknowledged_at=incident.acknowledged_at,
            dispatched_at=incident.dispatched_at,
            expected_by=incident.expected_by,
            resolved_at=incident.resolved_at,
            merged_into=incident.merged_into_id,
            acknowledge_due_at=sla.acknowledge_due_at,
            resolve_due_at=sla.resolve_due_at,
            overdue=sla.overdue,
        )


class IncidentPage(Out):
    """One page of incidents, newest first."""

    items: list[IncidentOut] = Field(description="The incidents on this page.")
    total: int = Field(description="Number of incidents matching the filter, on all pages.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Number of matching incidents skipped before this page.")


def _ready(evidence: Evidence | None) -> bool:
    return evidence is not None and evidence.status == EvidenceStatus.READY


class RecordingSpanOut(Out):
    """An unbroken stretch of continuous recording."""

    start: datetime = Field(description="When the stretch begins.")
    end: datetime = Field(description="When the stretch ends.")
    duration_s: float = Field(description="Its length in seconds.")


class RecordingSegmentOut(Out):
    """One file of a camera's continuous recording."""

    start_at: datetime = Field(description="When the segment's first frame was recorded.")
    end_at: datetime = Field(description="When the segment ends (the next one starts here when they abut).")
    duration_s: float = Field(description="Its length in seconds.")
    size_bytes: int = Field(description="Size of its file in bytes.")
    frames: int = Field(description="Number of video frames in it.")

    @classmethod
    def from_model(cls, segment: RecordingSegment) -> RecordingSegmentOut:
        """The answer for ``segment``."""
        return cls(
            start_at=segment.start_at,
            end_at=segment.end_at,
            duration_s=round((segment.end_at - segment.start_at).total_seconds(), 3),
            size_bytes=segment.size_bytes,
            frames=segment.frames,
        )


class RecordingsOut(Out):
    """What a camera recorded in a time range: its unbroken stretches, and one page of its segments."""

    camera_id: str = Field(description="Camera id from the configuration.")
    start: datetime = Field(description="Start of the range asked for.")
    end: datetime = Field(description="End of the range asked for.")
    recorded_s: float = Field(description="Seconds of the range that are recorded.")
    spans: list[RecordingSpanOut] = Field(
        description="Unbroken stretches of recording, oldest first; gaps lie between."
    )
    segments: list[RecordingSegmentOut] = Field(description="This page of the segments in the range, oldest first.")
    total_segments: int = Field(description="Number of segments in the range, on all pages.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Number of segments skipped before this page.")

    @classmethod
    def build(
        cls, camera_id: str, start: datetime, end: datetime, segments: list[RecordingSegment], limit: int, offset: int
    ) -> RecordingsOut:
        """The answer for ``segments`` (every one overlapping ``[start, end)``, oldest first)."""
        spans = [(max(s, start), min(e, end)) for s, e in coverage(segments)]
        return cls(
            camera_id=camera_id,
            start=start,
            end=end,
            recorded_s=round(sum((e - s).total_seconds() for s, e in spans), 3),
            spans=[RecordingSpanOut(start=s, end=e, duration_s=round((e - s).total_seconds(), 3)) for s, e in spans],
            segments=[RecordingSegmentOut.from_model(s) for s in segments[offset : offset + limit]],
            total_segments=len(segments),
            limit=limit,
            offset=offset,
        )


class UptimeOut(Out):
    """Seconds a camera (or a group of cameras) spent up and down in a period."""

    up_s: float = Field(description="Seconds online or degraded (frames flowing).")
    down_s: float = Field(description="Seconds offline, auth_failed or tampered.")
    starting_s: float = Field(description="Seconds connecting after a start (neither up nor down).")
    monitored_s: float = Field(description="Seconds the service watched; the rest of the period it was not running.")
    uptime: float | None = Field(description="`up_s / (up_s + down_s)`, 0-1; null when never judged.")
    by_state: dict[str, float] = Field(description="Seconds per camera state.")

    @classmethod
    def from_tally(cls, tally: UptimeTally) -> UptimeOut:
        """The answer for one tally."""
        return cls(
            up_s=round(tally.up_s, 1),
            down_s=round(tally.down_s, 1),
            starting_s=round(tally.starting_s, 1),
            monitored_s=round(tally.monitored_s, 1),
            uptime=round(tally.uptime, 5) if tally.uptime is not None else None,
            by_state={state: round(seconds, 1) for state, seconds in sorted(tally.by_state.items())},
        )


class UptimeDayOut(UptimeOut):
    """Uptime on one local calendar day."""

    date: str = Field(description="The day, ISO 8601, in the report's time zone.")


class UptimeRowOut(Out):
    """Uptime of one camera, or of the cameras of one kecamatan."""

    key: str = Field(description="Camera id, or kecamatan name (`(unknown)` for cameras without one).")
    cameras: list[str] = Field(description="Ids of the cameras counted.")
    total: UptimeOut = Field(description="Over the whole period.")
    days: list[UptimeDayOut] = Field(description="Per local day, oldest first.")


class UptimeReportOut(Out):
    """Camera uptime per day, per camera or per kecamatan."""

    start: datetime = Field(description="Start of the period.")
    end: datetime = Field(description="End of the period (capped at now).")
    timezone: str = Field(description="Time zone of the day boundaries (IANA name).")
    group: Literal["camera", "kecamatan"] = Field(description="What a row is.")
    rows: list[UptimeRowOut] = Field(description="One row per camera or kecamatan, worst uptime first.")


class ProcessExitOut(Out):
    """A child process (camera worker, analytics, API) that died and was restarted."""

    process: str = Field(description="Process name, e.g. `camera-<id>` or `analytics`.")
    camera_id: str | None = Field(description="The camera, for a camera worker.")
    exit_code: int | None = Field(description="Exit code; negative for a signal.")
    signal: str | None = Field(description="The signal that ended it (e.g. `SIGSEGV` for a decoder crash), if any.")
    ran_s: float = Field(description="Seconds it ran before it died.")
    restart_in_s: float = Field(description="Backoff before its restart.")
    at: datetime = Field(description="When its death was noticed.")

    @classmethod
    def from_model(cls, row: ProcessExit) -> ProcessExitOut:
        """The answer for one stored exit."""
        return cls(
            process=row.process,
            camera_id=row.camera_id,
            exit_code=row.exit_code,
            signal=row.signal_name,
            ran_s=row.ran_s,
            restart_in_s=row.restart_in_s,
            at=row.at,
        )


class TrafficPointOut(Out):
    """The crossings in one interval."""

    start: datetime = Field(description="Start of the interval (UTC).")
    count: int = Field(description="Objects that crossed in the interval.")


class TrafficSeriesOut(Out):
    """The crossings of one counting line by one class of object in one direction."""

    line: str = Field(description="Counting line name from the camera's configuration.")
    class_name: str = Field(description="Object class, e.g. `car` or `motorcycle`.")
    direction: Literal["in", "out"] = Field(
        description="`in`: crossed from the line's left to its right, seen from its start `a` towards its end `b`; "
        "`out`: the other way."
    )
    total: int = Field(description="Crossings over the whole range.")
    points: list[TrafficPointOut] = Field(
        description="One point per interval with crossings, oldest first; intervals without any are left out."
    )

    @classmethod
    def from_series(cls, series: TrafficSeries) -> TrafficSeriesOut:
        """The answer for one series."""
        return cls(
            line=series.line,
            class_name=series.class_name,
            direction="in" if series.direction == "in" else "out",
            total=series.total,
            points=[TrafficPointOut(start=at, count=n) for at, n in sorted(series.counts.items())],
        )


class TrafficCountsOut(Out):
    """Traffic counted on a camera's lines over a time range."""

    camera_id: str = Field(description="Camera id from the configuration.")
    start: datetime = Field(description="Start of the range asked for.")
    end: datetime = Field(description="End of the range asked for.")
    resolution_min: int = Field(description="Length of each interval, minutes (1, 15 or 60).")
    series: list[TrafficSeriesOut] = Field(description="One series per line, class and direction with crossings.")
