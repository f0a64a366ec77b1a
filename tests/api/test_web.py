"""The web UI's static files: served at /ui/, public, complete, and with matching translations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.web import STATIC_DIR

LANGS = ("id", "en")
I18N_VIEWS = ("core", "queue", "incident", "report", "wall", "map", "health", "plans")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".html": "text/html"}


def _static_files(suffix: str) -> list[Path]:
    return sorted(p for p in STATIC_DIR.rglob(f"*{suffix}") if "vendor" not in p.relative_to(STATIC_DIR).parts)


def test_the_root_redirects_to_the_ui(anon_client: TestClient) -> None:
    response = anon_client.get("/", follow_redirects=False)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/ui/"


def test_the_ui_serves_its_shell_without_credentials_while_the_data_needs_them(anon_client: TestClient) -> None:
    shell = anon_client.get("/ui/")
    assert shell.status_code == 200
    assert shell.headers["content-type"].startswith("text/html")
    assert '<main id="view"' in shell.text
    assert anon_client.get("/api/incidents").status_code == 401


def test_every_file_the_shell_references_is_served_with_its_content_type(anon_client: TestClient) -> None:
    shell = anon_client.get("/ui/").text
    referenced = re.findall(r'(?:href|src)="(/ui/[^"?#]+)', shell)
    assert "/ui/js/app.js" in referenced
    assert {
        f"/ui/css/{name}.css" for name in ("app", "queue", "incident", "report", "wall", "map", "health", "plans")
    } <= set(referenced)
    for path in referenced:
        response = anon_client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(CONTENT_TYPES[Path(path).suffix]), path


def test_every_view_module_the_app_imports_is_served_as_javascript(anon_client: TestClient) -> None:
    app_js = anon_client.get("/ui/js/app.js").text
    listed = re.search(r"const VIEW_MODULES = \[([^\]]*)\]", app_js)
    assert listed is not None
    views = re.findall(r'"(\w+)"', listed.group(1))
    assert {"login", "queue", "incident", "report", "wall", "map", "health", "plans"} <= set(views)
    for view in views:
        response = anon_client.get(f"/ui/js/views/{view}.js")
        assert response.status_code == 200, view
        assert response.headers["content-type"].startswith("text/javascript")
        assert "registerView(" in response.text


def test_every_relative_import_of_a_module_exists() -> None:
    for module in _static_files(".js"):
        source = module.read_text(encoding="utf-8")
        for target in re.findall(r'^\s*(?:import|\})[^\n]*?from\s+"(\.{1,2}/[^"]+)"', source, re.MULTILINE):
            assert (module.parent / target).resolve().is_file(), f"{module.name} imports {target}"


@pytest.mark.parametrize("view", I18N_VIEWS)
def test_each_view_has_valid_translations_with_the_same_keys_in_every_language(
    view: str, anon_client: TestClient
) -> None:
    tables = {}
    for lang in LANGS:
        response = anon_client.get(f"/ui/i18n/{lang}/{view}.json")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        tables[lang] = json.loads(response.text)
        assert all(isinstance(v, str) for v in tables[lang].values()), f"{lang}/{view}: strings only"
        assert all(k.startswith(f"{view}.") for k in tables[lang]), f"{lang}/{view}: keys start with '{view}.'"
    assert set(tables["id"]) == set(tables["en"])


def test_the_ui_is_revalidated_and_vendored_files_are_cached_for_long(anon_client: TestClient) -> None:
    first = anon_client.get("/ui/js/app.js")
    assert first.headers["cache-control"] == "no-cache"
    again = anon_client.get("/ui/js/app.js", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert "immutable" in anon_client.get("/ui/css/app.css?v=1").headers["cache-control"]
    vendored = [p for p in STATIC_DIR.rglob("*") if p.is_file() and "vendor" in p.relative_to(STATIC_DIR).parts]
    for path in vendored[:1]:
        response = anon_client.get("/ui/" + path.relative_to(STATIC_DIR).as_posix())
        assert "immutable" in response.headers["cache-control"]


def test_the_agencies_are_listed_from_the_workflow_configuration(client: TestClient) -> None:
    agencies = client.get("/api/agencies").json()
    assert agencies
    assert all(set(agency) == {"code", "name"} for agency in agencies)
    assert "DLH" in {agency["code"] for agency in agencies}
