"""People and machines allowed into the API: users with hashed passwords, their login tokens, API keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from incidents.models import Base
from incidents.types import StrEnumType, utcnow


class UserRole(StrEnum):
    """What a user or an API key may do; each role may do what the ones before it may (but integration)."""

    OPERATOR = "operator"  # reads everything operators see, works incidents and citizens' reports
    SUPERVISOR = "supervisor"  # an operator who may also merge incidents and read the reports
    ADMIN = "admin"  # everything: users, API keys, webhook subscriptions
    INTEGRATION = "integration"  # another city application: reads incidents, cameras and the feed


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
