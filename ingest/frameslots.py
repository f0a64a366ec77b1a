"""The newest frames of one camera in shared memory, exchanged without locks.

A camera process writes, the analytics process reads the newest frame. Nothing is ever locked,
so either side may crash (a decoder's SIGABRT, an OOM kill) at any instant without blocking the
other; a restarted writer or reader attaches to the same file and goes on. Frames the reader
never saw (it was slower than the camera's detection fps) are dropped and counted.

Layout of the file (little-endian), created once per camera by the supervisor:
    header  : magic, slots, capacity, write_seq, read_seq, dropped
    slot[i] : guard (odd while being written), seq, captured_ts, width, height, channels, data
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

import cv2
import numpy as np

from core.messages import Frame, Image

_MAGIC = 0x4D4B4653  # "MKFS"
_HEADER = struct.Struct("<IIQQQQ")  # magic, slots, capacity, write_seq, read_seq, dropped
_SLOT = struct.Struct("<QQdIII")  # guard, seq, captured_ts, width, height, channels
_HEADER_SIZE = 64
_SLOT_HEADER_SIZE = 64
_WRITE_SEQ, _READ_SEQ, _DROPPED = 16, 24, 32  # offsets of the header's counters
_U64 = struct.Struct("<Q")
_READ_ATTEMPTS = 3


def default_directory() -> Path:
    """RAM-backed /dev/shm when the system has it (so frames never touch a disk), else the temp dir."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(os.environ.get("TMPDIR", "/tmp"))
    return base / f"matakota-{os.getuid()}"


def capacity_for(max_width: int) -> int:
    """Bytes per slot for frames up to ``max_width`` wide and 4:3 (taller ones are scaled to fit)."""
    return max_width * (max_width * 3 // 4) * 3


class FrameSlots:
    """A few frame slots in a memory-mapped file; one writer process and one reader process."""

    def __init__(self, path: Path, handle: mmap.mmap, camera_id: str) -> None:
        self.path = path
        self.camera_id = camera_id
        self._map = handle
        magic, slots, capacity, *_ = _HEADER.unpack_from(handle, 0)
        self.slots: int = slots
        self.capacity: int = capacity
        if magic != _MAGIC:
            raise ValueError(f"{path} is not a frame slot file")
        self._last_read = self._get(_READ_SEQ)

    @classmethod
    def create(cls, path: Path, camera_id: str, capacity: int, slots: int = 2) -> FrameSlots:
        """Make (or reset) the file for one camera.

        Raises:
            OSError: when the file system has no room for it (checked now: a full tmpfs would
                otherwise kill the camera process with SIGBUS at its first frame).
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.write(_HEADER.pack(_MAGIC, slots, capacity, 0, 0, 0).ljust(_HEADER_SIZE, b"\0"))
            handle.flush()
            os.posix_fallocate(handle.fileno(), 0, _HEADER_SIZE + slots * (_SLOT_HEADER_SIZE + capacity))
        return cls.attach(path, camera_id)

    @classmethod
    def attach(cls, path: Path, camera_id: str) -> FrameSlots:
        """Open an existing file (in a camera or analytics process)."""
        with path.open("r+b") as handle:
            mapped = mmap.mmap(handle.fileno(), 0)
        return cls(path, mapped, camera_id)

    # -- writer side (the camera process) -------------------------------------------------------

    def put(self, image: Image, captured_ts: float) -> None:
        """Publish ``image`` as the newest frame; one too large for a slot is scaled down to fit."""
        image = self._fit(image)
        height, width = image.shape[:2]
        channels = image.shape[2] if image.ndim == 3 else 1
        seq = self._get(_WRITE_SEQ) + 1
        offset = self._slot_offset(seq)
        guard = _U64.unpack_from(self._map, offset)[0]
        _U64.pack_into(self._map, offset, guard | 1)  # odd: a reader must not trust this slot now
        data = offset + _SLOT_HEADER_SIZE
        # One copy, straight into the slot (``tobytes`` would make a second one first).
        slot = np.frombuffer(self._map, dtype=np.uint8, count=image.nbytes, offset=data)
        slot[:] = image.reshape(-1)
        _SLOT.pack_into(self._map, offset, guard | 1, seq, captured_ts, width, height, channels)
        _U64.pack_into(self._map, offset, (guard | 1) + 1)  # even again: complete
        self._set(_WRITE_SEQ, seq)

    def _fit(self, image: Image) -> Image:
        if image.nbytes <= self.capacity:
            return image
        scale = (self.capacity / image.nbytes) ** 0.5
        size = (max(2, int(image.shape[1] * scale) // 2 * 2), max(2, int(image.shape[0] * scale) // 2 * 2))
        return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)

    @property
    def dropped(self) -> int:
        """Frames the reader never took (written by the reader, read by the camera for its reports)."""
        return self._get(_DROPPED)

    # -- reader side (the analytics process) ----------------------------------------------------

    def get_latest(self) -> Frame | None:
        """The newest frame not read yet, or None; frames skipped over are counted as dropped."""
        for _ in range(_READ_ATTEMPTS):
            seq = self._get(_WRITE_SEQ)
            if seq <= self._last_read:
                if seq < self._last_read:  # the file was re-created: start over
                    self._last_read = 0
                return None
            frame = self._read(seq)
            if frame is None:
                continue  # the writer lapped this slot while it was being read: try the newer one
            if self._last_read:
                self._set(_DROPPED, self.dropped + seq - self._last_read - 1)
            self._last_read = seq
            self._set(_READ_SEQ, seq)
            return frame
        return None

    def _read(self, seq: int) -> Frame | None:
        offset = self._slot_offset(seq)
        guard, slot_seq, captured_ts, width, height, channels = _SLOT.unpack_from(self._map, offset)
        if guard & 1 or slot_seq != seq:
            return None
        data = offset + _SLOT_HEADER_SIZE
        shape = (height, width, channels) if channels > 1 else (height, width)
        count = width * height * channels
        image = np.frombuffer(self._map, np.uint8, count, data).reshape(shape).copy()
        if _U64.unpack_from(self._map, offset)[0] != guard:
            return None  # overwritten while copying
        return Frame(self.camera_id, seq, captured_ts, image)

    # -- both -------------------------------------------------------------------------------------

    def _slot_offset(self, seq: int) -> int:
        return _HEADER_SIZE + (seq % self.slots) * (_SLOT_HEADER_SIZE + self.capacity)

    def _get(self, offset: int) -> int:
        value: int = _U64.unpack_from(self._map, offset)[0]
        return value

    def _set(self, offset: int, value: int) -> None:
        _U64.pack_into(self._map, offset, value)

    def close(self) -> None:
        """Unmap the file (it stays for the other side)."""
        self._map.close()

    def unlink(self) -> None:
        """Remove the file (the supervisor, at shutdown)."""
        self.close()
        self.path.unlink(missing_ok=True)
