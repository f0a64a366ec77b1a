"""An incident as a CAP 1.2 alert (OASIS Common Alerting Protocol), for alerting systems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from api.deps import SessionDep, SettingsDep, WorkflowRulesDep, id_path
from api.schemas import ErrorOut
from incidents.cap import MEDIA_TYPE, CapProfile, build_alert, revisions
from incidents.queries import get_incident

router = APIRouter(prefix="/api/incidents", tags=["incidents"])

EXAMPLE = """\
<?xml version='1.0' encoding='utf-8'?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>matakota-palembang.go.id-incident-7-1</identifier>
  <sender>matakota@palembang.go.id</sender>
  <sent>2026-11-29T13:15:02+07:00</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <references>matakota@palembang.go.id,matakota-palembang.go.id-incident-7-0,2026-11-29T13:02:40+07:00</references>
  <info>
    <language>id-ID</language>
    <category>Met</category><category>Env</category>
    <event>Genangan / banjir</event>
    <responseType>Avoid</responseType>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <area><areaDesc>Jl. Jend. Sudirman, Kel. 20 Ilir D I, Kec. Ilir Timur I</areaDesc>
      <circle>-2.990900,104.756600 0.080</circle></area>
  </info>
</alert>
"""


@router.get(
    "/{incident_id}/cap",
    response_class=Response,
    responses={
        200: {
            "description": "The CAP 1.2 alert of the incident's latest revision (abridged example); one info block "
            "in Indonesian (`id-ID`) and one in English (`en-US`).",
            "content": {MEDIA_TYPE: {"example": EXAMPLE}},
        },
        404: {"model": ErrorOut, "description": "No such incident."},
    },
)
def get_cap(
    incident_id: Annotated[int, id_path("Incident id.")],
    request: Request,
    session: SessionDep,
    rules: WorkflowRulesDep,
    settings: SettingsDep,
) -> Response:
    """The incident as a CAP 1.2 alert: `Alert`, then an `Update` per change, or a `Cancel` when it was none."""
    incident = get_incident(incident_id, session=session)
    document = build_alert(
        incident,
        revision_times=revisions(incident, session=session),
        rules=rules,
        profile=CapProfile.from_settings(settings),
        base_url=str(request.base_url).rstrip("/"),
    )
    return Response(document, media_type=MEDIA_TYPE)
