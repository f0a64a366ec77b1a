"""Traffic counts: crossings of counting lines per camera, line, class, direction and minute.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "traffic_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("line", sa.String(length=64), nullable=False),
        sa.Column("class_name", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_traffic_counts_camera_id_cameras")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traffic_counts")),
        sa.UniqueConstraint(
            "camera_id",
            "line",
            "class_name",
            "direction",
            "bucket_start",
            name=op.f("uq_traffic_counts_bucket"),
        ),
    )
    op.create_index(
        "ix_traffic_counts_camera_id_bucket_start", "traffic_counts", ["camera_id", "bucket_start"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_traffic_counts_camera_id_bucket_start", table_name="traffic_counts")
    op.drop_table("traffic_counts")
