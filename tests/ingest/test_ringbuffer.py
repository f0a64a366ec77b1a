"""The packet ring buffer keeps whole GOPs for its age limit and cuts windows from a keyframe."""

from __future__ import annotations

from ingest.ringbuffer import BufferedPacket, PacketRing, StreamParams

PARAMS = StreamParams("h264", 320, 240, 1, 90000, b"\x00\x00\x00\x01g")


def _feed(ring: PacketRing, seconds: float, *, fps: int = 10, gop: int = 10, epoch: int = 1, t0: float = 0.0) -> None:
    for i in range(int(seconds * fps)):
        ts = t0 + i / fps
        ring.append(BufferedPacket(b"x" * 100, i * 9000, i * 9000, i % gop == 0, ts, epoch))


def test_buffer_starts_at_a_keyframe_and_drops_whole_gops() -> None:
    ring = PacketRing(max_age_s=3.0)
    _feed(ring, 10)
    assert 3.0 <= ring.duration_s < 4.0 + 1e-9
    assert ring.window(0, 100)[0].is_keyframe


def test_packets_before_the_first_keyframe_are_ignored() -> None:
    ring = PacketRing(max_age_s=3.0)
    ring.append(BufferedPacket(b"p", 0, 0, False, 0.0, 1))
    assert len(ring) == 0
    ring.append(BufferedPacket(b"k", 1, 1, True, 0.1, 1))
    assert len(ring) == 1


def test_window_starts_at_the_last_keyframe_before_its_start() -> None:
    ring = PacketRing(max_age_s=30.0)
    _feed(ring, 10)  # keyframes at 0, 1, 2, ... s
    packets = ring.window(3.5, 6.0)
    assert packets[0].is_keyframe and packets[0].arrival_ts == 3.0
    assert packets[-1].arrival_ts <= 6.0
    assert len(packets) == 31  # 3.0 .. 6.0 at 10 fps


def test_window_older_than_the_buffer_starts_at_its_first_keyframe() -> None:
    ring = PacketRing(max_age_s=2.0)
    _feed(ring, 10)
    packets = ring.window(0.0, 100.0)
    assert packets[0].arrival_ts >= 7.0 and packets[0].is_keyframe


def test_window_never_mixes_two_connections() -> None:
    ring = PacketRing(max_age_s=60.0)
    ring.set_params(1, PARAMS)
    _feed(ring, 3, epoch=1)
    ring.set_params(2, PARAMS)
    _feed(ring, 3, epoch=2, t0=5.0)
    packets = ring.window(1.0, 7.0)
    assert {p.epoch for p in packets} == {2}
    assert ring.params(2) == PARAMS


def test_byte_limit_bounds_memory() -> None:
    ring = PacketRing(max_age_s=3600.0, max_bytes=5_000)
    _feed(ring, 20)
    assert ring.size_bytes <= 5_000
    assert ring.window(0, 100)[0].is_keyframe


def test_empty_buffer_gives_an_empty_window() -> None:
    assert PacketRing(5.0).window(0, 10) == []
