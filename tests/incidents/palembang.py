"""Real places in Palembang and cameras around Bundaran Air Mancur, for the correlation tests."""

from __future__ import annotations

import math

M_PER_DEG = 111_195.08  # metres per degree of latitude on the mean sphere
AIR_MANCUR = (-2.98867, 104.75996)  # Bundaran Air Mancur, in front of Masjid Agung
CHARITAS = (-2.97870, 104.75030)  # Simpang Charitas, 1.5 km north-west


def offset(origin: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    """A point ``north_m`` / ``east_m`` metres from ``origin`` (flat earth: fine over a few hundred metres)."""
    lat, lon = origin
    return lat + north_m / M_PER_DEG, lon + east_m / (M_PER_DEG * math.cos(math.radians(lat)))


MERDEKA = offset(AIR_MANCUR, 0, 150)  # a second camera 150 m east on Jl. Merdeka, looking back west
IN_FRONT = offset(AIR_MANCUR, 0, 60)  # 60 m east of Air Mancur: both cameras see it
BEHIND = offset(AIR_MANCUR, 0, -60)  # 60 m west: behind Air Mancur's camera, past Merdeka's range
FAR = offset(AIR_MANCUR, 400, 0)  # 400 m north: beyond the 300 m report radius of both

CONFIG_YAML = f"""
version: 1
cameras:
  - id: air_mancur
    name: Bundaran Air Mancur
    inputs: [{{url: rtsp://10.0.0.7/ch1, roles: [detect, record]}}]
    location: {{lat: {AIR_MANCUR[0]}, lon: {AIR_MANCUR[1]}, heading: 90, fov_deg: 90, range_m: 100, kecamatan: Bukitkecil}}
  - id: merdeka
    name: Jl. Merdeka
    inputs: [{{url: rtsp://10.0.0.8/ch1, roles: [detect, record]}}]
    location: {{lat: {MERDEKA[0]:.6f}, lon: {MERDEKA[1]:.6f}, heading: 270, fov_deg: 60, range_m: 120}}
  - id: charitas
    name: Simpang Charitas
    inputs: [{{url: rtsp://10.0.0.9/ch1, roles: [detect, record]}}]
    location: {{lat: {CHARITAS[0]}, lon: {CHARITAS[1]}, heading: 200, fov_deg: 70, range_m: 120}}
"""
