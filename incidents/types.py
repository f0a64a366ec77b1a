"""Column types that keep datetimes timezone-aware UTC and enums typed on every database."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, Dialect, String
from sqlalchemy.types import TypeDecorator

E = TypeVar("E", bound=StrEnum)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def clip(text: str | None, length: int) -> str | None:
    """``text`` cut to a ``VARCHAR(length)`` column: PostgreSQL refuses longer values (SQLite keeps them)."""
    if text is None or len(text) <= length:
        return text
    return text[: length - 1] + "…"


def from_ts(ts: float) -> datetime:
    """A float epoch time (as in :mod:`core.messages`) as a timezone-aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A ``DateTime(timezone=True)`` that refuses naive values and always returns aware UTC.

    SQLite has no time zones: values are stored there as naive UTC and given ``UTC`` back on load.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give it a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class StrEnumType(TypeDecorator[E]):
    """A ``StrEnum`` stored as its value in a plain ``VARCHAR`` (no CHECK constraint).

    Without a constraint, later issues can add states without rebuilding SQLite tables.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[E], length: int = 32) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_cls(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_cls(value)
