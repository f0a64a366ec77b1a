"""Logging setup: one line per record, as text or JSON, the camera first, credentials redacted from every URL."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from core.redact import redact_url

LOG_FORMATS = ("text", "json")

_FORMAT = "%(asctime)s %(levelname)-7s %(processName)s %(name)s: %(message)s"
_CAMERA_FORMAT = "%(asctime)s %(levelname)-7s camera=%(camera)s %(processName)s %(name)s: %(message)s"


def record_camera(record: logging.LogRecord, default: str | None = None) -> str | None:
    """The camera a record is about: its ``extra={"camera": id}``, else ``default`` (the process's camera)."""
    camera = getattr(record, "camera", None)
    return default if camera is None else str(camera)


class RedactingFormatter(logging.Formatter):
    """A formatter that strips credentials from URLs in the final text, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_url(super().format(record))


class TextFormatter(RedactingFormatter):
    """``time level camera=<id> process logger: message``; ``camera=`` only when the camera is known."""

    def __init__(self, camera: str | None = None) -> None:
        super().__init__(_FORMAT)
        self.camera = camera

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        camera = record_camera(record, self.camera)
        if camera is None:
            return super().formatMessage(record)
        return _CAMERA_FORMAT % {**record.__dict__, "camera": camera}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``camera`` (when known), ``process``, ``logger``, ``msg``, ``exc``.

    Every text field is redacted before it is encoded, so no credential reaches the line.
    """

    def __init__(self, camera: str | None = None) -> None:
        super().__init__()
        self.camera = camera

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "ts": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
        }
        camera = record_camera(record, self.camera)
        if camera is not None:
            entry["camera"] = camera
        entry["process"] = record.processName
        entry["logger"] = record.name
        entry["msg"] = redact_url(record.getMessage())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        trace = "\n".join(part for part in (record.exc_text, record.stack_info) if part)
        if trace:
            entry["exc"] = redact_url(trace)
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_formatter(fmt: str | None = None, *, camera: str | None = None) -> logging.Formatter:
    """The formatter for ``fmt`` (``text``, the default, or ``json``).

    Raises:
        ValueError: for any other format.
    """
    if fmt is None or fmt == "text":
        return TextFormatter(camera)
    if fmt == "json":
        return JsonFormatter(camera)
    raise ValueError(f"unknown log format {fmt!r}: use one of {', '.join(LOG_FORMATS)}")


def setup_logging(level: str = "INFO", *, camera: str | None = None, fmt: str | None = None) -> None:
    """Send every log record to stderr, one line each, with credentials redacted.

    Args:
        level: the root level (``DEBUG``, ``INFO``, ...).
        camera: the camera this process serves (a camera process), named on every line that names none.
        fmt: ``text`` (the default) or ``json`` (one object per line, for a log collector).

    Raises:
        ValueError: for an unknown format.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(fmt, camera=camera))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aioice", "aiortc", "libav", "ultralytics"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
