"""Cut clips from buffered packets into MP4 by stream copy (no re-encode), written atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ingest.ringbuffer import BufferedPacket, StreamParams


@dataclass(frozen=True, slots=True)
class ClipInfo:
    """What was written."""

    path: Path
    start_ts: float
    duration_s: float
    frames: int
    size_bytes: int


def write_clip(packets: list[BufferedPacket], params: StreamParams, path: Path) -> ClipInfo:
    """Mux ``packets`` (starting at a keyframe) into an MP4 with ``faststart`` at ``path``.

    The file appears under its final name only when complete (temporary file, then rename).

    Raises:
        ValueError: when there is nothing to write or the first packet is not a keyframe.
    """
    if not packets or not packets[0].is_keyframe:
        raise ValueError("a clip must start at a keyframe")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    time_base = Fraction(params.time_base_num, params.time_base_den)
    base = packets[0].dts
    last_dts = None
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "faststart"}) as out:
            stream: Any = out.add_stream(params.codec)
            stream.codec_context.width = params.width
            stream.codec_context.height = params.height
            if params.extradata:
                stream.codec_context.extradata = params.extradata
            stream.time_base = time_base
            for item in packets:
                if last_dts is not None and item.dts <= last_dts:
                    continue  # the muxer needs strictly rising dts; a repeat is a network duplicate
                packet = av.Packet(item.data)
                packet.dts = item.dts - base
                packet.pts = max(item.pts, item.dts) - base
                packet.time_base = time_base
                packet.is_keyframe = item.is_keyframe
                packet.stream = stream
                out.mux(packet)
                last_dts = item.dts
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    duration = float((packets[-1].dts - base) * time_base)
    frame_s = duration / max(len(packets) - 1, 1)
    return ClipInfo(path, packets[0].arrival_ts, duration + frame_s, len(packets), path.stat().st_size)
