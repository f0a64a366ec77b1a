"""The operators' web UI: static HTML, CSS and ES modules served at ``/ui/``, with no build step.

The files hold no data, so they are public (see :data:`api.auth.PUBLIC_PREFIXES`); every piece of
data the UI shows comes from the authenticated API. Caching: files under ``vendor/`` carry their
version in their name and are cached for a year; any file requested with a ``?v=`` query is too (the
version changes the URL); everything else is revalidated on each load with its ETag, so a deploy is
picked up at once while an unchanged file costs only a 304.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
MOUNT_PATH = "/ui"
LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # cache, but ask with the ETag before each use

CONTENT_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json"}


class WebFiles(StaticFiles):
    """StaticFiles with the UI's cache headers, and JavaScript served as ``text/javascript`` everywhere."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            versioned = b"v=" in scope.get("query_string", b"")
            immutable = path.replace("\\", "/").startswith("vendor/") or versioned
            response.headers["Cache-Control"] = LONG_CACHE if immutable else REVALIDATE
            content_type = CONTENT_TYPES.get(Path(path).suffix)
            if content_type is not None and response.status_code == 200:
                charset = "; charset=utf-8" if content_type.startswith("text/") else ""
                response.headers["Content-Type"] = content_type + charset
        return response


def install(app: FastAPI) -> None:
    """Serve the web UI at ``/ui/`` (``/ui/`` answers with ``index.html``)."""
    app.mount(MOUNT_PATH, WebFiles(directory=STATIC_DIR, html=True), name="ui")
