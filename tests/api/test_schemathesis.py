"""Generated requests for every operation of the OpenAPI document: no server error, and answers match the schema.

Schemathesis reads the document from the app itself and Hypothesis generates a few requests per
operation (valid and invalid ones), sent as an admin with a fresh API key each (a generated
request may revoke a key or log out). A 5xx fails, and so does an answer whose status the
document describes but whose body does not match it; statuses it does not describe (e.g. a 401
for a revoked key) are not judged here. SQLite only, with a small, fixed set of examples, to stay fast.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.config import AppConfig
from core.settings import Settings
from incidents.accounts import UserRole, create_api_key
from incidents.db import session_scope

# Per operation; MATAKOTA_SCHEMATHESIS_EXAMPLES=100 for a deeper (slower) search.
MAX_EXAMPLES = int(os.environ.get("MATAKOTA_SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [not_a_server_error, response_schema_conformance]
Operation = APIOperation[Any, Any, Any, Any]
SKIPPED = {"/api/events/stream"}  # Server-Sent Events: the answer never ends


@pytest.fixture
def quiet_app(api_settings: Settings, session_factory: sessionmaker[Session], config: AppConfig) -> FastAPI:
    """The app with webhooks held back: generated subscriptions must not send anything anywhere."""
    webhooks = config.webhooks.model_copy(update={"enabled": False})
    return create_app(api_settings, config.model_copy(update={"webhooks": webhooks}))


@pytest.fixture
def api_schema(quiet_app: FastAPI) -> BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", quiet_app)


def _admin_headers(session_factory: sessionmaker[Session]) -> dict[str, str]:
    with session_scope(session_factory) as session:
        _, secret = create_api_key("schemathesis", UserRole.ADMIN, session=session, created_by="tests")
    return {"Authorization": f"Bearer {secret}"}


def _failure(operation: Operation, session_factory: sessionmaker[Session]) -> str | None:
    """The first generated request of ``operation`` that fails a check, described; None when all pass."""
    modes = [operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]

    @given(case=st.one_of(modes))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case[Operation]) -> None:
        case.call_and_validate(headers=_admin_headers(session_factory), checks=CHECKS)

    try:
        check()
    except (Exception, FailureGroup) as err:  # every failing operation is reported, not just the first
        return f"{operation.method.upper()} {operation.path}: {_summary(err)}"
    return None


def _summary(err: BaseException) -> str:
    """What failed, in a few lines: each failed check's title, and the request that reproduces it."""
    lines = str(err).splitlines()
    keep = [line.strip(" |") for line in lines if line.strip(" |").startswith(("- ", "[", "curl ", "Validated"))]
    if not keep:  # an exception the app raised (a 500): the message, and the example Hypothesis noted
        keep = [f"{type(err).__name__}: {str(err)[:500]}", *getattr(err, "__notes__", [])]
    return "\n  ".join(keep[:12])


@pytest.mark.sqlite_only
def test_no_generated_request_gets_a_server_error_or_an_answer_off_schema(
    api_schema: BaseSchema, session_factory: sessionmaker[Session]
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) > 40  # the whole API, not a fraction of it
    failures = [
        failure
        for operation in operations
        if operation.path not in SKIPPED and (failure := _failure(operation, session_factory)) is not None
    ]
    assert not failures, "\n\n".join(failures)
