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
