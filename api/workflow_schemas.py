"""Request and response models of the operators' workflow: status changes and their audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.schemas import Out
from incidents.models import IncidentAudit, IncidentStatus
from incidents.workflow import StatusChange


class StatusChangeIn(BaseModel):
    """An operator moves an incident to another status."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: IncidentStatus = Field(description="The new status; the allowed moves are listed in the README.")
    by: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description=(
            "Optional, for older clients: the change is recorded as made by the logged-in user or API key; "
            "a different name given here is kept in the audit details as `stated_by`."
        ),
    )
    note: str | None = Field(default=None, max_length=2000, description="Why, in the operator's words.")
    agency: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="Only with `dispatched`: code of the agency; default the routed one.",
    )
    expected_by: AwareDatetime | None = Field(
        default=None,
        description="Only with `dispatched`: when the agency should have it resolved; default now + the SLA.",
    )
    merged_into: int | None = Field(
        default=None, ge=1, description="Needed with `duplicate`, and only then: the incident this one repeats."
    )

    @model_validator(mode="after")
    def _fields_fit_the_status(self) -> StatusChangeIn:
        if self.to == IncidentStatus.DUPLICATE and self.merged_into is None:
            raise ValueError("merged_into is needed with to=duplicate")
        if self.to != IncidentStatus.DUPLICATE and self.merged_into is not None:
            raise ValueError("merged_into goes only with to=duplicate")
        if self.to != IncidentStatus.DISPATCHED and (self.agency is not None or self.expected_by is not None):
            raise ValueError("agency and expected_by go only with to=dispatched")
        return self

    def to_change(self, by: str) -> StatusChange:
        """The domain's status change, made by ``by`` (the authenticated caller)."""
        return StatusChange(
            to=self.to,
            by=by,
            stated_by=self.by,
            note=self.note,
            agency=self.agency,
            expected_by=self.expected_by,
            merged_into=self.merged_into,
        )


class AuditOut(Out):
    """One status change of an incident."""

    at: datetime = Field(description="When the status changed.")
    by: str = Field(
        description="Who changed it: a username, `key:<name>` for an API key, or `system` for the recorder's own."
    )
    from_status: IncidentStatus = Field(description="The status before.")
    to_status: IncidentStatus = Field(description="The status after.")
    note: str | None = Field(description="Why, if someone said.")
    details: dict[str, Any] = Field(
        description=(
            "What went with it: `agency` and `expected_by`, or `merged_into`; `stated_by` when the request "
            "named someone other than its caller."
        )
    )

    @classmethod
    def from_model(cls, row: IncidentAudit) -> AuditOut:
        """The answer for ``row``."""
        return cls(
            at=row.changed_at,
            by=row.changed_by,
            from_status=row.from_status,
            to_status=row.to_status,
            note=row.note,
            details=row.details,
        )
