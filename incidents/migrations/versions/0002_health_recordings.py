"""Camera health spans, process exits, continuous-recording segments, component status.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "component_status",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_component_status")),
    )
    op.create_table(
        "process_exits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process", sa.String(length=100), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("signal_name", sa.String(length=16), nullable=True),
        sa.Column("ran_s", sa.Double(), nullable=False),
        sa.Column("restart_in_s", sa.Double(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_exits")),
    )
    for column in ("at", "camera_id", "process"):
        op.create_index(op.f(f"ix_process_exits_{column}"), "process_exits", [column], unique=False)
    op.create_table(
        "camera_state_spans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_camera_state_spans_camera_id_cameras")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_state_spans")),
    )
    op.create_index(
        "ix_camera_state_spans_camera_id_started_at", "camera_state_spans", ["camera_id", "started_at"], unique=False
    )
    op.create_index(op.f("ix_camera_state_spans_ended_at"), "camera_state_spans", ["ended_at"], unique=False)
    op.create_table(
        "recording_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("start_at", _TS, nullable=False),
        sa.Column("end_at", _TS, nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_recording_segments_camera_id_cameras")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_segments")),
        sa.UniqueConstraint("path", name=op.f("uq_recording_segments_path")),
    )
    op.create_index(
        "ix_recording_segments_camera_id_start_at", "recording_segments", ["camera_id", "start_at"], unique=False
    )
    # Existing camera rows get neutral values; the next status report fills them in.
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(sa.Column("bitrate_kbps", sa.Double(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("reconnects_hour", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("metrics", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("cameras") as batch:
        for column in ("bitrate_kbps", "reconnects_hour", "metrics"):
            batch.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        for column in ("metrics", "reconnects_hour", "bitrate_kbps"):
            batch.drop_column(column)
    op.drop_table("recording_segments")
    op.drop_table("camera_state_spans")
    op.drop_table("process_exits")
    op.drop_table("component_status")
