"""Logging setup: one line per record, credentials redacted from every URL."""

from __future__ import annotations

import logging
import sys

from core.redact import redact_url

_FORMAT = "%(asctime)s %(levelname)-7s %(processName)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """A formatter that strips credentials from URLs in the final text, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_url(super().format(record))


def setup_logging(level: str = "INFO") -> None:
    """Send every log record to stderr through the redacting formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aioice", "aiortc", "libav", "ultralytics"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
