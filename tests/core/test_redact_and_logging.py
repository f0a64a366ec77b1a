"""Credentials never reach a log line; backoff delays grow, jitter and stop at their ceiling."""

from __future__ import annotations

import logging
import random

import pytest

from core.backoff import Backoff
from core.logging import RedactingFormatter
from core.redact import redact_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rtsp://admin:s3cret@10.0.0.7:554/ch1", "rtsp://***:***@10.0.0.7:554/ch1"),
        ("rtsp://admin@10.0.0.7/ch1", "rtsp://***:***@10.0.0.7/ch1"),
        ("rtsp://10.0.0.7/ch1", "rtsp://10.0.0.7/ch1"),
        ("open 'rtsps://u:p%40ss@cam.local/a' failed", "open 'rtsps://***:***@cam.local/a' failed"),
        ("two: http://a:b@x/ and rtsp://c:d@y/", "two: http://***:***@x/ and rtsp://***:***@y/"),
    ],
)
def test_redact_url_removes_user_and_password(text: str, expected: str) -> None:
    assert redact_url(text) == expected


def test_log_lines_and_tracebacks_are_redacted() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise OSError("cannot open rtsp://admin:hunter2@10.1.1.1/stream")
    except OSError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "cam %s: %s", ("a", "rtsp://u:pw@h/x"), None)
        import sys

        record.exc_info = sys.exc_info()
    text = formatter.format(record)
    assert "hunter2" not in text and "pw@" not in text
    assert "rtsp://***:***@h/x" in text


def test_backoff_grows_to_its_ceiling_with_jitter_and_resets() -> None:
    backoff = Backoff(initial_s=1, max_s=8, rng=random.Random(7))
    delays = [backoff.next_delay_s() for _ in range(8)]
    ceilings = [1, 2, 4, 8, 8, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered: a hundred cameras do not retry in step
    backoff.reset()
    assert backoff.next_delay_s() <= 1
