"""Config sections of the operators' workflow: agencies (OPD), routing to them, SLA targets, dedup windows.

Part of :class:`core.config.AppConfig`; the defaults suit Palembang's command center.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from core.messages import Severity

AgencyCode = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=32)]
KindName = Annotated[str, Field(pattern=r"^[a-z0-9_]+$", min_length=1, max_length=64)]

DEFAULT_AGENCIES: dict[str, str] = {
    "DLH": "Dinas Lingkungan Hidup dan Kebersihan",
    "PUPR": "Dinas Pekerjaan Umum dan Penataan Ruang",
    "BPBD": "Badan Penanggulangan Bencana Daerah",
    "Dishub": "Dinas Perhubungan",
    "Diskominfo": "Dinas Komunikasi dan Informatika",
}


class SectionModel(BaseModel):
    """Like :class:`core.config.StrictModel` (which imports these sections): unknown keys are errors, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RoutingRule(SectionModel):
    """Incidents of ``kind`` (in ``kecamatan``, when given) go to ``agency``."""

    kind: KindName = Field(description="Incident kind, e.g. `flood`.")
    kecamatan: str | None = Field(
        default=None, description="Only incidents from cameras in this kecamatan; any when left out."
    )
    agency: AgencyCode = Field(description="Code of the agency (a key of `agencies`).")

    def matches(self, kind: str, kecamatan: str | None) -> bool:
        """Whether an incident of ``kind`` from a camera in ``kecamatan`` is routed by this rule."""
        return self.kind == kind and (self.kecamatan is None or self.kecamatan == kecamatan)


DEFAULT_ROUTING: list[RoutingRule] = [
    RoutingRule(kind="dumping", agency="DLH"),
    RoutingRule(kind="trash", agency="DLH"),
    RoutingRule(kind="flood", agency="BPBD"),
    RoutingRule(kind="congestion", agency="Dishub"),
    RoutingRule(kind="traffic_jam", agency="Dishub"),
    RoutingRule(kind="stalled_vehicle", agency="Dishub"),
    RoutingRule(kind="camera_health", agency="Diskominfo"),
]


class SlaTarget(SectionModel):
    """How soon an incident must be acknowledged and resolved, counted from when it was raised."""

    acknowledge_within_s: float = Field(gt=0, description="Seconds from raised to acknowledged.")
    resolve_within_s: float = Field(gt=0, description="Seconds from raised to resolved.")

    @model_validator(mode="after")
    def _acknowledge_first(self) -> SlaTarget:
        if self.acknowledge_within_s > self.resolve_within_s:
            raise ValueError("acknowledge_within_s must not exceed resolve_within_s")
        return self


def _targets(ack_min: float, resolve_h: float) -> SlaTarget:
    return SlaTarget(acknowledge_within_s=ack_min * 60, resolve_within_s=resolve_h * 3600)


DEFAULT_SLA: dict[Severity, SlaTarget] = {
    Severity.CRITICAL: _targets(5, 2),
    Severity.HIGH: _targets(10, 4),
    Severity.MEDIUM: _targets(30, 24),
    Severity.LOW: _targets(120, 72),
}


class SlaConfig(SectionModel):
    """SLA targets per severity, with per-kind overrides."""

    severities: dict[Severity, SlaTarget] = Field(
        default=DEFAULT_SLA, description="Targets per severity (low, medium, high, critical); all four are needed."
    )
    kinds: dict[KindName, dict[Severity, SlaTarget]] = Field(
        default={}, description="Per incident kind, targets that replace those of the listed severities."
    )

    @field_validator("severities")
    @classmethod
    def _every_severity(cls, severities: dict[Severity, SlaTarget]) -> dict[Severity, SlaTarget]:
        missing = [s.value for s in Severity if s not in severities]
        if missing:
            raise ValueError(f"needs a target for each severity (missing: {', '.join(missing)})")
        return severities

    def target(self, kind: str, severity: Severity) -> SlaTarget:
        """The targets of an incident of ``kind`` and ``severity``."""
        return self.kinds.get(kind, {}).get(severity) or self.severities[severity]


class IncidentsConfig(SectionModel):
    """How events become incidents."""

    dedup_window_s: float = Field(
        default=120.0, ge=0, description="An event starting this soon after its incident ended continues it."
    )
    dedup_windows: dict[KindName, float] = Field(
        default={}, description="Per incident kind, a dedup window that replaces `dedup_window_s`."
    )

    @model_validator(mode="after")
    def _non_negative(self) -> IncidentsConfig:
        negative = sorted(kind for kind, window in self.dedup_windows.items() if window < 0)
        if negative:
            raise ValueError(f"dedup_windows must not be negative (got: {', '.join(negative)})")
        return self


def check_routing(agencies: dict[str, str], routing: list[RoutingRule]) -> list[RoutingRule]:
    """``routing``, once every rule names a known agency.

    Raises:
        ValidationError: one error per rule whose agency is unknown, located at its ``agency`` key
            (raised inside a field validator, pydantic prefixes the field, so the loader names the line).
    """
    known = ", ".join(sorted(agencies)) or "none"
    problems = [
        InitErrorDetails(
            type=PydanticCustomError("unknown_agency", "not in agencies (known: {known})", {"known": known}),
            loc=(i, "agency"),
            input=rule.agency,
        )
        for i, rule in enumerate(routing)
        if rule.agency not in agencies
    ]
    if problems:
        raise ValidationError.from_exception_data("routing", problems)
    return routing


# Codes of the Open311 services (incidents.citizen_services) and the incident kinds the analytics
# rules raise; kept here so the configuration can be checked without importing either.
CITIZEN_SERVICE_CODES: tuple[str, ...] = ("trash", "flooding", "traffic", "road_damage", "street_light", "other")
CORRELATED_KINDS: tuple[str, ...] = ("congestion", "dumping", "flood", "stalled_vehicle", "traffic_jam", "trash")

DEFAULT_SERVICE_KINDS: dict[str, list[str]] = {
    "trash": ["dumping", "trash"],
    "flooding": ["flood"],
    "traffic": ["traffic_jam", "congestion", "stalled_vehicle"],
    # Road damage, street lights and anything else: no camera rule sees them.
}


class ProximityConfig(SectionModel):
    """How close in space and time two sightings must be to be one event."""

    radius_m: float = Field(gt=0, le=10_000, description="Greatest distance, metres.")
    window_s: float = Field(gt=0, le=7 * 86_400, description="Greatest time apart, seconds, before or after.")


class CorrelationConfig(SectionModel):
    """How citizens' reports are matched with cameras and camera incidents, and incidents with each other."""

    reports: ProximityConfig = Field(
        default=ProximityConfig(radius_m=300, window_s=2 * 3600),
        description="A report links to an open camera incident of a matching kind this close to its camera.",
    )
    incidents: ProximityConfig = Field(
        default=ProximityConfig(radius_m=250, window_s=1800),
        description="Open incidents of one kind on two cameras this close are suggested as one event.",
    )
    nearby_range_factor: float = Field(
        default=2.0,
        ge=1,
        le=10,
        description="Cameras up to this many times their range from a report are listed, in view or not.",
    )
    service_kinds: dict[str, list[KindName]] = Field(
        default=DEFAULT_SERVICE_KINDS,
        description="Open311 service code -> the incident kinds it matches; codes left out match none.",
    )

    @field_validator("service_kinds")
    @classmethod
    def _known_codes_and_kinds(cls, service_kinds: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown_codes = sorted(set(service_kinds) - set(CITIZEN_SERVICE_CODES))
        if unknown_codes:
            raise ValueError(
                f"unknown service code(s) {', '.join(unknown_codes)} (known: {', '.join(CITIZEN_SERVICE_CODES)})"
            )
        unknown_kinds = sorted({k for kinds in service_kinds.values() for k in kinds} - set(CORRELATED_KINDS))
        if unknown_kinds:
            raise ValueError(
                f"unknown incident kind(s) {', '.join(unknown_kinds)} (known: {', '.join(CORRELATED_KINDS)})"
            )
        return service_kinds

    def kinds_for(self, service_code: str) -> frozenset[str]:
        """The incident kinds a report of ``service_code`` matches (none for an unmapped code)."""
        return frozenset(self.service_kinds.get(service_code, ()))

    def codes_for(self, kind: str) -> frozenset[str]:
        """The service codes whose reports an incident of ``kind`` matches."""
        return frozenset(code for code, kinds in self.service_kinds.items() if kind in kinds)


class WebhooksConfig(SectionModel):
    """How incident events are delivered to other city applications' webhook subscriptions.

    The API process sends them; a failed attempt is retried after ``backoff_initial_s``, doubling
    (with jitter) up to ``backoff_max_s``, until ``max_attempts`` have failed: then the delivery is
    dead (listed at ``GET /api/webhooks/dead-letter``, until someone redelivers it).
    """

    enabled: bool = Field(
        default=True, description="Send deliveries from the API process; false holds them until it is true again."
    )
    max_attempts: int = Field(default=8, ge=1, le=50, description="Attempts before a delivery is dead.")
    backoff_initial_s: float = Field(default=10.0, gt=0, description="Delay after the first failed attempt.")
    backoff_max_s: float = Field(default=3600.0, gt=0, description="Ceiling of the delay between attempts.")
    timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="Limit for connecting, sending and each wait for the answer."
    )
    poll_interval_s: float = Field(
        default=1.0, gt=0, le=60, description="How often new events and due retries are looked for."
    )
    commit_grace_s: float = Field(
        default=60.0,
        gt=0,
        description="How long a missing event id below a visible one is waited for (its change may still commit).",
    )

    @model_validator(mode="after")
    def _backoff_in_order(self) -> WebhooksConfig:
        if self.backoff_initial_s > self.backoff_max_s:
            raise ValueError("backoff_initial_s must not exceed backoff_max_s")
        return self
