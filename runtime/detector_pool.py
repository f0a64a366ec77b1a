"""A pool of detector processes fed from one bounded request queue, batching frames that wait together.

The queue lives in the analytics process; each worker pulls from it through its own pipe: when a
worker is idle, the dispatcher thread hands it up to ``batch_size`` requests, waiting at most
``max_wait_ms`` for a batch to fill. A worker groups its batch by (model, imgsz, confidence) and
calls :meth:`Detector.detect` once per group. Images are copied once into the worker's inbox, a
shared-memory file of ``batch_size`` frame slots that the dispatcher writes only while the worker
is idle; only their shapes cross the pipe (an image too large for a slot goes through the pipe as
a pickle protocol 5 out-of-band buffer: a 1280x720 frame measured 0.1 ms into the inbox, 6 ms
through the pipe). Like every link in this project (see :mod:`runtime.ipc`), no lock is shared
between processes: a ``multiprocessing.Queue``'s lock would be left held by a worker killed inside
``get()`` and block every other worker for good. A worker that dies is restarted with backoff; its
requests are answered as dropped, and every request has a deadline, so the caller never waits
forever.
"""

from __future__ import annotations

import logging
import mmap
import multiprocessing as mp
import os
import pickle
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import numpy as np

from analytics.detections import Detections
from core.backoff import Backoff
from core.config import DetectorsConfig
from core.messages import Image
from core.settings import Settings
from ingest.frameslots import capacity_for, default_directory
from runtime.ipc import describe_exit

logger = logging.getLogger(__name__)

HEALTHY_AFTER_S = 60.0  # a worker that ran this long restarts its backoff from the beginning
READY_TIMEOUT_S = 120.0  # model loading at start
POLL_S = 0.1  # the dispatcher checks deadlines and restarts at least this often
_NO_IMAGE = np.zeros((0,), np.uint8)  # stands for an image that travels in the worker's inbox


@dataclass(frozen=True)
class DetectRequest:
    """One frame to detect on, with the settings of its camera."""

    request_id: int
    camera_id: str
    seq: int
    model: str
    imgsz: int
    confidence: float
    image: Image


@dataclass(frozen=True)
class DetectResult:
    """The answer to one request; ``detections`` is None when it was dropped (see ``error``)."""

    request_id: int
    camera_id: str
    seq: int
    detections: Detections | None
    inference_ms: float = 0.0  # this frame's share of its detector call
    batch: int = 0  # frames in that call
    error: str | None = None


@dataclass
class PoolStats:
    """Counts since the pool started."""

    submitted: int = 0
    answered: int = 0
    rejected: int = 0  # the queue was full
    dropped: int = 0  # worker died, failed, or the deadline passed
    late: int = 0  # answers that came after their deadline (discarded)
    batches: int = 0
    max_batch: int = 0
    restarts: int = 0


@dataclass
class _Pending:
    request: DetectRequest
    deadline: float
    queued_at: float


@dataclass
class _Worker:
    index: int
    process: BaseProcess | None = None
    conn: Connection | None = None
    ready: bool = False
    busy: dict[int, _Pending] = field(default_factory=dict)  # requests of its batch not answered or expired
    working: bool = False  # a batch was sent and not answered: its inbox must not be written
    inbox: mmap.mmap | None = None
    inbox_path: Path | None = None
    started_at: float = 0.0
    next_start_at: float = 0.0
    backoff: Backoff = field(default_factory=lambda: Backoff(initial_s=1.0, max_s=30.0))


class DetectorPool:
    """``config.workers`` detector processes serving ``models`` (name → (weights, task)) for every camera."""

    def __init__(
        self,
        config: DetectorsConfig,
        settings: Settings,
        models: dict[str, tuple[Path, str]],
        *,
        queue_size: int = 64,
        imgsz: Iterable[int] = (640,),
        frame_bytes: int = capacity_for(1280),
    ) -> None:
        self.config = config
        self.settings = settings
        self.models = models
        self.imgsz = tuple(sorted(set(imgsz)))
        self.queue_size = queue_size
        self.frame_bytes = frame_bytes
        self._spawned = 0
        self.stats = PoolStats()
        self.results: queue.Queue[DetectResult] = queue.Queue()  # bounded by queue_size + requests in flight
        self._ctx = mp.get_context("spawn")
        self._queue: deque[_Pending] = deque()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = mp.Pipe(duplex=False)
        self._stop = threading.Event()
        self._workers = [_Worker(i) for i in range(config.workers)]
        self._thread = threading.Thread(target=self._dispatch_forever, name="detector-pool", daemon=True)

    # -- the caller's side ------------------------------------------------------------------------

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Start the workers and wait until each has loaded its models.

        Raises:
            TimeoutError: when a worker is not ready within ``timeout_s``.
        """
        for worker in self._workers:
            self._spawn(worker)
        deadline = time.monotonic() + timeout_s
        for worker in self._workers:
            assert worker.conn is not None
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                self.stop()
                raise TimeoutError(f"detector worker {worker.index} not ready within {timeout_s:.0f} s")
            self._receive(worker)
        self._thread.start()

    def submit(self, request: DetectRequest) -> bool:
        """Queue ``request``; False (and counted) when the queue is full: the frame is dropped."""
        now = time.monotonic()
        with self._lock:
            if len(self._queue) >= self.queue_size:
                self.stats.rejected += 1
                return False
            self._queue.append(_Pending(request, now + self.config.timeout_s, now))
            self.stats.submitted += 1
        self._wake_w.send_bytes(b"")  # the dispatcher may be waiting for work
        return True

    def waiting(self, model: str | None = None) -> int:
        """Requests queued and not yet handed to a worker (for ``model``, or all)."""
        with self._lock:
            return sum(1 for p in self._queue if model is None or p.request.model == model)

    def in_flight(self) -> int:
        """Requests handed to workers and not answered yet."""
        return sum(len(w.busy) for w in self._workers)

    def alive(self) -> int:
        """Workers running now."""
        return sum(1 for w in self._workers if w.process is not None and w.process.is_alive())

    def pids(self) -> list[int]:
        """The running workers' process ids."""
        return [w.process.pid for w in self._workers if w.process is not None and w.process.pid is not None]

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the dispatcher and every worker (SIGTERM, then SIGKILL); queued requests are dropped."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake_w.send_bytes(b"")
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        deadline = time.monotonic() + timeout_s
        for worker in self._workers:
            if worker.process is not None and worker.process.is_alive():
                worker.process.terminate()
        for worker in self._workers:
            if worker.process is None:
                continue
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                logger.warning("detector worker %d did not stop in time; killing it", worker.index)
                worker.process.kill()
                worker.process.join(2)
            self._close(worker)
        self._wake_r.close()
        self._wake_w.close()

    # -- the dispatcher thread --------------------------------------------------------------------

    def _dispatch_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self._restart_due()
                next_batch_s = self._dispatch()
                self._expire()
                objects: list[Any] = [self._wake_r]
                for worker in self._workers:
                    if worker.process is not None and worker.conn is not None:
                        objects += [worker.conn, worker.process.sentinel]
                timeout = POLL_S if next_batch_s is None else min(POLL_S, next_batch_s)
                for ready in wait(objects, timeout):
                    self._handle(ready)
            except Exception:  # loop boundary: the pool must outlive one bad message
                logger.exception("detector pool: dispatch failed")
                self._stop.wait(POLL_S)

    def _handle(self, ready: Any) -> None:
        if ready is self._wake_r:
            while self._wake_r.poll():
                self._wake_r.recv_bytes()
            return
        for worker in self._workers:
            if worker.process is None:
                continue
            if ready is worker.conn:
                self._receive(worker)
                return
            if ready == worker.process.sentinel:
                self._died(worker)
                return

    def _dispatch(self) -> float | None:
        """Hand full batches (or ones that waited ``max_wait_ms``) to idle workers; seconds until the next is due."""
        max_wait_s = self.config.max_wait_ms / 1000
        for worker in self._workers:
            if not worker.ready or worker.working:
                continue
            with self._lock:
                if not self._queue:
                    return None
                waited = time.monotonic() - self._queue[0].queued_at
                if len(self._queue) < self.config.batch_size and waited < max_wait_s:
                    return max_wait_s - waited
                size = min(self.config.batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(size)]
            self._send(worker, batch)
        return None

    def _send(self, worker: _Worker, batch: list[_Pending]) -> None:
        assert worker.conn is not None and worker.inbox is not None
        worker.busy = {p.request.request_id: p for p in batch}
        worker.working = True
        self.stats.batches += 1
        self.stats.max_batch = max(self.stats.max_batch, len(batch))
        items: list[tuple[DetectRequest, tuple[int, tuple[int, ...]] | None]] = []
        for slot, pending in enumerate(batch):
            image = pending.request.image
            if image.dtype != np.uint8 or image.nbytes > self.frame_bytes:
                items.append((pending.request, None))  # too large for a slot: through the pipe
                continue
            offset = slot * self.frame_bytes
            np.ndarray(image.shape, np.uint8, worker.inbox, offset)[...] = image
            items.append((replace(pending.request, image=_NO_IMAGE), (offset, image.shape)))
        buffers: list[pickle.PickleBuffer] = []
        header = pickle.dumps(items, protocol=5, buffer_callback=buffers.append)
        try:
            worker.conn.send_bytes(len(buffers).to_bytes(4, "little") + header)
            for buffer in buffers:
                worker.conn.send_bytes(buffer.raw())
        except OSError as err:  # it died: its sentinel will say so, and _died answers the batch
            logger.warning("detector worker %d: cannot send a batch: %s", worker.index, err)

    def _receive(self, worker: _Worker) -> None:
        assert worker.conn is not None
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            return  # it died; its sentinel will say so
        if message == "ready":
            worker.ready = True
            if worker.inbox_path is not None:
                worker.inbox_path.unlink(missing_ok=True)  # both have it mapped: nothing to clean up after a crash
            return
        now = time.monotonic()
        results: list[DetectResult] = message
        for result in results:
            pending = worker.busy.pop(result.request_id, None)
            if pending is None:
                self.stats.late += 1  # answered as dropped when its deadline passed
                continue
            if result.detections is None:
                self.stats.dropped += 1
            else:
                self.stats.answered += 1
            self.results.put(result)
        worker.busy.clear()  # a batch is answered whole; anything missing would be a bug in the worker
        worker.working = False
        if now - worker.started_at > HEALTHY_AFTER_S:
            worker.backoff.reset()

    def _expire(self) -> None:
        now = time.monotonic()
        expired: list[_Pending] = []
        with self._lock:
            while self._queue and self._queue[0].deadline <= now:
                expired.append(self._queue.popleft())
        for worker in self._workers:
            for request_id, pending in list(worker.busy.items()):
                if pending.deadline <= now:
                    expired.append(worker.busy.pop(request_id))
        for pending in expired:
            self._drop(pending, "deadline passed")
        if expired:
            logger.warning("detector pool: %d request(s) passed their deadline and were dropped", len(expired))

    def _drop(self, pending: _Pending, why: str) -> None:
        self.stats.dropped += 1
        request = pending.request
        self.results.put(DetectResult(request.request_id, request.camera_id, request.seq, None, error=why))

    def _died(self, worker: _Worker) -> None:
        assert worker.process is not None
        worker.process.join(1)  # its sentinel can fire before the exit status can be collected
        exitcode = worker.process.exitcode
        lost = list(worker.busy.values())
        worker.busy.clear()
        worker.working = False
        for pending in lost:
            self._drop(pending, f"detector worker {worker.index} died")
        delay = worker.backoff.next_delay_s()
        logger.error(
            "detector worker %d (pid %s) exited with %s; %d request(s) dropped; restart in %.1f s",
            worker.index, worker.process.pid, describe_exit(exitcode), len(lost), delay,
        )  # fmt: skip
        self._close(worker)
        worker.next_start_at = time.monotonic() + delay

    def _restart_due(self) -> None:
        now = time.monotonic()
        for worker in self._workers:
            if worker.process is None and now >= worker.next_start_at:
                self.stats.restarts += 1
                self._spawn(worker)

    def _spawn(self, worker: _Worker) -> None:
        parent_end, child_end = self._ctx.Pipe(duplex=True)
        self._spawned += 1
        path = default_directory() / f"detector-{os.getpid()}-{worker.index}-{self._spawned}.inbox"
        path.parent.mkdir(parents=True, exist_ok=True)
        size = self.config.batch_size * self.frame_bytes
        with path.open("w+b") as handle:
            os.posix_fallocate(handle.fileno(), 0, size)
            worker.inbox = mmap.mmap(handle.fileno(), size)
        worker.inbox_path = path
        args = (worker.index, self.models, self.imgsz, child_end, self.settings, path)
        process = self._ctx.Process(target=worker_main, args=args, name=f"detector-{worker.index}", daemon=True)
        process.start()
        child_end.close()  # only the worker holds it now, so its death ends the pipe
        worker.process, worker.conn, worker.ready = process, parent_end, False
        worker.started_at = time.monotonic()
        logger.info("started detector worker %d (pid %s)", worker.index, process.pid)

    def _close(self, worker: _Worker) -> None:
        if worker.conn is not None:
            worker.conn.close()
        if worker.process is not None:
            worker.process.join(0)
            worker.process.close()
        if worker.inbox is not None:
            worker.inbox.close()
        if worker.inbox_path is not None:
            worker.inbox_path.unlink(missing_ok=True)
        worker.process, worker.conn, worker.ready, worker.working = None, None, False, False
        worker.inbox, worker.inbox_path = None, None


# -- the worker process -------------------------------------------------------------------------


def worker_main(
    index: int,
    models: dict[str, tuple[Path, str]],
    imgsz: tuple[int, ...],
    conn: Connection,
    settings: Settings,
    inbox_path: Path,
) -> None:
    """One detector process: load every model once, then answer batches until the pipe ends."""
    from core.logging import setup_logging
    from core.settings import prepare_ultralytics

    setup_logging(settings.log_level, fmt=settings.log_format)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's; SIGTERM ends us at once
    with inbox_path.open("r+b") as handle:
        inbox = mmap.mmap(handle.fileno(), 0)
    prepare_ultralytics(settings)
    from analytics.detector import Detector

    detectors = {name: Detector(path, task=task) for name, (path, task) in models.items()}
    for detector in detectors.values():
        for size in imgsz:
            detector.warm_up(size)
    try:
        conn.send("ready")
    except (BrokenPipeError, EOFError):
        return  # the analytics process went away while the models loaded
    while True:
        try:
            requests = _receive_batch(conn, inbox)
        except (EOFError, OSError):
            return  # the analytics process is gone or closed the pipe: nothing left to serve
        try:
            conn.send(_detect(detectors, requests))
        except (BrokenPipeError, EOFError):
            return


def _receive_batch(conn: Connection, inbox: mmap.mmap) -> list[DetectRequest]:
    """The next batch; images in the inbox are views of it (read before the batch is answered)."""
    data = conn.recv_bytes()
    count = int.from_bytes(data[:4], "little")
    buffers = [conn.recv_bytes() for _ in range(count)]
    items: list[tuple[DetectRequest, tuple[int, tuple[int, ...]] | None]]
    items = pickle.loads(memoryview(data)[4:], buffers=buffers)  # noqa: S301  # our own pipe
    requests = []
    for request, where in items:
        if where is not None:
            offset, shape = where
            request = replace(request, image=np.ndarray(shape, np.uint8, inbox, offset))
        requests.append(request)
    return requests


def _detect(detectors: dict[str, Any], requests: list[DetectRequest]) -> list[DetectResult]:
    """One detector call per (model, imgsz, confidence) group, the answers in the requests' order."""
    groups: dict[tuple[str, int, float], list[DetectRequest]] = {}
    for request in requests:
        groups.setdefault((request.model, request.imgsz, request.confidence), []).append(request)
    answers: dict[int, DetectResult] = {}
    for (model, imgsz, confidence), group in groups.items():
        try:
            detector = detectors[model]
            found = detector.detect([r.image for r in group], imgsz=imgsz, confidence=confidence)
            for request, detections in zip(group, found, strict=True):
                answers[request.request_id] = DetectResult(
                    request.request_id, request.camera_id, request.seq, detections,
                    detector.last_inference_ms, len(group),
                )  # fmt: skip
        except Exception as err:  # loop boundary: a bad frame or model fails its group, not the worker
            logger.exception("%s: detection failed for %d frame(s)", group[0].camera_id, len(group))
            for request in group:
                answers[request.request_id] = DetectResult(
                    request.request_id, request.camera_id, request.seq, None, error=repr(err)
                )
    return [answers[r.request_id] for r in requests]
