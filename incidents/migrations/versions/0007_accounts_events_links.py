"""Users, API keys and login tokens; the incident change feed and its webhook deliveries; citizens'
reports linked to cameras and incidents to their twins; snapshot requests; cameras' view sector.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

_TS = sa.DateTime(timezone=True)

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_prefix"), "api_keys", ["prefix"], unique=False)

    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_incident_events_created_at"), "incident_events", ["created_at"], unique=False)
    op.create_index("ix_incident_events_subject_subject_id", "incident_events", ["subject", "subject_id"], unique=False)
    op.create_index(op.f("ix_incident_events_type"), "incident_events", ["type"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_login_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("cursor_event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_tokens_token_hash")),
    )
    op.create_index(op.f("ix_auth_tokens_user_id"), "auth_tokens", ["user_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_attempt_at", _TS, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["incident_events.id"], name=op.f("fk_webhook_deliveries_event_id_incident_events")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("subscription_id", "event_id", name=op.f("uq_webhook_deliveries_subscription_id_event_id")),
    )
    op.create_index(op.f("ix_webhook_deliveries_event_id"), "webhook_deliveries", ["event_id"], unique=False)
    op.create_index(
        "ix_webhook_deliveries_status_next_attempt_at",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )

    op.create_table(
        "incident_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("linked_incident_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("distance_m", sa.Double(), nullable=True),
        sa.Column("gap_s", sa.Double(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_links_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["linked_incident_id"], ["incidents.id"], name=op.f("fk_incident_links_linked_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_links")),
        sa.UniqueConstraint(
            "incident_id", "linked_incident_id", name=op.f("uq_incident_links_incident_id_linked_incident_id")
        ),
    )
    op.create_index(op.f("ix_incident_links_incident_id"), "incident_links", ["incident_id"], unique=False)
    op.create_index(
        op.f("ix_incident_links_linked_incident_id"), "incident_links", ["linked_incident_id"], unique=False
    )

    op.create_table(
        "report_cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("distance_m", sa.Double(), nullable=False),
        sa.Column("bearing_deg", sa.Double(), nullable=False),
        sa.Column("in_view", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_report_cameras_camera_id_cameras")),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["citizen_reports.id"],
            name=op.f("fk_report_cameras_report_id_citizen_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_cameras")),
        sa.UniqueConstraint("report_id", "camera_id", name=op.f("uq_report_cameras_report_id_camera_id")),
    )
    op.create_index(op.f("ix_report_cameras_camera_id"), "report_cameras", ["camera_id"], unique=False)
    op.create_index(op.f("ix_report_cameras_report_id"), "report_cameras", ["report_id"], unique=False)

    op.create_table(
        "snapshot_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("deadline_at", _TS, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=True),
        sa.Column("frame_at", _TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("completed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_snapshot_requests_camera_id_cameras")),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_snapshot_requests_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["citizen_reports.id"],
            name=op.f("fk_snapshot_requests_report_id_citizen_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot_requests")),
    )
    op.create_index(op.f("ix_snapshot_requests_camera_id"), "snapshot_requests", ["camera_id"], unique=False)
    op.create_index(op.f("ix_snapshot_requests_incident_id"), "snapshot_requests", ["incident_id"], unique=False)
    op.create_index(op.f("ix_snapshot_requests_report_id"), "snapshot_requests", ["report_id"], unique=False)
    op.create_index(
        "ix_snapshot_requests_status_requested_at", "snapshot_requests", ["status", "requested_at"], unique=False
    )

    # Plain ADD COLUMN with a default for the rows already there: no table rebuild (see 0005).
    op.add_column("cameras", sa.Column("fov_deg", sa.Double(), nullable=False, server_default="60"))
    op.add_column("cameras", sa.Column("range_m", sa.Double(), nullable=False, server_default="80"))

    op.add_column("citizen_reports", sa.Column("correlated_at", _TS, nullable=True))
    op.add_column("citizen_reports", sa.Column("camera_confirmed_at", _TS, nullable=True))


def downgrade() -> None:
    for column in ("camera_confirmed_at", "correlated_at"):
        op.drop_column("citizen_reports", column)

    for column in ("range_m", "fov_deg"):
        op.drop_column("cameras", column)

    op.drop_table("snapshot_requests")

    op.drop_table("report_cameras")

    op.drop_table("incident_links")

    op.drop_table("webhook_deliveries")

    op.drop_table("auth_tokens")
    op.drop_table("webhook_subscriptions")
    op.drop_table("users")

    op.drop_table("incident_events")

    op.drop_table("api_keys")
