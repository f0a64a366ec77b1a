"""A citizen's report follows the incident it is linked to, so the citizen sees progress through Open311.

Public status notes, one sentence in Bahasa Indonesia (the citizens' language), by incident status:

- new: "Diterima; pusat komando sedang memverifikasi." (received; the command center is checking it)
- acknowledged: "Diverifikasi oleh pusat komando." (verified by the command center)
- dispatched: "Diteruskan ke <agency> untuk ditangani." (passed to <agency> to handle)
- in_progress: "Sedang ditangani oleh <agency>." (being handled by <agency>)
- on_hold: "Penanganan ditunda sementara." (handling paused)
- resolved, closed: "Selesai ditangani oleh <agency>." (handled by <agency>: done), and the report is closed

A report that a camera confirmed adds "Kejadian terpantau kamera CCTV kota." (a city camera saw
it). The notes never name a camera, an operator or the reporter.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.citizen_reports import CitizenReport, ReportStatus
from incidents.citizen_services import get_service
from incidents.models import Incident
from incidents.models import IncidentStatus as S
from incidents.routing import WorkflowRules
from incidents.types import utcnow

logger = logging.getLogger(__name__)

COMMAND_CENTER = "pusat komando"
CONFIRMED_NOTE = "Kejadian terpantau kamera CCTV kota."
_NOTES: dict[S, str] = {
    S.NEW: "Diterima; pusat komando sedang memverifikasi.",
    S.ACKNOWLEDGED: "Diverifikasi oleh pusat komando.",
    S.DISPATCHED: "Diteruskan ke {agency} untuk ditangani.",
    S.IN_PROGRESS: "Sedang ditangani oleh {agency}.",
    S.ON_HOLD: "Penanganan ditunda sementara.",
    S.RESOLVED: "Selesai ditangani oleh {agency}.",
    S.CLOSED: "Selesai ditangani oleh {agency}.",
}
DONE: frozenset[S] = frozenset({S.RESOLVED, S.CLOSED})


def sync_reports(incident: Incident, *, session: Session, rules: WorkflowRules | None = None) -> list[CitizenReport]:
    """Bring the reports linked to ``incident`` in line with its status; returns them; flushes.

    A false positive unlinks them (a camera's false alarm does not disprove a citizen); a duplicate
    moves them to the incident it was merged into.
    """
    reports = list(session.scalars(select(CitizenReport).where(CitizenReport.incident_id == incident.id)))
    target = incident
    if incident.status == S.DUPLICATE and incident.merged_into_id is not None:
        target = session.get(Incident, incident.merged_into_id) or incident
    for report in reports:
        if incident.status == S.FALSE_POSITIVE:
            unlink(report)
            logger.info("report %s unlinked: incident %d was a false alarm", report.service_request_id, incident.id)
        else:
            report.incident_id = target.id
            follow(report, target, rules=rules)
    session.flush()
    return reports


def follow(
    report: CitizenReport, incident: Incident, *, rules: WorkflowRules | None = None, now: datetime | None = None
) -> None:
    """Set the report's public status, notes and agency from ``incident`` (which it is linked to)."""
    rules = rules or WorkflowRules()
    code = incident.agency or rules.routed_agency(incident)
    agency = rules.agencies.get(code, code) if code else None
    if agency:
        report.agency_responsible = agency
    status = S(incident.status)
    report.status = ReportStatus.CLOSED if status in DONE else ReportStatus.OPEN
    notes = _NOTES.get(status)
    if notes is None:  # false_positive, duplicate: handled by sync_reports before it gets here
        return
    notes = notes.format(agency=agency or COMMAND_CENTER)
    report.status_notes = f"{notes} {CONFIRMED_NOTE}" if report.camera_confirmed_at is not None else notes
    report.updated_datetime = now or utcnow()


def unlink(report: CitizenReport, *, now: datetime | None = None) -> None:
    """Detach the report from its incident: open again, unconfirmed, back with its service's agency."""
    report.incident_id = None
    report.camera_confirmed_at = None
    report.status = ReportStatus.OPEN
    report.status_notes = None
    report.agency_responsible = get_service(report.service_code).agency_name
    report.updated_datetime = now or utcnow()
