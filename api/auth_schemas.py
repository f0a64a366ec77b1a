"""Request and response models of login, users and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.schemas import Out
from incidents.accounts import MIN_PASSWORD_LENGTH, ApiKey, Principal, User, UserRole


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginIn(_In):
    """A user's credentials."""

    username: str = Field(min_length=1, max_length=64, description="The username.")
    password: str = Field(min_length=1, max_length=1024, description="The password.")


class PrincipalOut(Out):
    """Who the credentials belong to."""

    name: str = Field(description="The username, or `key:<name>` for an API key.")
    role: UserRole = Field(description="operator, supervisor, admin or integration.")
    kind: Literal["user", "apikey"] = Field(description="A logged-in user, or an API key.")

    @classmethod
    def from_principal(cls, principal: Principal) -> PrincipalOut:
        """The answer for ``principal``."""
        return cls(name=principal.name, role=principal.role, kind=principal.kind)


class LoginUserOut(Out):
    """The user who logged in."""

    username: str = Field(description="The username.")
    role: UserRole = Field(description="operator, supervisor, admin or integration.")


class LoginOut(Out):
    """A login token; the same token is set as the `matakota_session` cookie."""

    token: str = Field(description="Send it as `Authorization: Bearer <token>`; it starts with `mks_`.")
    expires_at: datetime = Field(description="When the token stops working.")
    user: LoginUserOut = Field(description="Who logged in.")


class UserIn(_In):
    """A new user."""

    username: str = Field(
        pattern=r"^[A-Za-z0-9._@-]{1,64}$", description="1-64 letters, digits, '.', '_', '@' or '-'; unique."
    )
    password: str = Field(
        min_length=MIN_PASSWORD_LENGTH, max_length=1024, description=f"At least {MIN_PASSWORD_LENGTH} characters."
    )
    role: UserRole = Field(description="operator, supervisor, admin or integration.")
    display_name: str | None = Field(default=None, max_length=100, description="The person's name, for display.")


class UserOut(Out):
    """A user (never the password or its hash)."""

    id: int = Field(description="User id.")
    username: str = Field(description="The username.")
    display_name: str | None = Field(description="The person's name, if given.")
    role: UserRole = Field(description="operator, supervisor, admin or integration.")
    active: bool = Field(description="Whether the user may log in.")
    created_at: datetime = Field(description="When the user was created.")
    last_login_at: datetime | None = Field(description="When the user last logged in; null if never.")

    @classmethod
    def from_model(cls, user: User) -> UserOut:
        """The answer for ``user``."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            active=user.active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class ApiKeyIn(_In):
    """A new API key."""

    name: str = Field(min_length=1, max_length=100, description="What uses it, e.g. `prometheus` or `dishub-app`.")
    role: UserRole = Field(description="operator, supervisor, admin or integration (read-only, for other systems).")
    expires_at: AwareDatetime | None = Field(default=None, description="When it stops working; null: never.")


class ApiKeyOut(Out):
    """An API key, without its secret (only its first characters)."""

    id: int = Field(description="API key id.")
    name: str = Field(description="What uses it.")
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    role: UserRole = Field(description="operator, supervisor, admin or integration.")
    created_at: datetime = Field(description="When it was created.")
    created_by: str = Field(description="Who created it.")
    expires_at: datetime | None = Field(description="When it stops working; null: never.")
    last_used_at: datetime | None = Field(description="When it was last used (to the minute); null if never.")
    revoked_at: datetime | None = Field(description="When it was revoked; null while it works.")

    @classmethod
    def from_model(cls, key: ApiKey) -> ApiKeyOut:
        """The answer for ``key``."""
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            role=key.role,
            created_at=key.created_at,
            created_by=key.created_by,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreatedOut(ApiKeyOut):
    """A new API key with its secret, shown this once."""

    key: str = Field(description="The key: send it as `Authorization: Bearer <key>`. It is not shown again.")
