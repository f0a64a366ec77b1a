"""The operators' incident workflow: who the incident went to and when, and the audit trail of every status change.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("incidents", sa.Column("agency", sa.String(length=32), nullable=True))
    for column in ("acknowledged_at", "dispatched_at", "expected_by", "resolved_at"):
        op.add_column("incidents", sa.Column(column, _TS, nullable=True))
    # Standard SQL that SQLite and PostgreSQL both take: the column with its named, inline foreign
    # key. SQLite cannot add a constraint to a table, and rebuilding incidents (batch mode) with
    # foreign keys on would cascade-delete the evidence rows, so no op.create_foreign_key here.
    op.execute(
        "ALTER TABLE incidents ADD COLUMN merged_into_id INTEGER "
        "CONSTRAINT fk_incidents_merged_into_id_incidents REFERENCES incidents (id)"
    )
    op.create_index(op.f("ix_incidents_agency"), "incidents", ["agency"], unique=False)
    # States are plain VARCHARs (no CHECK, no native enum), like every other state column.
    op.create_table(
        "incident_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", _TS, nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=False),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_audit_incident_id_incidents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_audit")),
    )
    op.create_index("ix_incident_audit_incident_id_id", "incident_audit", ["incident_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("incident_audit")  # its index goes with it
    op.drop_index(op.f("ix_incidents_agency"), table_name="incidents")
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL, which drops the column's foreign key with it),
    # not batch mode: rebuilding incidents on SQLite would cascade-delete their evidence.
    for column in ("merged_into_id", "resolved_at", "expected_by", "dispatched_at", "acknowledged_at", "agency"):
        op.drop_column("incidents", column)
