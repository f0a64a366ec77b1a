"""A real webhook receiver on 127.0.0.1 for the tests: it answers each POST as its script says, then accepts."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What the receiver does with a request: answer with a status, hang up, answer too late, redirect.
OK, ERROR, HANG_UP, SLOW, REDIRECT = "ok", "500", "hang_up", "slow", "redirect"
SLOW_S = 1.5  # longer than the tests' client timeout


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: str


@dataclass
class Receiver:
    """A threaded HTTP server; ``script`` is consumed one action per request, ``ok`` once it is empty."""

    script: list[str] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    action = receiver.script.pop(0) if receiver.script else OK
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body, action))
                if action == HANG_UP:
                    self.close_connection = True  # no answer at all: the client sees the connection close
                    return
                if action == SLOW:
                    time.sleep(SLOW_S)
                status = {OK: 204, ERROR: 500, SLOW: 200, REDIRECT: 302}[action]
                self.send_response(status)
                if action == REDIRECT:
                    self.send_header("Location", "http://elsewhere.invalid/hook")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        """The requests, once there are at least ``count`` (fails after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"receiver got {len(self.requests)} request(s), expected {count}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
