"""The thread that sends webhook deliveries from the API process: fan out new events, send due ones, sleep."""

from __future__ import annotations

import logging
import threading

import httpx
from sqlalchemy.orm import Session, sessionmaker

from core.backoff import Backoff
from core.incident_config import WebhooksConfig
from incidents.db import session_scope
from incidents.webhook_delivery import fan_out
from incidents.webhook_dispatch import MAX_PER_STEP, deliver_due

logger = logging.getLogger(__name__)


class WebhookDispatcher:
    """A thread that fans new events out to subscriptions and sends due deliveries, about once a second.

    Several processes may each run one on the same PostgreSQL database: rows are claimed with
    ``FOR UPDATE SKIP LOCKED``, so every attempt is made by one of them.
    """

    def __init__(
        self, session_factory: sessionmaker[Session], config: WebhooksConfig, *, http: httpx.Client | None = None
    ) -> None:
        self.session_factory = session_factory
        self.config = config
        self.http = http or httpx.Client(
            timeout=config.timeout_s, follow_redirects=False, limits=httpx.Limits(max_connections=20)
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)

    def start(self) -> None:
        """Start the loop."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop (an attempt under way ends first, bounded by its timeout) and close the client."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.config.timeout_s * 4 + 5)
        self.http.close()

    def step(self) -> None:
        """Queue deliveries of new events, then send those that are due."""
        with session_scope(self.session_factory) as session:
            fan_out(session=session, commit_grace_s=self.config.commit_grace_s)
        for _ in range(MAX_PER_STEP):
            if self._stop.is_set():
                break
            if deliver_due(session_factory=self.session_factory, http=self.http, config=self.config, limit=1) == 0:
                break

    def _run(self) -> None:
        backoff = Backoff(initial_s=self.config.poll_interval_s, max_s=60.0)
        while not self._stop.is_set():
            try:
                self.step()
                backoff.reset()
                delay = self.config.poll_interval_s
            except Exception:  # loop boundary: keep delivering after a database hiccup, and say so
                logger.exception("webhook dispatcher: step failed")
                delay = backoff.next_delay_s()
            self._stop.wait(delay)
