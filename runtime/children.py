"""Entry points of the child processes (spawned, so each starts clean) and their shared setup.

Children stop on SIGTERM (from the supervisor) or when the supervisor disappears; they share no
lock with any other process (see :mod:`runtime.ipc`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from core.config import AppConfig, CameraConfig
from core.logging import setup_logging
from core.settings import Settings, prepare_ultralytics
from runtime.ipc import Downlink, Uplink

logger = logging.getLogger(__name__)


def _child_setup(log_level: str, log_format: str, camera: str | None = None) -> threading.Event:
    """Log like the parent, naming ``camera`` on every line; leave Ctrl-C to the supervisor; stop on SIGTERM."""
    setup_logging(log_level, camera=camera, fmt=log_format)
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid()

    def watch_parent() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent:  # re-parented: the supervisor is gone, do not linger
                logger.warning("supervisor gone: stopping")
                stop.set()

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    return stop


def camera_main(
    camera: CameraConfig,
    frames_path: Path,
    up: Connection,
    down: Connection,
    log_level: str,
    log_format: str,
    recordings_dir: Path | None = None,
) -> None:
    """One camera's ingest process; with ``record.continuous`` it also writes recording segments."""
    stop = _child_setup(log_level, log_format, camera.id)
    from ingest.frameslots import FrameSlots
    from ingest.segments import SegmentWriter
    from ingest.worker import CameraWorker

    uplink = Uplink(up, stop)
    frames = FrameSlots.attach(frames_path, camera.id)
    segments = None
    if camera.record.continuous and recordings_dir is not None:
        segments = SegmentWriter(camera.id, recordings_dir, camera.record.segment_s, uplink)
    try:
        CameraWorker(camera, frames, Downlink(down), uplink, stop, segments=segments).run()
    finally:
        uplink.flush()  # the last status and clip results still reach the supervisor


def analytics_main(
    config: AppConfig, settings: Settings, frame_paths: dict[str, Path], up: Connection, log_level: str
) -> None:
    """The analytics process: one detector serving every camera, and the cameras' pictures operators ask for."""
    stop = _child_setup(log_level, settings.log_format)
    prepare_ultralytics(settings)
    from ingest.frameslots import FrameSlots
    from runtime.detect_loop import DetectLoop
    from runtime.snapshot_service import SnapshotService

    uplink = Uplink(up, stop)
    frames = {camera_id: FrameSlots.attach(path, camera_id) for camera_id, path in frame_paths.items()}
    snapshots = SnapshotService.for_settings(settings, frames)  # operators' "show me this camera now"
    snapshots.start()
    try:
        DetectLoop(config, settings, frames, uplink, stop, snapshots=snapshots).run()
    finally:
        snapshots.stop()
        uplink.flush()


def api_main(settings: Settings, host: str, port: int, log_level: str, config: AppConfig | None = None) -> None:
    """The API process (uvicorn; it handles SIGTERM itself by finishing open requests, then exiting)."""
    stop = _child_setup(log_level, settings.log_format)
    import uvicorn

    from api.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, config), host=host, port=port, log_config=None, access_log=False)
    )

    def exit_on_stop() -> None:
        stop.wait()
        server.should_exit = True

    threading.Thread(target=exit_on_stop, name="api-stop", daemon=True).start()
    server.run()


def planner_main(settings: Settings, log_level: str) -> None:
    """The planner process: runs the coverage plans queued through the API, one at a time."""
    stop = _child_setup(log_level, settings.log_format)
    from runtime.plan_worker import PlanWorker

    PlanWorker(settings, stop).run()
