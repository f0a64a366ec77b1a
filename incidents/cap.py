"""An incident as a CAP 1.2 alert (OASIS Common Alerting Protocol), for the city's and the nation's alerting systems.

Each stored change of the incident (an ``incident.updated`` event of the change feed) is a new
revision and so a new message: revision 0 is the ``Alert``, later ones are ``Update``s, and an
incident found to be a false positive or a duplicate becomes a ``Cancel``; every message after the
first references all earlier ones. A message is fully determined by the incident and its
revision, so asking again gives the same identifier and ``sent`` time.

How the incident maps to CAP (one ``info`` block in Indonesian, ``id-ID``, and one in English):

============================  =====================================================================
CAP                           from the incident
============================  =====================================================================
``msgType``                   ``Cancel`` for false_positive / duplicate; else ``Update`` after a
                              change; else ``Alert``
``severity``                  low: Minor, medium: Moderate, high: Severe, critical: Extreme
``urgency``                   Cancel: Unknown; resolved, closed or ended: Past; else by severity:
                              critical, high: Immediate, medium: Expected, low: Future
``certainty``                 new (the camera's detection alone): Likely; false_positive: Unlikely;
                              else (an operator saw it): Observed
``category``                  congestion, traffic_jam, stalled_vehicle: Transport; flood: Met and
                              Env; trash, dumping: Env; camera_health: Infra; any other: Other
``responseType``              Cancel: None; Past: AllClear; else traffic and flood: Avoid,
                              camera_health: None, others: Monitor
``area``                      the camera's kelurahan, kecamatan and address, and a circle of its
                              viewing range around it
============================  =====================================================================
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.messages import Severity
from core.settings import Settings
from incidents.cap_text import IncidentTexts, kind_texts, texts_for
from incidents.events import IncidentEvent
from incidents.models import Evidence, EvidenceKind, EvidenceStatus, Incident, IncidentStatus
from incidents.routing import WorkflowRules

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
MEDIA_TYPE = "application/cap+xml"
HEADLINE_MAX = 160  # CAP: "SHOULD be less than 160 characters"

CANCELLED = frozenset({IncidentStatus.FALSE_POSITIVE, IncidentStatus.DUPLICATE})
FINISHED = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED})
TRAFFIC_KINDS = frozenset({"congestion", "traffic_jam", "stalled_vehicle"})

SEVERITY = {Severity.LOW: "Minor", Severity.MEDIUM: "Moderate", Severity.HIGH: "Severe", Severity.CRITICAL: "Extreme"}
URGENCY = {
    Severity.LOW: "Future",
    Severity.MEDIUM: "Expected",
    Severity.HIGH: "Immediate",
    Severity.CRITICAL: "Immediate",
}
CATEGORIES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(TRAFFIC_KINDS, ("Transport",)),
    "flood": ("Met", "Env"),
    "trash": ("Env",),
    "dumping": ("Env",),
    "camera_health": ("Infra",),
}
RESPONSES: dict[str, str] = {**dict.fromkeys(TRAFFIC_KINDS, "Avoid"), "flood": "Avoid", "camera_health": "None"}

# XML 1.0 forbids most control characters even escaped; user text loses them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class CapProfile:
    """Who sends the alerts, to whom, and in which time zone their times are written."""

    sender: str = "matakota@palembang.go.id"
    sender_name: str = "Command Center Kota Palembang"
    scope: Literal["Public", "Restricted"] = "Public"
    timezone: str = "Asia/Jakarta"

    @classmethod
    def from_settings(cls, settings: Settings) -> CapProfile:
        """The profile the settings give."""
        return cls(sender=settings.cap_sender, sender_name=settings.cap_sender_name, scope=settings.cap_scope)

    @property
    def host(self) -> str:
        """The sender's domain (or the sender itself), safe inside an identifier."""
        return re.sub(r"[^A-Za-z0-9.-]", "-", self.sender.rpartition("@")[2])


def revisions(incident: Incident, *, session: Session) -> list[datetime]:
    """When each revision of ``incident`` was made: its creation, then each stored change."""
    changes = session.scalars(
        select(IncidentEvent.created_at)
        .where(
            IncidentEvent.subject == "incident",
            IncidentEvent.subject_id == incident.id,
            IncidentEvent.type == "incident.updated",
        )
        .order_by(IncidentEvent.id)
    ).all()
    return [incident.created_at, *changes]


def cap_time(value: datetime, timezone: str) -> str:
    """``value`` in CAP's form: local time with its offset, whole seconds, UTC written ``-00:00``."""
    text = value.astimezone(ZoneInfo(timezone)).replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "-00:00" if text.endswith("+00:00") else text


def msg_type(status: IncidentStatus, revision: int) -> str:
    """``Cancel`` for an incident that was not one, ``Update`` after a change, else ``Alert``."""
    if status in CANCELLED:
        return "Cancel"
    return "Update" if revision > 0 else "Alert"


def urgency(incident: Incident) -> str:
    """How soon to act: nothing to do for a cancelled or finished incident, else by severity."""
    if incident.status in CANCELLED:
        return "Unknown"
    if incident.status in FINISHED or incident.ended_at is not None:
        return "Past"
    return URGENCY[Severity(incident.severity)]


def certainty(status: IncidentStatus) -> str:
    """How sure the city is: a new detection is likely, one an operator handled was observed."""
    if status == IncidentStatus.FALSE_POSITIVE:
        return "Unlikely"
    return "Likely" if status == IncidentStatus.NEW else "Observed"


def response_type(incident: Incident) -> str:
    """What people should do: nothing after a cancel, all clear once it is over, else by kind."""
    kind_urgency = urgency(incident)
    if kind_urgency == "Unknown":
        return "None"
    if kind_urgency == "Past":
        return "AllClear"
    return RESPONSES.get(incident.kind, "Monitor")


def build_alert(
    incident: Incident, *, revision_times: list[datetime], rules: WorkflowRules, profile: CapProfile, base_url: str
) -> bytes:
    """The CAP 1.2 document of ``incident``'s latest revision, UTF-8 XML.

    Args:
        incident: the incident, its camera and evidence loadable.
        revision_times: from :func:`revisions`: when each revision was made, oldest first.
        rules: the agencies and routing rules (the agency it goes to is a parameter).
        profile: the sender, scope and time zone.
        base_url: the API's public URL, for the links to the incident and its evidence.
    """
    revision = len(revision_times) - 1
    sent = [cap_time(at, profile.timezone) for at in revision_times]
    identifiers = [f"matakota-{profile.host}-incident-{incident.id}-{n}" for n in range(revision + 1)]
    kind = msg_type(incident.status, revision)
    alert = ET.Element(_q("alert"))
    _add(alert, "identifier", identifiers[-1])
    _add(alert, "sender", profile.sender)
    _add(alert, "sent", sent[-1])
    _add(alert, "status", "Actual")
    _add(alert, "msgType", kind)
    _add(alert, "source", f"Mata Kota, {incident.camera_id or 'laporan warga'}")
    _add(alert, "scope", profile.scope)
    if profile.scope == "Restricted":
        _add(alert, "restriction", "Hanya untuk instansi Pemerintah Kota / city agencies only")
    texts = texts_for(incident, rules, profile.timezone)
    if kind == "Cancel":
        _add(alert, "note", texts.cancel_note)
    if revision > 0:
        _add(
            alert,
            "references",
            " ".join(f"{profile.sender},{i},{s}" for i, s in zip(identifiers[:-1], sent[:-1], strict=True)),
        )
    _add(alert, "incidents", f"matakota-{profile.host}-incident-{incident.id}")
    for language in ("id-ID", "en-US"):
        _info(alert, incident, texts, language, rules=rules, profile=profile, base_url=base_url)
    document: bytes = ET.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NAMESPACE)
    return document


def _info(
    alert: ET.Element,
    incident: Incident,
    texts: IncidentTexts,
    language: str,
    *,
    rules: WorkflowRules,
    profile: CapProfile,
    base_url: str,
) -> None:
    english = language == "en-US"
    info = ET.SubElement(alert, _q("info"))
    _add(info, "language", language)
    for category in CATEGORIES.get(incident.kind, ("Other",)):
        _add(info, "category", category)
    _add(info, "event", kind_texts(incident.kind).event(english))
    _add(info, "responseType", response_type(incident))
    _add(info, "urgency", urgency(incident))
    _add(info, "severity", SEVERITY[Severity(incident.severity)])
    _add(info, "certainty", certainty(incident.status))
    _pair(info, "eventCode", "matakota:kind", incident.kind)
    _add(info, "onset", cap_time(incident.started_at, profile.timezone))
    _add(info, "senderName", profile.sender_name)
    _add(info, "headline", incident.title[:HEADLINE_MAX])
    _add(info, "description", texts.description(english))
    _add(info, "instruction", texts.instruction(english))
    _add(info, "web", f"{base_url}/api/incidents/{incident.id}")
    agency = incident.agency or rules.routed_agency(incident)
    if agency is not None:
        _add(info, "contact", rules.agencies.get(agency, agency))
    parameters = {
        "incident_id": str(incident.id),
        "camera_id": incident.camera_id,
        "kind": incident.kind,
        "zone": incident.zone,
        "status": str(incident.status),
        "agency": agency,
    }
    for name, value in parameters.items():
        if value is not None:
            _pair(info, "parameter", name, value)
    for evidence_kind, description in ((EvidenceKind.SNAPSHOT, texts.snapshot), (EvidenceKind.CLIP, texts.clip)):
        evidence = incident.latest_evidence(evidence_kind)
        if evidence is not None and evidence.status == EvidenceStatus.READY:
            _resource(info, evidence, description(english), f"{base_url}/api/incidents/{incident.id}")
    camera = incident.camera
    if camera is not None:
        area = ET.SubElement(info, _q("area"))
        _add(area, "areaDesc", texts.place)
        radius_km = max(camera.range_m, 1.0) / 1000
        _add(area, "circle", f"{camera.lat:.6f},{camera.lon:.6f} {radius_km:.3f}")


def _resource(info: ET.Element, evidence: Evidence, description: str, base: str) -> None:
    resource = ET.SubElement(info, _q("resource"))
    _add(resource, "resourceDesc", description)
    _add(resource, "mimeType", evidence.content_type)
    if evidence.size_bytes is not None:
        _add(resource, "size", str(evidence.size_bytes))
    name = "snapshot.jpg" if evidence.kind == EvidenceKind.SNAPSHOT else "clip.mp4"
    _add(resource, "uri", f"{base}/{name}")


def _q(tag: str) -> str:
    return f"{{{CAP_NAMESPACE}}}{tag}"


def _add(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, _q(tag))
    element.text = _NOT_XML.sub("", text)  # ElementTree escapes &, < and >; it cannot escape these
    return element


def _pair(parent: ET.Element, tag: str, name: str, value: str) -> None:
    element = ET.SubElement(parent, _q(tag))
    _add(element, "valueName", name)
    _add(element, "value", value)
