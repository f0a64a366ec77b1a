"""Domain errors to HTTP answers, in one place: ``{"detail": ...}`` with the right status.

Under ``/open311/`` the answers take GeoReport v2's error format instead,
``[{"code": 400, "description": "..."}]``, and invalid requests are 400s, so Open311 clients understand them.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from core.errors import (
    AccountExists,
    AuthenticationFailed,
    LiveViewUnavailable,
    MataKotaError,
    MediaTooLarge,
    ModelUnavailable,
    NotFoundError,
    RateLimited,
    SnapshotFailed,
    StreamUnavailable,
    TransitionInvalid,
    TransitionNotAllowed,
)

logger = logging.getLogger(__name__)

OPEN311_PREFIX = "/open311/"

# Checked in order; the first class the error is an instance of decides the status.
_STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, 404),
    (AuthenticationFailed, 401),
    (AccountExists, 409),
    (TransitionNotAllowed, 409),  # the incident's status forbids it
    (SnapshotFailed, 409),  # the camera gave no picture for this request: ask again
    (LiveViewUnavailable, 409),  # the camera has no stream to watch live
    (TransitionInvalid, 422),  # the request lacks what the status needs, or names what does not exist
    (MediaTooLarge, 413),
    (RateLimited, 429),
    (StreamUnavailable, 503),
    (ModelUnavailable, 503),
    (MataKotaError, 400),  # any other domain error: the request asked for something not allowed
)


def install_error_handlers(app: FastAPI) -> None:
    """Answer domain errors with their status and message, and anything else with a bare 500."""
    app.add_exception_handler(MataKotaError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status = next(code for cls, code in _STATUS_BY_ERROR if isinstance(exc, cls))
    if status >= 500:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
    if isinstance(exc, AuthenticationFailed):
        headers = {"WWW-Authenticate": "Bearer"}
    if request.url.path.startswith(OPEN311_PREFIX):
        return _open311_error(status, str(exc), headers)
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # the only class this handler is installed for
    if not request.url.path.startswith(OPEN311_PREFIX):
        return await request_validation_exception_handler(request, exc)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
    return _open311_error(400, problems or "invalid request", None)


def _open311_error(status: int, description: str, headers: dict[str, str] | None) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status, headers=headers)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # The message may hold internals (paths, SQL): it goes to the log, not to the client.
    logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)
