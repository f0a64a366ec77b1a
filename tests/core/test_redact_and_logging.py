"""Credentials never reach a log line, text or JSON; the camera comes first; backoff delays grow and jitter."""

from __future__ import annotations

import json
import logging
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from core.backoff import Backoff
from core.logging import JsonFormatter, RedactingFormatter, TextFormatter, setup_logging
from core.redact import redact_url
from core.settings import Settings


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


def _record(
    msg: str, *args: object, camera: str | None = None, failure: BaseException | None = None
) -> logging.LogRecord:
    record = logging.LogRecord("ingest.worker", logging.WARNING, __file__, 1, msg, args, None)
    if camera is not None:
        record.camera = camera
    if failure is not None:
        try:
            raise failure
        except BaseException:
            record.exc_info = sys.exc_info()
    return record


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Give the root logger its handlers and level back after a test that sets logging up."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_hold_their_keys_in_order_with_the_camera_first_after_the_level() -> None:
    line = JsonFormatter().format(_record("stream stalled for %.1f s", 4.0, camera="ampera"))
    assert "\n" not in line
    entry = json.loads(line)
    assert list(entry) == ["ts", "level", "camera", "process", "logger", "msg"]
    assert entry["camera"] == "ampera" and entry["level"] == "WARNING" and entry["logger"] == "ingest.worker"
    assert entry["msg"] == "stream stalled for 4.0 s"
    assert entry["process"] == "MainProcess"
    stamp = datetime.fromisoformat(entry["ts"])
    assert stamp.utcoffset() == UTC.utcoffset(None) and entry["ts"].endswith("Z")
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60


def test_json_lines_redact_credentials_in_the_message_and_the_traceback() -> None:
    failure = OSError("cannot open rtsp://admin:hunter2@10.1.1.1/stream")
    line = JsonFormatter().format(_record("open %s failed", "rtsp://user:pass@host/ch1", failure=failure))
    entry = json.loads(line)
    assert list(entry) == ["ts", "level", "process", "logger", "msg", "exc"]  # no camera known: no key
    assert entry["msg"] == "open rtsp://***:***@host/ch1 failed"
    assert "Traceback" in entry["exc"] and "rtsp://***:***@10.1.1.1/stream" in entry["exc"]
    assert "hunter2" not in line and "pass" not in line


def test_the_process_camera_names_every_line_unless_the_record_names_its_own() -> None:
    formatter = JsonFormatter(camera="simpang_lima")
    assert json.loads(formatter.format(_record("connected")))["camera"] == "simpang_lima"
    assert json.loads(formatter.format(_record("clip cut", camera="ampera")))["camera"] == "ampera"


@pytest.mark.parametrize(
    ("process_camera", "record_camera", "expected"),
    [
        (None, None, "WARNING MainProcess ingest.worker: connected to rtsp://***:***@h/x"),
        ("ampera", None, "WARNING camera=ampera MainProcess ingest.worker: connected to rtsp://***:***@h/x"),
        (
            "ampera",
            "simpang_lima",
            "WARNING camera=simpang_lima MainProcess ingest.worker: connected to rtsp://***:***@h/x",
        ),
    ],
)
def test_text_lines_put_the_camera_right_after_the_level(
    process_camera: str | None, record_camera: str | None, expected: str
) -> None:
    record = _record("connected to %s", "rtsp://u:pw@h/x", camera=record_camera)
    line = TextFormatter(camera=process_camera).format(record)
    _date, _time, rest = line.split(" ", 2)
    assert rest == expected


@pytest.mark.usefixtures("root_logging")
def test_setup_logging_in_json_names_the_process_camera_and_redacts(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", camera="simpang_lima", fmt="json")
    log = logging.getLogger("ingest.worker")
    log.info("reconnecting to %s", "rtsp://user:pass@10.0.0.7/ch1")
    log.debug("not at INFO")
    try:
        raise ConnectionError("rtsp://user:pass@10.0.0.7/ch1 refused")
    except ConnectionError:
        log.exception("open failed", extra={"camera": "ampera"})
    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [(e["camera"], e["level"]) for e in entries] == [("simpang_lima", "INFO"), ("ampera", "ERROR")]
    assert entries[0]["msg"] == "reconnecting to rtsp://***:***@10.0.0.7/ch1"
    assert "rtsp://***:***@10.0.0.7/ch1 refused" in entries[1]["exc"]
    assert "pass@" not in "".join(lines)


@pytest.mark.usefixtures("root_logging")
def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        setup_logging("INFO", fmt="xml")


def test_the_log_format_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MATAKOTA_LOG_FORMAT", raising=False)
    assert Settings().log_format == "text"
    monkeypatch.setenv("MATAKOTA_LOG_FORMAT", "json")
    assert Settings().log_format == "json"
