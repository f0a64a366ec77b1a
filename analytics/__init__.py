"""Frames to events: detector (ultralytics YOLO), zones and rules."""
