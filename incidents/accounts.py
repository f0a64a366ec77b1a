"""People and machines allowed into the API: users with hashed passwords, their login tokens, API keys."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.errors import AccountExists, AccountInvalid, ApiKeyNotFound, AuthenticationFailed
from incidents.models import Base
from incidents.types import StrEnumType, utcnow


class UserRole(StrEnum):
    """What a user or an API key may do; each role may do what the ones before it may (but integration)."""

    OPERATOR = "operator"  # reads everything, works incidents and citizens' reports
    SUPERVISOR = "supervisor"  # an operator who may also close and reopen incidents
    ADMIN = "admin"  # everything: users, API keys, webhook subscriptions
    INTEGRATION = "integration"  # another city application: reads everything readable and the feed, writes nothing


class User(Base):
    """A person who logs in with a password (stored as an argon2 hash, never in clear)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(StrEnumType(UserRole))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"User(username={self.username!r}, role={self.role!s})"


class AuthToken(Base):
    """A bearer token a user got by logging in; only its SHA-256 is stored."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiKey(Base):
    """A key a machine sends as ``Authorization: Bearer <key>``; only its SHA-256 is stored.

    ``prefix`` (the key's first characters) is kept in clear so an administrator can tell keys apart.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[UserRole] = mapped_column(StrEnumType(UserRole))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"ApiKey(name={self.name!r}, prefix={self.prefix!r}, role={self.role!s})"


MIN_PASSWORD_LENGTH = 8
API_KEY_PREFIX = "mk_"  # API keys start with it, so a leaked one is recognisable (and greppable)
TOKEN_PREFIX = "mks_"  # noqa: S105 (a prefix, not a secret): login (session) tokens start with it
PREFIX_LENGTH = 8  # characters of a key kept in clear to tell keys apart
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often, not on every request
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")  # no ':' so no username looks like an API key's `key:<name>`

_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who sends a request: a logged-in user or an API key, and its role."""

    name: str  # the username, or ``key:<name>`` for an API key
    role: UserRole
    kind: Literal["user", "apikey"]


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so that answer takes as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


def create_user(
    username: str, password: str, role: UserRole, *, session: Session, display_name: str | None = None
) -> User:
    """A new active user whose password is stored as an argon2 hash.

    Raises:
        AccountExists: when the username is taken.
        AccountInvalid: when the username has characters other than letters, digits and ``._@-``
            (or more than 64), or the password is shorter than :data:`MIN_PASSWORD_LENGTH`.
    """
    if not _USERNAME.fullmatch(username):
        raise AccountInvalid(f"username {username!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountInvalid(f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountExists(f"username {username!r} is taken")
    user = User(
        username=username, display_name=display_name, password_hash=_hasher.hash(password), role=role, active=True
    )
    session.add(user)
    session.flush()
    return user


def authenticate(username: str, password: str, *, session: Session, now: datetime | None = None) -> User:
    """The active user with this username and password; its hash is renewed when the parameters changed.

    An unknown username costs as much time as a wrong password.

    Raises:
        AuthenticationFailed: for an unknown user, a wrong password or an inactive user, with one message.
    """
    user = session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user is not None else _dummy_hash(), password)
        verified = user is not None
    except (VerificationError, InvalidHashError):
        verified = False
    if user is None or not verified or not user.active:
        raise AuthenticationFailed("wrong username or password, or the account is disabled")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now or utcnow()
    session.flush()
    return user


def issue_token(user: User, *, session: Session, ttl: timedelta, now: datetime | None = None) -> str:
    """A new login token of ``user``, valid for ``ttl``; only its SHA-256 is stored."""
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(AuthToken(token_hash=_sha256(token), user_id=user.id, created_at=now, expires_at=now + ttl))
    session.flush()
    return token


def revoke_token(token: str, *, session: Session, now: datetime | None = None) -> None:
    """Revoke a login token (logout); nothing happens for an unknown or already revoked one."""
    row = session.scalar(select(AuthToken).where(AuthToken.token_hash == _sha256(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()


def create_api_key(
    name: str,
    role: UserRole,
    *,
    session: Session,
    created_by: str,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new API key and its plaintext, which is shown once and never stored (only its SHA-256 is).

    Raises:
        AccountInvalid: when the name is empty or longer than 100 characters.
    """
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise AccountInvalid("an API key needs a name of 1-100 characters")
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        key_hash=_sha256(secret),
        role=role,
        created_by=created_by,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, secret


def list_api_keys(*, session: Session) -> list[ApiKey]:
    """Every API key, revoked ones too, oldest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def list_users(*, session: Session) -> list[User]:
    """Every user, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def revoke_api_key(key_id: int, *, session: Session, now: datetime | None = None) -> ApiKey:
    """Revoke an API key for good; revoking it again changes nothing.

    Raises:
        ApiKeyNotFound: when there is no such key.
    """
    key = session.get(ApiKey, key_id)
    if key is None:
        raise ApiKeyNotFound(f"API key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
        session.flush()
    return key


def resolve_bearer(secret: str, *, session: Session, now: datetime) -> Principal | None:
    """Who ``secret`` (an API key or a login token) belongs to; None when it is unknown, revoked or expired.

    ``last_used_at`` is written at most once a minute, so most requests write nothing.
    """
    if secret.startswith(API_KEY_PREFIX):
        key = session.scalar(select(ApiKey).where(ApiKey.key_hash == _sha256(secret)))
        if key is None or key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
            return None
        _touch(key, now, session)
        return Principal(name=f"key:{key.name}", role=key.role, kind="apikey")
    if secret.startswith(TOKEN_PREFIX):
        found = session.execute(
            select(AuthToken, User)
            .join(User, AuthToken.user_id == User.id)
            .where(AuthToken.token_hash == _sha256(secret))
        ).first()
        if found is None:
            return None
        token, user = found
        if token.revoked_at is not None or token.expires_at <= now or not user.active:
            return None
        _touch(token, now, session)
        return Principal(name=user.username, role=user.role, kind="user")
    return None


def _touch(row: ApiKey | AuthToken, now: datetime, session: Session) -> None:
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        row.last_used_at = now
        session.flush()
