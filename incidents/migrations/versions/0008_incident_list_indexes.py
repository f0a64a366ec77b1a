"""Indexes for the incident list: each filter with the newest-first order, (column, started_at).

The list filters by status, kind or camera and pages newest first; a composite index lets the
database walk the matching incidents in that order and stop after one page, instead of sorting
every match. Each replaces the single-column index on its first column, which it also serves.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("camera_id", "kind", "status")


def upgrade() -> None:
    for column in _COLUMNS:
        op.create_index(op.f(f"ix_incidents_{column}_started_at"), "incidents", [column, "started_at"], unique=False)
        op.drop_index(op.f(f"ix_incidents_{column}"), table_name="incidents")


def downgrade() -> None:
    for column in _COLUMNS:
        op.create_index(op.f(f"ix_incidents_{column}"), "incidents", [column], unique=False)
        op.drop_index(op.f(f"ix_incidents_{column}_started_at"), table_name="incidents")
