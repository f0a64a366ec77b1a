"""Simulated RTSP cameras: footage files served, looping, by Debian's GStreamer RTSP server.

The server (``rtsp_server.py``) runs under the system Python, which has GStreamer's ``gi``
bindings; this module starts it from the project's environment, waits until it serves, and
stops it without leaking processes.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import quote

from core.errors import MataKotaError

SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
DEBIAN_PACKAGES = (
    "gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good gstreamer1.0-plugins-bad "
    "gstreamer1.0-plugins-ugly gstreamer1.0-libav"
)
GI_PROBE = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
    "from gi.repository import Gst, GstRtspServer"
)
# Variables that point a Python at the project's virtual environment; the system Python
# must not see them or it would look for ``gi`` among the venv's packages.
VENV_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE")
STDERR_TAIL_CHARS = 4000


class SimulatorError(MataKotaError):
    """The simulated camera server could not be started or misbehaved."""


@dataclass(frozen=True)
class SimulatedCamera:
    """One simulated camera: ``path`` is served, looping, as ``rtsp://host:port/name``."""

    name: str
    path: Path


def parse_camera_spec(spec: str) -> SimulatedCamera:
    """Parses a ``NAME=FILE`` camera spec.

    Args:
        spec: the camera name (letters, digits, ``_`` and ``-``), ``=``, then the footage path.

    Returns:
        The camera; the file is not checked here (``Simulator.start`` does).

    Raises:
        ValueError: the spec has no ``=``, an empty file, or an invalid name.
    """
    name, sep, file = spec.partition("=")
    if not sep or not file.strip():
        raise ValueError(f"camera spec {spec!r} is not NAME=FILE")
    if not NAME_PATTERN.match(name):
        raise ValueError(f"camera name {name!r} in {spec!r} must match {NAME_PATTERN.pattern}")
    return SimulatedCamera(name=name, path=Path(file).expanduser())


def find_system_python(candidate: str = SYSTEM_PYTHON) -> str:
    """Returns the Python that can run the RTSP server (it imports ``gi`` and GstRtspServer).

    Raises:
        SimulatorError: that Python is missing or lacks the bindings; the message names the
            Debian packages to install.
    """
    try:
        probe = subprocess.run(
            [candidate, "-c", GI_PROBE],
            env=system_python_env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SimulatorError(f"{candidate} cannot run: {err}; {install_hint()}") from err
    if probe.returncode != 0:
        reason = probe.stderr.strip().splitlines()[-1:] or ["no error output"]
        raise SimulatorError(f"{candidate} cannot import GStreamer's RTSP server ({reason[0]}); {install_hint()}")
    return candidate


def install_hint() -> str:
    """The one command that installs what the simulated cameras need on Debian."""
    return f"install it with: apt-get install {DEBIAN_PACKAGES}"


def system_python_env() -> dict[str, str]:
    """This process's environment without the variables that tie Python to the venv."""
    return {key: value for key, value in os.environ.items() if key not in VENV_VARIABLES}


def free_port(host: str) -> int:
    """A TCP port that is free on ``host`` now (another process could still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class Simulator:
    """A real RTSP server that serves footage files as looping live cameras.

    ``memory_loop_mb``: a file whose decoded frames fit in this many MiB is decoded once and
    looped from memory (0: always decode, as a long file is). ``clock``: every frame carries the
    wall-clock milliseconds at which it went to the encoder, as a binary strip in its top rows
    (``rtsp_server.py --clock``; frames must be at least 320 pixels wide), for measuring the live
    view's glass-to-glass delay.

    Example::

        with Simulator([SimulatedCamera("gate", Path("gate.avi"))]) as sim:
            container = av.open(sim.url("gate"), options={"rtsp_transport": "tcp"})
    """

    def __init__(
        self,
        cameras: Sequence[SimulatedCamera],
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        gop_seconds: float = 2.0,
        user: str | None = None,
        password: str | None = None,
        python: str = SYSTEM_PYTHON,
        memory_loop_mb: int = 32,
        clock: bool = False,
    ) -> None:
        check_cameras(cameras)
        if (user is None) != (password is None):
            raise ValueError("user and password go together")
        if gop_seconds <= 0:
            raise ValueError(f"gop_seconds must be positive, not {gop_seconds}")
        self.cameras = tuple(cameras)
        self.host = host
        self.port = port or free_port(host)
        self.gop_seconds = gop_seconds
        self.user = user
        self.password = password
        self.python = python
        self.memory_loop_mb = memory_loop_mb
        self.clock = clock
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def url(self, name: str) -> str:
        """The RTSP URL of camera ``name``, with credentials when the server asks for them."""
        if name not in {camera.name for camera in self.cameras}:
            raise KeyError(f"no simulated camera named {name!r}")
        credentials = ""
        if self.user is not None and self.password is not None:
            credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}@"
        return f"rtsp://{credentials}{self.host}:{self.port}/{name}"

    def start(self, timeout_s: float = 20.0) -> None:
        """Starts the server and returns once every camera is served.

        Raises:
            SimulatorError: a footage file is missing, or the server exited or did not get
                ready within ``timeout_s``; the message holds the tail of its stderr.
        """
        if self.running():
            raise SimulatorError(f"the simulator on port {self.port} is already running")
        for camera in self.cameras:
            if not camera.path.is_file():
                raise SimulatorError(
                    f"camera {camera.name}: footage file {camera.path} does not exist or is not a file"
                )
        self._close_log()
        # Outlives the server so that its tail can be read; closed at the next start or on exit.
        self._stderr = tempfile.TemporaryFile(prefix="matakota-rtsp-", suffix=".log")  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                self._command(),
                # stdin stays an open pipe: the server quits when it closes, so a test run that
                # dies without calling stop() still leaks no server.
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=system_python_env(),
                start_new_session=True,  # Ctrl-C in a terminal reaches only us; we stop the server
            )
        except OSError as err:
            raise SimulatorError(f"cannot run {self.python}: {err}; {install_hint()}") from err
        try:
            self._wait_ready(timeout_s)
        except SimulatorError:
            self.stop()
            raise

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stops the server: SIGTERM, then SIGKILL after ``timeout_s``. Safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout_s)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        """Stops the server and releases its log; ``stderr_tail`` is empty afterwards."""
        self.stop()
        self._close_log()

    def restart(self, timeout_s: float = 20.0) -> None:
        """Stops the server and starts it again on the same port (a camera reboot)."""
        self.stop()
        self.start(timeout_s)

    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def stderr_tail(self, max_chars: int = STDERR_TAIL_CHARS) -> str:
        """The end of the server's stderr (its log), for error messages and debugging."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        size = self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, size - max_chars))
        return self._stderr.read().decode(errors="replace")

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()  # __exit__ will not run
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _command(self) -> list[str]:
        command = [self.python, str(SERVER_SCRIPT), "--port", str(self.port), "--host", self.host]
        command += ["--gop-seconds", str(self.gop_seconds), "--memory-loop-mb", str(self.memory_loop_mb)]
        command.append("--exit-with-stdin")
        if self.clock:
            command.append("--clock")
        if self.user is not None and self.password is not None:
            command += ["--user", self.user, "--password", self.password]
        return command + [f"{camera.name}={camera.path}" for camera in self.cameras]

    def _wait_ready(self, timeout_s: float) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        deadline = time.monotonic() + timeout_s
        received = b""
        while b"\n" not in received:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SimulatorError(self._failure(f"not ready after {timeout_s:.0f} s"))
            readable, _, _ = select.select([process.stdout], [], [], min(left, 0.2))
            chunk = os.read(process.stdout.fileno(), 4096) if readable else b""
            if readable and not chunk:  # stdout closed: the server has exited
                process.wait(timeout=5)
                raise SimulatorError(self._failure(f"exited with status {process.returncode}"))
            received += chunk
        if not received.startswith(b"READY "):
            raise SimulatorError(self._failure(f"said {received!r} instead of READY"))

    def _failure(self, what: str) -> str:
        names = ", ".join(f"{camera.name}={camera.path}" for camera in self.cameras)
        return f"RTSP camera simulator on port {self.port} ({names}) {what}:\n{self.stderr_tail()}"

    def _close_log(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def check_cameras(cameras: Sequence[SimulatedCamera]) -> None:
    """Raises ValueError unless there is at least one camera and every name is valid and unique."""
    if not cameras:
        raise ValueError("a simulator needs at least one camera")
    names = [camera.name for camera in cameras]
    invalid = [name for name in names if not NAME_PATTERN.match(name)]
    if invalid:
        raise ValueError(f"camera names {invalid} must match {NAME_PATTERN.pattern}")
    if len(set(names)) != len(names):
        raise ValueError(f"camera names must be unique: {names}")
