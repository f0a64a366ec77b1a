"""Domain errors; the API maps them to HTTP statuses in one place."""

from __future__ import annotations


class MataKotaError(Exception):
    """Base class of every error Mata Kota raises on purpose."""


class ConfigError(MataKotaError):
    """The camera configuration is invalid; ``issues`` holds one line per problem."""

    def __init__(self, source: str, issues: list[str]) -> None:
        self.source = source
        self.issues = issues
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"{source}: {len(issues)} configuration error(s):\n{lines}")


class NotFoundError(MataKotaError):
    """A requested resource does not exist."""


class IncidentNotFound(NotFoundError):
    """No incident has the requested id."""


class CameraNotFound(NotFoundError):
    """No camera has the requested id."""


class EvidenceUnavailable(NotFoundError):
    """The incident has no such evidence, or it is not ready yet."""


class ModelUnavailable(MataKotaError):
    """A model's weights could not be found locally nor downloaded."""


class StreamUnavailable(MataKotaError):
    """A camera stream could not be opened or stopped delivering."""
