"""Runs every process of one Mata Kota machine and restarts any that dies, with backoff."""

from __future__ import annotations

import logging
import multiprocessing as mp
import socket
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from core.backoff import Backoff
from core.config import AppConfig
from core.errors import MataKotaError
from core.messages import Frame
from core.settings import Settings
from incidents.cameras import sync_cameras
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.evidence import EvidenceStore
from incidents.recorder import IncidentRecorder
from ingest.framequeue import DropOldestQueue
from models.registry import resolve
from runtime import children
from runtime.bus import BusConsumer

logger = logging.getLogger(__name__)

FRAME_QUEUE_SIZE = 2
HEALTHY_AFTER_S = 60.0  # a child that has run this long starts its next backoff from the beginning
STOP_TIMEOUT_S = 8.0


class StartupError(MataKotaError):
    """The service could not start (port taken, model missing, API not answering)."""


@dataclass
class _Child:
    name: str
    target: Callable[..., None]
    args: tuple[Any, ...]
    backoff: Backoff = field(default_factory=lambda: Backoff(initial_s=1.0, max_s=60.0))
    process: BaseProcess | None = None
    started_at: float = 0.0
    next_start_at: float = 0.0
    restarts: int = 0


class Supervisor:
    """Owns the queues, the child processes (cameras, analytics, API) and the bus consumer."""

    def __init__(self, config: AppConfig, settings: Settings, *, host: str, port: int) -> None:
        self.config = config
        self.settings = settings
        self.host, self.port = host, port
        ctx = mp.get_context("spawn")
        self.ctx = ctx
        self.stop = ctx.Event()
        self.bus: Any = ctx.Queue()
        cameras = config.enabled_cameras
        self.frames: dict[str, DropOldestQueue[Frame]] = {c.id: DropOldestQueue(FRAME_QUEUE_SIZE, ctx) for c in cameras}
        self.controls: dict[str, Any] = {c.id: ctx.Queue() for c in cameras}
        level = settings.log_level
        self.children = [
            _Child(
                f"camera-{c.id}",
                children.camera_main,
                (c, self.frames[c.id], self.controls[c.id], self.bus, self.stop, level),
            )
            for c in cameras
        ]
        self.children.append(
            _Child(
                "analytics",
                children.analytics_main,
                (config, settings, self.frames, self.bus, self.stop, level),
            )
        )
        self.children.append(_Child("api", children.api_main, (settings, host, port, self.stop, level)))
        self.consumer: BusConsumer | None = None

    @property
    def url(self) -> str:
        """The API's base URL."""
        return f"http://{self.host}:{self.port}"

    def prepare(self) -> None:
        """Check the port and the models, migrate the database, store the cameras.

        Raises:
            StartupError: with what to do about it.
        """
        _check_port_free(self.host, self.port)
        for name in sorted({c.detect.model for c in self.config.enabled_cameras}):
            resolve(name, self.settings)  # fail now, with the reason, rather than in a child
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate(self.settings.resolved_database_url)
        engine = make_engine(self.settings.resolved_database_url)
        self.sessions = make_session_factory(engine)
        with session_scope(self.sessions) as session:
            sync_cameras(self.config, session=session)
        recorder = IncidentRecorder(self.sessions, EvidenceStore(self.settings.evidence_dir), self.config)
        self.consumer = BusConsumer(self.bus, recorder, self.sessions, self.controls)

    def start(self) -> None:
        """Start the bus consumer and every child."""
        assert self.consumer is not None, "prepare() first"
        self.consumer.start()
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: _Child) -> None:
        process = self.ctx.Process(target=child.target, args=child.args, name=child.name, daemon=False)
        process.start()
        child.process, child.started_at = process, time.monotonic()
        logger.info("started %s (pid %s)", child.name, process.pid)

    def poll(self) -> None:
        """Restart children that died, each after its own backoff delay."""
        now = time.monotonic()
        for child in self.children:
            process = child.process
            if process is None or process.is_alive():
                if process is None and now >= child.next_start_at and not self.stop.is_set():
                    child.restarts += 1
                    self._spawn(child)
                continue
            if self.stop.is_set():
                continue
            if now - child.started_at > HEALTHY_AFTER_S:
                child.backoff.reset()
            delay = child.backoff.next_delay_s()
            logger.error("%s exited with code %s; restarting in %.1f s", child.name, process.exitcode, delay)
            process.join(0)
            child.process, child.next_start_at = None, now + delay

    def wait_until_ready(self, timeout_s: float = 90.0) -> None:
        """Block until the API answers ``/api/health``.

        Raises:
            StartupError: if it does not within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poll()
            try:
                with urllib.request.urlopen(f"{self.url}/api/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise StartupError(f"the API did not answer on {self.url} within {timeout_s:.0f} s (see the log above)")

    def shutdown(self) -> None:
        """Stop every child (politely, then by force) and flush what the workers sent last."""
        logger.info("stopping")
        self.stop.set()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in self.children:
            if child.process is not None:
                child.process.join(max(0.0, deadline - time.monotonic()))
        for child in self.children:
            process = child.process
            if process is not None and process.is_alive():
                logger.warning("%s did not stop in time; terminating", child.name)
                process.terminate()
                process.join(2)
                if process.is_alive():
                    process.kill()
                    process.join(2)
        if self.consumer is not None:
            self.consumer.close()
        for frames in self.frames.values():
            frames.close()
        logger.info("stopped")


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise StartupError(f"cannot listen on {host}:{port} ({err.strerror}); choose another --port") from err
