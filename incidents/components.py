"""Rows of the components that are not cameras (the detector): their latest report, for /metrics."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.messages import DetectorStatus
from incidents.models import ComponentStatus
from incidents.types import from_ts

DETECTOR_KIND = "detector"
# A detector that has not reported for this long is down (the analytics process may be dead):
# three missed reports at a 5 s interval.
COMPONENT_STALE_AFTER_S = 15.0


def record_detector_status(status: DetectorStatus, *, session: Session) -> ComponentStatus:
    """Store the detector's latest report in its row (made at its first report)."""
    row = session.get(ComponentStatus, status.name)
    if row is None:
        row = ComponentStatus(name=status.name, kind=DETECTOR_KIND)
        session.add(row)
    row.kind = DETECTOR_KIND
    row.metrics = dataclasses.asdict(status)
    row.updated_at = from_ts(status.at_ts)
    session.flush()
    return row


def list_components(kind: str | None = None, *, session: Session) -> list[ComponentStatus]:
    """Every component row (of ``kind`` when given), by name."""
    stmt = select(ComponentStatus).order_by(ComponentStatus.name)
    if kind is not None:
        stmt = stmt.where(ComponentStatus.kind == kind)
    return list(session.scalars(stmt))


def is_stale(component: ComponentStatus, now: datetime) -> bool:
    """Whether the component's last report is too old to describe it now."""
    return now - component.updated_at > timedelta(seconds=COMPONENT_STALE_AFTER_S)
