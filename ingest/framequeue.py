"""A bounded inter-process frame queue that drops the oldest frame when full, and counts drops."""

from __future__ import annotations

import multiprocessing as mp
import queue
from multiprocessing.context import BaseContext
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    """A slow consumer never stalls the producer: a full queue loses its oldest item instead.

    Drops are counted on the producer side (``dropped``), where the camera worker reports them.
    """

    def __init__(self, maxsize: int = 2, ctx: BaseContext | None = None) -> None:
        self._queue: mp.Queue[T] = (ctx or mp.get_context("spawn")).Queue(maxsize=maxsize)
        self.dropped = 0

    def put(self, item: T) -> None:
        """Add ``item``; if the queue is full, discard the oldest first."""
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass  # the consumer took one meanwhile: try again

    def get(self, timeout_s: float | None = None) -> T | None:
        """The oldest item, or ``None`` when nothing arrives within ``timeout_s`` (0 = don't wait)."""
        try:
            if timeout_s == 0:
                return self._queue.get_nowait()
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Release the queue's pipe and feeder thread."""
        self._queue.close()
        self._queue.cancel_join_thread()
