"""Exponential backoff with full jitter and a ceiling, so cameras that return do not stampede."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of ``initial_s * factor**n``, capped at ``max_s``, each drawn uniformly from [d/2, d]."""

    initial_s: float = 1.0
    max_s: float = 30.0
    factor: float = 2.0
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def next_delay_s(self) -> float:
        """The delay before the next attempt; each call counts one failure."""
        ceiling = min(self.max_s, self.initial_s * self.factor**self.attempts)
        self.attempts += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """Start again from ``initial_s`` after a success."""
        self.attempts = 0
