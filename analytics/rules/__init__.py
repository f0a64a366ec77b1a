"""Event rules: pure ``process()`` objects that turn zone detections and time into events."""

from __future__ import annotations

from analytics.rules.base import Rule, RuleEvent, RuleInput
from analytics.rules.congestion import CongestionRule
from analytics.rules.dumping import DumpingRule
from analytics.rules.flood import FloodRule
from analytics.rules.stalled import StalledVehicleRule
from analytics.rules.traffic_jam import TrafficJamRule
from core.config import RuleConfig


def build_rule(config: RuleConfig) -> Rule:
    """The rule object for one rule entry of a camera's config."""
    if config.type == "congestion":
        return CongestionRule(config)
    if config.type == "traffic_jam":
        return TrafficJamRule(config)
    if config.type == "stalled_vehicle":
        return StalledVehicleRule(config)
    if config.type == "flood":
        return FloodRule(config)
    if config.type == "dumping":
        return DumpingRule(config)
    raise ValueError(f"unknown rule type {config.type!r}")


__all__ = [
    "CongestionRule",
    "DumpingRule",
    "FloodRule",
    "Rule",
    "RuleEvent",
    "RuleInput",
    "StalledVehicleRule",
    "TrafficJamRule",
    "build_rule",
]
