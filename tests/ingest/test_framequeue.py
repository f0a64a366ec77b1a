"""A full frame queue drops the oldest item and counts it; the producer never blocks."""

from __future__ import annotations

from ingest.framequeue import DropOldestQueue


def test_full_queue_drops_the_oldest_and_counts() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(maxsize=2)
    try:
        for i in range(5):
            q.put(i)
        got = [q.get(timeout_s=2), q.get(timeout_s=2)]
        assert got == [3, 4]
        assert q.dropped == 3
        assert q.get(0) is None
    finally:
        q.close()
