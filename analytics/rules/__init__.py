"""Event rules: pure ``process()`` objects that turn zone detections and time into events."""

from __future__ import annotations

from analytics.rules.base import Rule, RuleEvent, RuleInput
from analytics.rules.congestion import CongestionRule
from core.config import RuleConfig


def build_rule(config: RuleConfig) -> Rule:
    """The rule object for one rule entry of a camera's config."""
    if config.type == "congestion":
        return CongestionRule(config)
    raise ValueError(f"unknown rule type {config.type!r}")


__all__ = ["CongestionRule", "Rule", "RuleEvent", "RuleInput", "build_rule"]
