"""Request dependencies: a database session per request, the settings, the evidence store, the workflow rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from pydantic import AwareDatetime
from sqlalchemy.orm import Session, sessionmaker

from core.incident_config import CorrelationConfig
from core.settings import Settings
from incidents.db import session_scope
from incidents.evidence import EvidenceStore
from incidents.routing import WorkflowRules


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the handler returns (before the answer is sent)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with session_scope(factory) as session:
        yield session


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_evidence_store(request: Request) -> EvidenceStore:
    """The store of snapshot and clip files."""
    store: EvidenceStore = request.app.state.evidence_store
    return store


def get_workflow_rules(request: Request) -> WorkflowRules:
    """The agencies, routing rules and SLA targets of the configuration the app was created with."""
    rules: WorkflowRules = request.app.state.workflow_rules
    return rules


def get_correlation(request: Request) -> CorrelationConfig:
    """How citizens' reports, cameras and incidents are linked, from the configuration the app was created with."""
    correlation: CorrelationConfig = getattr(request.app.state, "correlation", None) or CorrelationConfig()
    return correlation


# scope="function": the commit happens before the response is sent, so a failed commit is a 500.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EvidenceStoreDep = Annotated[EvidenceStore, Depends(get_evidence_store)]
WorkflowRulesDep = Annotated[WorkflowRules, Depends(get_workflow_rules)]
CorrelationDep = Annotated[CorrelationConfig, Depends(get_correlation)]

# Path and query parameters that several resources share.
MAX_ID = 2**63 - 1  # the largest integer a database id column holds: a larger id is a 422, never a query


def id_path(description: str) -> Any:
    """A path parameter holding a row id: 1 to :data:`MAX_ID`."""
    return Path(ge=1, le=MAX_ID, description=description)


CameraId = Annotated[str, Path(description="Camera id from the configuration.")]
RangeStart = Annotated[
    AwareDatetime | None, Query(description="Start of the range, with a time zone (default: `end` minus 1 hour).")
]
RangeEnd = Annotated[AwareDatetime | None, Query(description="End of the range, with a time zone (default: now).")]
