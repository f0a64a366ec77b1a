"""Frame slots: the newest frame crosses processes through shared memory, with no lock to die holding."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import numpy as np

from ingest.frameslots import FrameSlots, capacity_for


def _frame(value: int, size: tuple[int, int] = (32, 24)) -> np.ndarray:
    width, height = size
    return np.full((height, width, 3), value, np.uint8)


def test_the_reader_gets_the_newest_frame_and_counts_the_ones_it_missed(tmp_path: Path) -> None:
    writer = FrameSlots.create(tmp_path / "cam.frames", "cam", capacity_for(64))
    reader = FrameSlots.attach(tmp_path / "cam.frames", "cam")
    assert reader.get_latest() is None
    writer.put(_frame(10), 1001.0)
    first = reader.get_latest()
    assert first is not None and first.seq == 1 and int(first.image[0, 0, 0]) == 10
    assert first.captured_ts == 1001.0 and first.image.shape == (24, 32, 3)
    assert reader.get_latest() is None  # nothing new
    for value in (11, 12, 13):
        writer.put(_frame(value), 1002.0)
    newest = reader.get_latest()
    assert newest is not None and int(newest.image[0, 0, 0]) == 13
    assert writer.dropped == 2  # 11 and 12 were never read: the camera reports them


def test_a_frame_too_large_for_its_slot_is_scaled_down_to_fit(tmp_path: Path) -> None:
    slots = FrameSlots.create(tmp_path / "cam.frames", "cam", capacity_for(160))
    slots.put(_frame(50, size=(640, 480)), 1.0)
    frame = slots.get_latest()
    assert frame is not None and frame.image.shape[1] <= 160 and frame.image.nbytes <= slots.capacity


def test_a_restarted_writer_continues_where_the_dead_one_stopped(tmp_path: Path) -> None:
    path = tmp_path / "cam.frames"
    FrameSlots.create(path, "cam", capacity_for(64))
    reader = FrameSlots.attach(path, "cam")
    FrameSlots.attach(path, "cam").put(_frame(1), 1.0)
    assert reader.get_latest() is not None
    FrameSlots.attach(path, "cam").put(_frame(2), 2.0)  # a new incarnation of the camera process
    frame = reader.get_latest()
    assert frame is not None and int(frame.image[0, 0, 0]) == 2


def _write_forever(path: Path) -> None:
    slots = FrameSlots.attach(path, "cam")
    value = 0
    while True:
        value = (value + 1) % 250
        slots.put(_frame(value, size=(320, 240)), time.time())


def test_a_writer_killed_mid_write_never_blocks_or_corrupts_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "cam.frames"
    FrameSlots.create(path, "cam", capacity_for(320))
    reader = FrameSlots.attach(path, "cam")
    for _ in range(3):
        process = mp.get_context("spawn").Process(target=_write_forever, args=(path,))
        process.start()
        deadline = time.monotonic() + 20
        while reader.get_latest() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert process.pid is not None
        os.kill(process.pid, signal.SIGKILL)  # wherever it is, even halfway through a frame
        process.join(5)
        start = time.monotonic()
        frame = reader.get_latest()
        assert time.monotonic() - start < 0.5
        if frame is not None:  # a complete frame, never a torn one: every pixel has one value
            assert len(np.unique(frame.image)) == 1
