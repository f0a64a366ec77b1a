"""RTSP (and file replay) ingest: decoded, sampled frames plus a ring buffer of encoded packets."""
