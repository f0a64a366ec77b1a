"""Domain errors to HTTP answers, in one place: ``{"detail": ...}`` with the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from core.errors import MataKotaError, ModelUnavailable, NotFoundError, StreamUnavailable

logger = logging.getLogger(__name__)

# Checked in order; the first class the error is an instance of decides the status.
_STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, 404),
    (StreamUnavailable, 503),
    (ModelUnavailable, 503),
    (MataKotaError, 400),  # any other domain error: the request asked for something not allowed
)


def install_error_handlers(app: FastAPI) -> None:
    """Answer domain errors with their status and message, and anything else with a bare 500."""
    app.add_exception_handler(MataKotaError, _domain_error)
    app.add_exception_handler(Exception, _internal_error)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status = next(code for cls, code in _STATUS_BY_ERROR if isinstance(exc, cls))
    if status >= 500:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # The message may hold internals (paths, SQL): it goes to the log, not to the client.
    logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)
