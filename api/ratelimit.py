"""An in-memory token bucket per client, for endpoints anyone may call (Open311 report intake)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import RateLimited


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``capacity`` requests at once per key, refilled at ``capacity`` per ``period_s``.

    In memory, per process: with several API processes each counts its own share. Only the
    ``max_keys`` most recently seen keys are remembered, so a flood of addresses cannot fill memory.
    """

    def __init__(
        self,
        capacity: int = 10,
        period_s: float = 60.0,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.rate = capacity / period_s
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def check(self, key: str) -> None:
        """Take one token of ``key``'s bucket.

        Raises:
            RateLimited: when the bucket is empty; ``retry_after_s`` is when a token is back.
        """
        with self._lock:
            now = self.clock()
            bucket = self._buckets.pop(key, None) or _Bucket(tokens=float(self.capacity), at=now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            self._buckets[key] = bucket  # most recently seen last
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            if bucket.tokens < 1:
                retry = max(1, math.ceil((1 - bucket.tokens) / self.rate))
                raise RateLimited(f"too many requests from this client: try again in {retry} s", retry)
            bucket.tokens -= 1
