"""The words of the CAP alerts (:mod:`incidents.cap`), in Indonesian and English: events, advice, descriptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from incidents.models import Incident, IncidentStatus
from incidents.routing import WorkflowRules


@dataclass(frozen=True, slots=True)
class KindText:
    """What an incident kind is called, and what people should do while it lasts."""

    event_id: str
    event_en: str
    advice_id: str
    advice_en: str

    def event(self, english: bool) -> str:
        """The event's name in the language asked for."""
        return self.event_en if english else self.event_id


_TRAFFIC_ADVICE = (
    "Hindari ruas jalan ini bila memungkinkan dan gunakan rute alternatif.",
    "Avoid this road if you can and take another route.",
)
KINDS: dict[str, KindText] = {
    "congestion": KindText("Kemacetan lalu lintas", "Traffic congestion", *_TRAFFIC_ADVICE),
    "traffic_jam": KindText("Kemacetan lalu lintas", "Traffic jam", *_TRAFFIC_ADVICE),
    "stalled_vehicle": KindText("Kendaraan mogok", "Stalled vehicle", *_TRAFFIC_ADVICE),
    "flood": KindText(
        "Genangan / banjir",
        "Flooding",
        "Hindari area genangan, jangan menerobos banjir, dan ikuti arahan petugas.",
        "Keep away from the flooded area, do not drive or walk through water, and follow officers' directions.",
    ),
    "trash": KindText(
        "Tumpukan sampah",
        "Piled-up rubbish",
        "Petugas kebersihan akan menindaklanjuti. Buang sampah pada tempat dan waktunya.",
        "Cleaning crews will follow up. Dispose of rubbish only at the collection points and times.",
    ),
    "dumping": KindText(
        "Pembuangan sampah liar",
        "Illegal dumping",
        "Petugas akan menindaklanjuti. Jangan membuang sampah sembarangan.",
        "Officers will follow up. Do not dump rubbish.",
    ),
    "camera_health": KindText(
        "Gangguan kamera CCTV",
        "CCTV camera fault",
        "Tidak ada tindakan yang diperlukan dari warga.",
        "No action is needed from the public.",
    ),
}

STATUS_ID = {
    IncidentStatus.NEW: "baru terdeteksi",
    IncidentStatus.ACKNOWLEDGED: "diterima operator",
    IncidentStatus.DISPATCHED: "diteruskan ke dinas terkait",
    IncidentStatus.IN_PROGRESS: "sedang ditangani",
    IncidentStatus.ON_HOLD: "ditunda",
    IncidentStatus.RESOLVED: "selesai ditangani",
    IncidentStatus.CLOSED: "ditutup",
    IncidentStatus.FALSE_POSITIVE: "bukan kejadian (deteksi keliru)",
    IncidentStatus.DUPLICATE: "duplikat",
}
STATUS_EN = {
    IncidentStatus.NEW: "newly detected",
    IncidentStatus.ACKNOWLEDGED: "acknowledged by an operator",
    IncidentStatus.DISPATCHED: "dispatched to the agency in charge",
    IncidentStatus.IN_PROGRESS: "being handled",
    IncidentStatus.ON_HOLD: "on hold",
    IncidentStatus.RESOLVED: "resolved",
    IncidentStatus.CLOSED: "closed",
    IncidentStatus.FALSE_POSITIVE: "not an incident (false detection)",
    IncidentStatus.DUPLICATE: "a duplicate",
}
_OVER = ("Kejadian sudah selesai; tidak ada tindakan yang diperlukan.", "The event is over; no action is needed.")
_VOID = ("Abaikan peringatan sebelumnya tentang kejadian ini.", "Disregard the earlier alerts about this event.")


def kind_texts(kind: str) -> KindText:
    """The words of ``kind``; a kind without its own words is named after itself."""
    if kind in KINDS:
        return KINDS[kind]
    name = kind.replace("_", " ").capitalize()
    return KindText(name, name, "Ikuti arahan petugas.", "Follow officers' directions.")


@dataclass(frozen=True, slots=True)
class IncidentTexts:
    """The free texts of one incident's alert in both languages."""

    place: str
    descriptions: tuple[str, str]
    instructions: tuple[str, str]
    cancel_note: str

    def description(self, english: bool) -> str:
        """What happened, where, since when, and where its handling stands."""
        return self.descriptions[english]

    def instruction(self, english: bool) -> str:
        """What people should do."""
        return self.instructions[english]

    @staticmethod
    def snapshot(english: bool) -> str:
        """How the snapshot resource is described."""
        return "Camera snapshot of the event" if english else "Foto kamera saat kejadian"

    @staticmethod
    def clip(english: bool) -> str:
        """How the clip resource is described."""
        return "Camera video clip of the event" if english else "Video kamera saat kejadian"


def place_of(incident: Incident) -> str:
    """The incident's place in words: the camera's address, kelurahan and kecamatan."""
    camera = incident.camera
    if camera is None:
        return "Lokasi laporan warga"
    parts = [
        camera.address,
        f"Kel. {camera.kelurahan}" if camera.kelurahan else None,
        f"Kec. {camera.kecamatan}" if camera.kecamatan else None,
    ]
    return ", ".join(p for p in parts if p) or camera.name


def texts_for(incident: Incident, rules: WorkflowRules, timezone: str) -> IncidentTexts:
    """The texts of ``incident``'s alert; times are written in ``timezone``."""
    words = kind_texts(incident.kind)
    place = place_of(incident)
    status = IncidentStatus(incident.status)
    agency_code = incident.agency or rules.routed_agency(incident)
    agency = rules.agencies.get(agency_code, agency_code) if agency_code else None
    camera = f"kamera {incident.camera.name}" if incident.camera is not None else "laporan warga"
    camera_en = f"camera {incident.camera.name}" if incident.camera is not None else "a citizen's report"
    since = _local(incident.started_at, timezone)
    description_id = f"{words.event_id} di {place}, terpantau {camera} sejak {since}. Status: {STATUS_ID[status]}."
    description_en = f"{words.event_en} at {place}, seen by {camera_en} since {since}. Status: {STATUS_EN[status]}."
    if agency is not None and incident.agency is not None:
        description_id += f" Ditangani oleh {agency}."
        description_en += f" Handled by {agency}."
    if incident.ended_at is not None:
        description_id += f" Berakhir {_local(incident.ended_at, timezone)}."
        description_en += f" Ended {_local(incident.ended_at, timezone)}."
    if status in (IncidentStatus.FALSE_POSITIVE, IncidentStatus.DUPLICATE):
        instructions = _VOID
    elif status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED) or incident.ended_at is not None:
        instructions = _OVER
    else:
        instructions = (words.advice_id, words.advice_en)
    if status == IncidentStatus.DUPLICATE:
        note = f"Duplikat dari insiden {incident.merged_into_id} / duplicate of incident {incident.merged_into_id}"
    else:
        note = "Deteksi keliru: tidak ada kejadian / false detection: nothing happened"
    return IncidentTexts(place, (description_id, description_en), instructions, note)


def _local(value: datetime, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")
