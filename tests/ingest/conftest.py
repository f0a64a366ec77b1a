"""Fixtures of the ingest tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ingest.workers import RunningWorker, running_workers


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[..., RunningWorker]]:
    """Start camera workers in threads (``running(camera, segments=None)``); all stop when the test ends."""
    yield from running_workers(tmp_path)
