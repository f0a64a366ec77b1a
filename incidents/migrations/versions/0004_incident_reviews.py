"""Operators' reviews of incidents (confirmed or false positive), for reports and training datasets.

Also: camera health incidents now pass through the incident recorder, which matches them by zone
``camera``; those stored before without a zone get it, so one left open still ends on recovery.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The verdict is a plain VARCHAR (no CHECK, no native enum), like every other state column,
    # so later verdicts need no table rebuild on SQLite and no ALTER TYPE on PostgreSQL.
    op.create_table(
        "incident_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=100), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_reviews_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_reviews")),
    )
    op.create_index(
        "ix_incident_reviews_incident_id_reviewed_at", "incident_reviews", ["incident_id", "reviewed_at"], unique=False
    )
    op.create_index(op.f("ix_incident_reviews_verdict"), "incident_reviews", ["verdict"], unique=False)
    op.execute("UPDATE incidents SET zone = 'camera' WHERE kind = 'camera_health' AND zone IS NULL")


def downgrade() -> None:
    op.drop_table("incident_reviews")  # its indexes go with it
    op.execute("UPDATE incidents SET zone = NULL WHERE kind = 'camera_health' AND zone = 'camera'")
