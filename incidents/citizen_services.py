"""The kinds of complaint citizens can report (Open311 services), close to LAPOR!'s categories."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ReportNotFound
from core.incident_config import DEFAULT_AGENCIES


@dataclass(frozen=True, slots=True)
class Service:
    """One Open311 service: a kind of complaint and the agency (OPD) that handles it."""

    code: str
    name: str
    description: str
    keywords: tuple[str, ...]
    group: str
    agency: str | None  # code in DEFAULT_AGENCIES; None: the command center triages it

    @property
    def agency_name(self) -> str | None:
        """The agency's full name, for Open311's ``agency_responsible``."""
        return DEFAULT_AGENCIES.get(self.agency, self.agency) if self.agency else None


SERVICES: tuple[Service, ...] = (
    Service(
        "trash",
        "Sampah / illegal dumping",
        "Tumpukan sampah atau pembuangan sampah liar (trash piles, illegal dumping).",
        ("sampah", "trash", "dumping", "TPS liar"),
        "Lingkungan",
        "DLH",
    ),
    Service(
        "flooding",
        "Banjir / genangan",
        "Banjir atau genangan air di jalan atau permukiman (flooding, standing water).",
        ("banjir", "genangan", "flood"),
        "Bencana",
        "BPBD",
    ),
    Service(
        "traffic",
        "Kemacetan lalu lintas",
        "Kemacetan, parkir liar atau lampu lalu lintas mati (traffic jam, illegal parking).",
        ("macet", "lalu lintas", "traffic", "parkir"),
        "Transportasi",
        "Dishub",
    ),
    Service(
        "road_damage",
        "Jalan rusak",
        "Jalan berlubang atau rusak (potholes, damaged road).",
        ("jalan rusak", "lubang", "pothole"),
        "Infrastruktur",
        "PUPR",
    ),
    Service(
        "street_light",
        "Lampu jalan",
        "Lampu penerangan jalan umum mati atau rusak (street light out).",
        ("PJU", "lampu jalan", "street light"),
        "Infrastruktur",
        "Dishub",
    ),
    Service(
        "other",
        "Lainnya",
        "Keluhan lain; pusat komando meneruskannya ke OPD yang tepat (anything else).",
        ("lainnya", "other"),
        "Lainnya",
        None,
    ),
)

_BY_CODE = {service.code: service for service in SERVICES}


def get_service(code: str) -> Service:
    """The service with ``code``.

    Raises:
        ReportNotFound: when no service has that code.
    """
    try:
        return _BY_CODE[code]
    except KeyError:
        raise ReportNotFound(f"no service with service_code {code!r}") from None
