"""The agencies (OPD) incidents are dispatched to, from the workflow configuration."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from api.deps import WorkflowRulesDep
from api.schemas import Out

router = APIRouter(prefix="/api/agencies", tags=["incidents"])


class AgencyOut(Out):
    """An agency an incident can be dispatched to."""

    code: str = Field(description="Agency code, as `agency` in a status change and on incidents.")
    name: str = Field(description="The agency's name.")


@router.get("")
def list_all(rules: WorkflowRulesDep) -> list[AgencyOut]:
    """The agencies incidents can be dispatched to, in the order of the configuration."""
    return [AgencyOut(code=code, name=name) for code, name in rules.agencies.items()]
