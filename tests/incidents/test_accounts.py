"""Users, login tokens and API keys: hashing, authentication, revocation, expiry."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.errors import AccountExists, AccountInvalid, ApiKeyNotFound, AuthenticationFailed
from incidents.accounts import (
    ApiKey,
    AuthToken,
    Principal,
    User,
    UserRole,
    authenticate,
    create_api_key,
    create_user,
    issue_token,
    resolve_bearer,
    revoke_api_key,
    revoke_token,
)
from incidents.db import session_scope
from incidents.types import utcnow

PASSWORD = "kopi-susu-42"


def test_a_users_password_is_stored_as_an_argon2_hash_not_in_clear(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        create_user("rina", PASSWORD, UserRole.OPERATOR, session=session, display_name="Rina")
    with session_scope(session_factory) as session:
        user = session.scalars(select(User)).one()
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert PasswordHasher().verify(user.password_hash, PASSWORD)
        assert (user.display_name, user.role, user.active) == ("Rina", UserRole.OPERATOR, True)


@pytest.mark.parametrize(
    ("username", "password", "error"),
    [
        ("rina", PASSWORD, AccountExists),
        ("budi", "short", AccountInvalid),
        ("key:budi", PASSWORD, AccountInvalid),
        ("", PASSWORD, AccountInvalid),
    ],
)
def test_a_taken_username_a_short_password_or_a_bad_name_is_refused(
    session_factory: sessionmaker[Session], username: str, password: str, error: type[Exception]
) -> None:
    with session_scope(session_factory) as session:
        create_user("rina", PASSWORD, UserRole.OPERATOR, session=session)
    with pytest.raises(error), session_scope(session_factory) as session:
        create_user(username, password, UserRole.OPERATOR, session=session)


def test_authenticate_returns_the_user_and_records_the_login(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        create_user("rina", PASSWORD, UserRole.SUPERVISOR, session=session)
    with session_scope(session_factory) as session:
        user = authenticate("rina", PASSWORD, session=session)
        assert user.username == "rina"
        assert user.last_login_at is not None


def test_authenticate_gives_one_message_for_a_wrong_password_an_unknown_user_and_an_inactive_one(
    session_factory: sessionmaker[Session],
) -> None:
    with session_scope(session_factory) as session:
        create_user("rina", PASSWORD, UserRole.OPERATOR, session=session)
        create_user("budi", PASSWORD, UserRole.OPERATOR, session=session).active = False
    messages = set()
    for username, password in [("rina", "wrong-password"), ("nobody", PASSWORD), ("budi", PASSWORD)]:
        with pytest.raises(AuthenticationFailed) as raised, session_scope(session_factory) as session:
            authenticate(username, password, session=session)
        messages.add(str(raised.value))
    assert len(messages) == 1


def test_an_outdated_hash_is_renewed_at_login(session_factory: sessionmaker[Session]) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with session_scope(session_factory) as session:
        session.add(User(username="rina", password_hash=weak, role=UserRole.OPERATOR))
    with session_scope(session_factory) as session:
        authenticate("rina", PASSWORD, session=session)
    with session_scope(session_factory) as session:
        renewed = session.scalars(select(User)).one().password_hash
    assert renewed != weak
    assert not PasswordHasher().check_needs_rehash(renewed)


def test_a_token_is_stored_as_its_sha256_and_resolves_to_its_user_until_it_expires(
    session_factory: sessionmaker[Session],
) -> None:
    now = utcnow()
    with session_scope(session_factory) as session:
        user = create_user("rina", PASSWORD, UserRole.OPERATOR, session=session)
        token = issue_token(user, session=session, ttl=timedelta(hours=1), now=now)
    with session_scope(session_factory) as session:
        stored = session.scalars(select(AuthToken)).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert resolve_bearer(token, session=session, now=now) == Principal("rina", UserRole.OPERATOR, "user")
        assert resolve_bearer(token, session=session, now=now + timedelta(hours=1)) is None
        assert resolve_bearer(token + "x", session=session, now=now) is None


def test_a_revoked_token_and_an_inactive_users_token_resolve_to_nobody(
    session_factory: sessionmaker[Session],
) -> None:
    now = utcnow()
    with session_scope(session_factory) as session:
        rina = create_user("rina", PASSWORD, UserRole.OPERATOR, session=session)
        budi = create_user("budi", PASSWORD, UserRole.OPERATOR, session=session)
        revoked = issue_token(rina, session=session, ttl=timedelta(hours=1), now=now)
        inactive = issue_token(budi, session=session, ttl=timedelta(hours=1), now=now)
        revoke_token(revoked, session=session)
        budi.active = False
    with session_scope(session_factory) as session:
        assert resolve_bearer(revoked, session=session, now=now) is None
        assert resolve_bearer(inactive, session=session, now=now) is None


def test_an_api_key_is_recognisable_stored_hashed_and_resolves_until_revoked(
    session_factory: sessionmaker[Session],
) -> None:
    now = utcnow()
    with session_scope(session_factory) as session:
        key, secret = create_api_key("prometheus", UserRole.INTEGRATION, session=session, created_by="admin")
        key_id = key.id
    assert secret.startswith("mk_") and len(secret) >= 3 + 32
    with session_scope(session_factory) as session:
        stored = session.get(ApiKey, key_id)
        assert stored is not None
        assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert stored.prefix == secret[:8] and secret not in (stored.key_hash, stored.prefix)
        principal = resolve_bearer(secret, session=session, now=now)
        assert principal == Principal("key:prometheus", UserRole.INTEGRATION, "apikey")
        revoke_api_key(key_id, session=session)
    with session_scope(session_factory) as session:
        assert resolve_bearer(secret, session=session, now=now) is None
    with pytest.raises(ApiKeyNotFound), session_scope(session_factory) as session:
        revoke_api_key(key_id + 1, session=session)


def test_an_api_key_stops_working_when_it_expires(session_factory: sessionmaker[Session]) -> None:
    now = utcnow()
    with session_scope(session_factory) as session:
        _, secret = create_api_key(
            "dishub", UserRole.OPERATOR, session=session, created_by="admin", expires_at=now + timedelta(days=1)
        )
    with session_scope(session_factory) as session:
        assert resolve_bearer(secret, session=session, now=now) is not None
        assert resolve_bearer(secret, session=session, now=now + timedelta(days=1)) is None


def test_last_used_is_written_at_most_once_a_minute(session_factory: sessionmaker[Session]) -> None:
    now = utcnow()
    with session_scope(session_factory) as session:
        key, secret = create_api_key("app", UserRole.OPERATOR, session=session, created_by="admin")
        key_id = key.id
    seen = []
    for offset_s in (0, 30, 59, 60, 61):
        with session_scope(session_factory) as session:
            resolve_bearer(secret, session=session, now=now + timedelta(seconds=offset_s))
        with session_scope(session_factory) as session:
            stored = session.get(ApiKey, key_id)
            assert stored is not None and stored.last_used_at is not None
            seen.append((stored.last_used_at - now).total_seconds())
    assert seen == pytest.approx([0, 0, 0, 60, 60], abs=0.01)


def test_a_secret_of_neither_kind_resolves_to_nobody(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        assert resolve_bearer("", session=session, now=utcnow()) is None
        assert resolve_bearer("hunter2", session=session, now=utcnow()) is None
