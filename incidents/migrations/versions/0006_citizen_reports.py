"""Citizens' reports through Open311 (e-lapor).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "citizen_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_request_id", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("service_code", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("address_string", sa.String(length=500), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_notes", sa.Text(), nullable=True),
        sa.Column("agency_responsible", sa.String(length=200), nullable=True),
        sa.Column("requested_datetime", _TS, nullable=False),
        sa.Column("updated_datetime", _TS, nullable=False),
        sa.Column("media_url", sa.String(length=1000), nullable=True),
        sa.Column("media_path", sa.String(length=500), nullable=True),
        sa.Column("original_media_path", sa.String(length=500), nullable=True),
        sa.Column("exif_lat", sa.Double(), nullable=True),
        sa.Column("exif_lon", sa.Double(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_citizen_reports_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_reports")),
        sa.UniqueConstraint("service_request_id", name=op.f("uq_citizen_reports_service_request_id")),
        sa.UniqueConstraint("token", name=op.f("uq_citizen_reports_token")),
    )
    for column in ("service_code", "status", "requested_datetime", "incident_id"):
        op.create_index(op.f(f"ix_citizen_reports_{column}"), "citizen_reports", [column], unique=False)


def downgrade() -> None:
    op.drop_table("citizen_reports")  # its indexes go with it
