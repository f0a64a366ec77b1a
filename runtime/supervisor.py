"""Runs every process of one Mata Kota machine and restarts any that dies, with backoff."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import shutil
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.backoff import Backoff
from core.config import AppConfig
from core.errors import MataKotaError
from core.settings import Settings
from incidents.cameras import sync_cameras
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.evidence import EvidenceStore
from incidents.health import HealthMonitor
from incidents.models import ProcessExit
from incidents.recorder import IncidentRecorder, policies_from_config
from incidents.retention import Retention
from ingest.frameslots import FrameSlots, capacity_for, default_directory
from models.registry import resolve
from runtime import children
from runtime.bus import BusConsumer
from runtime.ipc import describe_exit

logger = logging.getLogger(__name__)

HEALTHY_AFTER_S = 60.0  # a child that has run this long starts its next backoff from the beginning
STOP_TIMEOUT_S = 8.0


class StartupError(MataKotaError):
    """The service could not start (port taken, model missing, API not answering)."""


@dataclass
class _Child:
    """A child process; ``make_args`` builds its arguments anew (fresh pipes) for every start."""

    name: str
    target: Callable[..., None]
    make_args: Callable[[], tuple[tuple[Any, ...], list[Connection]]]
    backoff: Backoff = field(default_factory=lambda: Backoff(initial_s=1.0, max_s=60.0))
    process: BaseProcess | None = None
    started_at: float = 0.0
    next_start_at: float = 0.0
    restarts: int = 0
    camera_id: str | None = None


class Supervisor:
    """Owns the child processes (one per camera, analytics, API, planner), their frame slots and the bus consumer."""

    def __init__(self, config: AppConfig, settings: Settings, *, host: str, port: int) -> None:
        self.config = config
        self.settings = settings
        self.host, self.port = host, port
        self.ctx = mp.get_context("spawn")
        self.stopping = False
        self.run_dir = default_directory() / f"run-{os.getpid()}"
        self.frames: dict[str, FrameSlots] = {}
        self.consumer: BusConsumer | None = None
        self.retention: Retention | None = None
        self._retention_stop = threading.Event()
        self._retention_thread = threading.Thread(target=self._retain_forever, name="retention", daemon=True)
        self.sessions: sessionmaker[Session] | None = None
        self.health = HealthMonitor(config)
        cameras = config.enabled_cameras
        self.children = [
            _Child(f"camera-{c.id}", children.camera_main, partial(self._camera_args, c.id), camera_id=c.id)
            for c in cameras
        ]
        self.children.append(_Child("analytics", children.analytics_main, self._analytics_args))
        self.children.append(_Child("api", children.api_main, self._api_args))
        self.children.append(_Child("planner", children.planner_main, self._planner_args))

    @property
    def url(self) -> str:
        """The API's base URL."""
        return f"http://{self.host}:{self.port}"

    # -- start --------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Check the port and the models, migrate the database, store the cameras, make frame slots.

        Raises:
            StartupError: with what to do about it.
        """
        _check_port_free(self.host, self.port)
        cameras = self.config.enabled_cameras
        models = {c.detect.model for c in cameras} | {slot.name for c in cameras for slot in c.rule_models}
        for name in sorted(models):
            resolve(name, self.settings)  # fail now, with the reason, rather than in a child
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate(self.settings.resolved_database_url)
        sessions = make_session_factory(make_engine(self.settings.resolved_database_url))
        with session_scope(sessions) as session:
            sync_cameras(self.config, session=session)
            closed = self.health.recover(session=session)
            if closed:
                logger.info("closed %d camera state span(s) left open by the previous run", closed)
        self.sessions = sessions
        recorder = IncidentRecorder(
            sessions,
            EvidenceStore(self.settings.evidence_dir),
            self.config,
            dedup_window_s=self.config.incidents.dedup_window_s,
            policies=policies_from_config(self.config.incidents),
        )
        self.consumer = BusConsumer(recorder, sessions, health=self.health, recordings_dir=self.settings.recordings_dir)
        self.retention = Retention(self.config, self.settings, sessions)
        _remove_stale_run_dirs(self.run_dir.parent)
        for camera in self.config.enabled_cameras:
            path = self.run_dir / f"{camera.id}.frames"
            capacity = capacity_for(camera.detect.max_width)
            try:
                self.frames[camera.id] = FrameSlots.create(path, camera.id, capacity)
            except OSError as err:
                raise StartupError(
                    f"cannot make {path} ({2 * capacity / 1e6:.0f} MB of shared memory): {err.strerror}; "
                    "enlarge /dev/shm or lower detect.max_width"
                ) from err

    def start(self) -> None:
        """Start the bus consumer and every child."""
        assert self.consumer is not None, "prepare() first"
        self.consumer.start()
        self._retention_thread.start()
        for child in self.children:
            self._spawn(child)

    def _retain_forever(self) -> None:
        """Apply the storage limits now and every ``storage.check_interval_s`` until shutdown."""
        assert self.retention is not None
        while not self._retention_stop.is_set():
            try:
                self.retention.run_once()
            except Exception:  # loop boundary: a failed run (database busy, disk error) is retried next time
                logger.exception("retention run failed")
            self._retention_stop.wait(self.config.storage.check_interval_s)

    def _camera_args(self, camera_id: str) -> tuple[tuple[Any, ...], list[Connection]]:
        assert self.consumer is not None
        up_read, up_write = self.ctx.Pipe(duplex=False)
        down_read, down_write = self.ctx.Pipe(duplex=False)
        self.consumer.attach(f"camera-{camera_id}", up_read, camera_id=camera_id, downlink=down_write)
        camera = self.config.camera(camera_id)
        logs = (self.settings.log_level, self.settings.log_format)
        args = (camera, self.frames[camera_id].path, up_write, down_read, *logs, self.settings.recordings_dir)
        return args, [up_write, down_read]

    def _analytics_args(self) -> tuple[tuple[Any, ...], list[Connection]]:
        assert self.consumer is not None
        up_read, up_write = self.ctx.Pipe(duplex=False)
        self.consumer.attach("analytics", up_read)
        paths = {camera_id: slots.path for camera_id, slots in self.frames.items()}
        return (self.config, self.settings, paths, up_write, self.settings.log_level), [up_write]

    def _api_args(self) -> tuple[tuple[Any, ...], list[Connection]]:
        return (self.settings, self.host, self.port, self.settings.log_level, self.config), []

    def _planner_args(self) -> tuple[tuple[Any, ...], list[Connection]]:
        return (self.settings, self.settings.log_level), []

    def _spawn(self, child: _Child) -> None:
        args, child_ends = child.make_args()
        process = self.ctx.Process(target=child.target, args=args, name=child.name)
        process.start()
        for connection in child_ends:
            connection.close()  # only the child holds these ends now, so its death ends the pipes
        child.process, child.started_at = process, time.monotonic()
        logger.info("started %s (pid %s)", child.name, process.pid)

    # -- run ----------------------------------------------------------------------------------

    def poll(self) -> None:
        """Restart children that died, each after its own backoff delay."""
        if self.stopping:
            return
        now = time.monotonic()
        for child in self.children:
            process = child.process
            if process is None:
                if now >= child.next_start_at:
                    child.restarts += 1
                    self._spawn(child)
                continue
            if process.is_alive():
                continue
            ran_s = now - child.started_at
            if ran_s > HEALTHY_AFTER_S:
                child.backoff.reset()
            delay = child.backoff.next_delay_s()
            logger.error(
                "%s exited with %s; restart %d in %.1f s",
                child.name, describe_exit(process.exitcode), child.restarts + 1, delay,
            )  # fmt: skip
            self._record_exit(child, process.exitcode, ran_s, delay)
            process.join(0)
            process.close()
            child.process, child.next_start_at = None, now + delay

    def _record_exit(self, child: _Child, exitcode: int | None, ran_s: float, delay_s: float) -> None:
        """Keep a record of a child that died (a decoder crash, an out-of-memory kill): the API lists them."""
        if self.sessions is None:
            return
        signal_name = None
        if exitcode is not None and exitcode < 0:
            try:
                signal_name = signal.Signals(-exitcode).name
            except ValueError:
                signal_name = f"SIG{-exitcode}"
        try:
            with session_scope(self.sessions) as session:
                session.add(
                    ProcessExit(
                        process=child.name,
                        camera_id=child.camera_id,
                        exit_code=exitcode,
                        signal_name=signal_name,
                        ran_s=round(ran_s, 3),
                        restart_in_s=round(delay_s, 3),
                    )
                )
        except SQLAlchemyError as err:  # the restart matters more than its record
            logger.warning("could not record the exit of %s: %s", child.name, err)

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

    # -- stop ---------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every child (SIGTERM, then SIGKILL after a grace period), keep what they sent last."""
        logger.info("stopping")
        self.stopping = True
        running = [c.process for c in self.children if c.process is not None and c.process.is_alive()]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                logger.warning("%s did not stop in time; killing it", process.name)
                process.kill()
                process.join(2)
        if self.consumer is not None:
            self.consumer.close()
        self._retention_stop.set()
        if self._retention_thread.is_alive():
            self._retention_thread.join(timeout=10)
        for slots in self.frames.values():
            slots.unlink()
        shutil.rmtree(self.run_dir, ignore_errors=True)
        logger.info("stopped")


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise StartupError(f"cannot listen on {host}:{port} ({err.strerror}); choose another --port") from err


def _remove_stale_run_dirs(base: Path) -> None:
    """Frame slots of supervisors that died without cleaning up (their pid is gone)."""
    for run_dir in base.glob("run-*"):
        pid = run_dir.name.removeprefix("run-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(run_dir, ignore_errors=True)
