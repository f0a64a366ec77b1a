"""Remove credentials from URLs before they reach a log line or an API answer."""

from __future__ import annotations

import re

# scheme://user:password@host  or  scheme://user@host
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<cred>[^/@\s]+)@")


def redact_url(text: str) -> str:
    """Replace the ``user:password@`` part of every URL in ``text`` with ``***:***@``.

    >>> redact_url("rtsp://admin:s3cret@10.0.0.7:554/ch1")
    'rtsp://***:***@10.0.0.7:554/ch1'
    """
    return _CREDENTIALS.sub(lambda m: f"{m.group('scheme')}***:***@", text)
