"""Entry points of the child processes (spawned, so each starts clean) and their shared setup."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from core.config import AppConfig, CameraConfig
from core.logging import setup_logging
from core.messages import Frame
from core.settings import Settings, prepare_ultralytics
from ingest.framequeue import DropOldestQueue

logger = logging.getLogger(__name__)


def _child_setup(log_level: str, stop: Any) -> None:
    """Log like the parent; leave Ctrl-C to the supervisor; stop if the supervisor dies."""
    setup_logging(log_level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid()

    def watch_parent() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent:  # re-parented: the supervisor is gone, do not linger
                stop.set()

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()


def camera_main(
    camera: CameraConfig, frames: DropOldestQueue[Frame], control: Any, bus: Any, stop: Any, log_level: str
) -> None:
    """One camera's ingest process."""
    _child_setup(log_level, stop)
    from ingest.worker import CameraWorker

    CameraWorker(camera, frames, control, bus, stop).run()


def analytics_main(
    config: AppConfig,
    settings: Settings,
    frames: dict[str, DropOldestQueue[Frame]],
    bus: Any,
    stop: Any,
    log_level: str,
) -> None:
    """The analytics process: one detector serving every camera."""
    _child_setup(log_level, stop)
    prepare_ultralytics(settings)
    from runtime.detect_loop import DetectLoop

    DetectLoop(config, settings, frames, bus, stop).run()


def api_main(settings: Settings, host: str, port: int, stop: Any, log_level: str) -> None:
    """The API process (uvicorn)."""
    _child_setup(log_level, stop)
    import uvicorn

    from api.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host=host, port=port, log_config=None, access_log=False)
    )

    def exit_on_stop() -> None:
        stop.wait()
        server.should_exit = True  # a graceful stop: open requests finish first

    threading.Thread(target=exit_on_stop, name="api-stop", daemon=True).start()
    server.run()
