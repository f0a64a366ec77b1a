"""The OpenAPI document reads well: every schema field and every list parameter is described."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _undescribed(schemas: dict[str, Any]) -> list[str]:
    missing = []
    for name, schema in schemas.items():
        for field, spec in schema.get("properties", {}).items():
            if not spec.get("description"):
                missing.append(f"{name}.{field}")
    return missing


def test_every_schema_field_in_the_openapi_document_has_a_description(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert {"HealthOut", "CameraOut", "CameraStatusOut", "IncidentOut", "IncidentPage", "ErrorOut"} <= set(schemas)
    assert _undescribed(schemas) == []


def test_every_parameter_has_a_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    listed = {p["name"] for p in paths["/api/incidents"]["get"]["parameters"]}
    assert listed == {"camera_id", "kind", "status", "started_after", "started_before", "overdue", "limit", "offset"}
    undescribed = [
        f"{method} {path} {parameter['name']}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert undescribed == []


def test_the_document_describes_the_service_and_its_tags(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["info"]["title"] == "Mata Kota"
    assert "CCTV" in document["info"]["description"]
    assert {t["name"] for t in document["tags"] if t.get("description")} == {
        "health",
        "cameras",
        "incidents",
        "reports",
        "open311",
        "citizen reports",
        "webhooks",
        "auth",
        "events",
        "map",
        "plans",
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("description") or operation.get("summary"), f"{method} {path}"
