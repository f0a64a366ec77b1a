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


class TransitionNotAllowed(MataKotaError):
    """The incident cannot go to the requested status from where it is; the message says why."""


class TransitionInvalid(MataKotaError):
    """A status change lacks what it needs or names something that does not exist (an agency, an incident)."""


class ReportNotFound(NotFoundError):
    """No citizen report (or service) has the requested id or token."""


class ReportInvalid(MataKotaError):
    """A citizen report lacks what it needs (a location, a known service) or has a bad value."""


class MediaRejected(ReportInvalid):
    """An uploaded file is not an image we accept; nothing of it is stored."""


class MediaTooLarge(MediaRejected):
    """An uploaded file is larger than the limit; nothing of it is stored."""


class RateLimited(MataKotaError):
    """A client sent too many requests; ``retry_after_s`` says when it may try again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class SnapshotNotFound(NotFoundError):
    """No snapshot request has the requested id, or its picture is not ready (or gone)."""


class LiveViewUnavailable(MataKotaError):
    """The camera has no stream the live view can play (no RTSP input)."""


class OfferInvalid(MataKotaError):
    """A live-view offer is not SDP that asks for video; the message says why."""


class ViewerLimitReached(StreamUnavailable):
    """The camera already has as many live viewers as its configuration allows."""


class SnapshotFailed(MataKotaError):
    """The camera could not give the requested picture; the message says why."""


class AuthenticationFailed(MataKotaError):
    """Wrong, unknown or inactive credentials; the message never says which."""


class AccountInvalid(MataKotaError):
    """A user or API key cannot be created as asked: a taken username, a too short password, a bad name."""


class AccountExists(AccountInvalid):
    """The username is taken."""


class ApiKeyNotFound(NotFoundError):
    """No API key has the requested id."""


class LinkNotFound(NotFoundError):
    """No link between two incidents has the requested id."""


class LinkNotAllowed(TransitionNotAllowed):
    """A report or incident link cannot be made or changed from where it is; the message says why."""


class PlanNotFound(NotFoundError):
    """No coverage plan has this id."""


class PlanInvalid(MataKotaError):
    """A plan request that cannot be run as given (a path the server may not read, a file that is missing)."""
