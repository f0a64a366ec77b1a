"""Which agency (OPD) an incident goes to, and its SLA: when it is due to be acknowledged and resolved.

Both are computed when asked, from the configuration of the moment, so a corrected routing rule
or SLA applies to the incidents already waiting too. The SLA clock starts when the incident was
raised (``created_at``); once an agency promised a time (``expected_by``), that is the resolve
due time. ``on_hold`` does not stop the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, true

from core.config import AppConfig
from core.incident_config import DEFAULT_AGENCIES, DEFAULT_ROUTING, RoutingRule, SlaConfig
from core.messages import Severity
from incidents.models import OPEN_STATUSES, Incident, IncidentStatus


@dataclass(frozen=True)
class WorkflowRules:
    """The agencies, the routing rules and the SLA targets of the configuration."""

    agencies: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_AGENCIES))
    routing: list[RoutingRule] = field(default_factory=lambda: list(DEFAULT_ROUTING))
    sla: SlaConfig = field(default_factory=SlaConfig)

    @classmethod
    def from_config(cls, config: AppConfig) -> WorkflowRules:
        """The rules of ``config``."""
        return cls(agencies=dict(config.agencies), routing=list(config.routing), sla=config.sla)

    def route(self, kind: str, kecamatan: str | None) -> str | None:
        """Code of the agency an incident of ``kind`` from ``kecamatan`` goes to (first rule that matches)."""
        return next((rule.agency for rule in self.routing if rule.matches(kind, kecamatan)), None)

    def routed_agency(self, incident: Incident) -> str | None:
        """The agency ``incident`` goes to by the routing rules (its camera's kecamatan counts)."""
        return self.route(incident.kind, incident.camera.kecamatan if incident.camera is not None else None)


@dataclass(frozen=True, slots=True)
class SlaStatus:
    """An incident's SLA due times and whether it missed one."""

    acknowledge_due_at: datetime
    resolve_due_at: datetime
    overdue: bool


def sla_status(incident: Incident, sla: SlaConfig, now: datetime) -> SlaStatus:
    """The due times of ``incident`` and whether, as of ``now``, it is overdue.

    It is overdue while still ``new`` past its acknowledge time, or still open past its resolve time.
    """
    target = sla.target(incident.kind, Severity(incident.severity))
    acknowledge_due = incident.created_at + timedelta(seconds=target.acknowledge_within_s)
    resolve_due = incident.expected_by or incident.created_at + timedelta(seconds=target.resolve_within_s)
    overdue = (incident.status == IncidentStatus.NEW and now > acknowledge_due) or (
        incident.status in OPEN_STATUSES and now > resolve_due
    )
    return SlaStatus(acknowledge_due_at=acknowledge_due, resolve_due_at=resolve_due, overdue=overdue)


def overdue_clause(sla: SlaConfig, now: datetime) -> ColumnElement[bool]:
    """A SQL condition true for the incidents :func:`sla_status` calls overdue as of ``now``.

    Only timestamps are compared, against cut-offs computed here: no date arithmetic in SQL, so the
    same condition runs on SQLite and PostgreSQL. It is never NULL, so its negation is exact.
    """
    is_open = Incident.status.in_([s.value for s in OPEN_STATUSES])
    promised_late = and_(is_open, Incident.expected_by.is_not(None), Incident.expected_by < now)
    late: list[ColumnElement[bool]] = [promised_late]
    overridden = sorted(sla.kinds)
    for severity in Severity:
        kinds: list[tuple[ColumnElement[bool], str | None]] = [(Incident.kind == k, k) for k in overridden]
        kinds.append((Incident.kind.not_in(overridden) if overridden else true(), None))
        for of_kind, kind in kinds:
            target = sla.target(kind or "", severity) if kind else sla.severities[severity]
            acknowledge_cutoff = now - timedelta(seconds=target.acknowledge_within_s)
            resolve_cutoff = now - timedelta(seconds=target.resolve_within_s)
            late.append(
                and_(
                    of_kind,
                    Incident.severity == severity.value,
                    or_(
                        and_(Incident.status == IncidentStatus.NEW.value, Incident.created_at < acknowledge_cutoff),
                        and_(is_open, Incident.expected_by.is_(None), Incident.created_at < resolve_cutoff),
                    ),
                )
            )
    return or_(*late)
