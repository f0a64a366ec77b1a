"""The planner process: runs the coverage plans queued through the API, one at a time.

Plans are CPU work of seconds to minutes, so they run here and not in the API process; a plan
that crashes this process is queued again by the next start (see :func:`incidents.plan_jobs.requeue_stale`).
"""

from __future__ import annotations

import json
import logging
import shutil
import threading

from core.settings import Settings
from incidents.db import make_engine, make_session_factory, session_scope
from incidents.plan_jobs import claim_next, fail_plan, finish_plan, plan_dir, report_progress, requeue_stale

logger = logging.getLogger(__name__)

POLL_S = 2.0
PROGRESS_EVERY_S = 2.0


class PlanWorker:
    """Polls the plan queue and runs each plan to its report."""

    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self.settings = settings
        self.stop = stop
        self.engine = make_engine(settings.resolved_database_url)
        self.sessions = make_session_factory(self.engine)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.requeue_stale()
                if not self.run_one():
                    self.stop.wait(POLL_S)
            except Exception:  # loop boundary: a broken database must not end the planner for good
                logger.exception("planner: polling the plan queue failed")
                self.stop.wait(POLL_S * 5)
        self.engine.dispose()

    def requeue_stale(self) -> None:
        """Queue again the plans whose process stopped beating (this one's, before a restart, or another's)."""
        with session_scope(self.sessions) as session:
            if requeued := requeue_stale(session=session):
                logger.warning("%d plan(s) interrupted by a stopped planner: queued again", requeued)

    def run_one(self) -> bool:
        """Run the oldest queued plan; False when none was waiting."""
        with session_scope(self.sessions) as session:
            job = claim_next(session=session)
            if job is None:
                return False
            plan_id, spec = job.id, dict(job.spec)
        logger.info("plan %d: started", plan_id)
        try:
            summary = self._run(plan_id, spec)
        except Exception as err:  # a plan's failure is the plan's answer, not the process's end
            logger.exception("plan %d: failed", plan_id)
            with session_scope(self.sessions) as session:
                fail_plan(plan_id, _reason(err), session=session)
            return True
        with session_scope(self.sessions) as session:
            finish_plan(plan_id, summary, session=session)
        logger.info("plan %d: done", plan_id)
        return True

    def _run(self, plan_id: int, spec_data: dict[str, object]) -> dict[str, object]:
        from planner.plan import run_plan
        from planner.report import write_report
        from planner.spec import PlanSpec

        spec = PlanSpec.model_validate(spec_data)
        latest: list[str | float] = ["started", 0.0]
        done = threading.Event()

        def beat() -> None:  # the heartbeat goes on while a solver holds the thread for minutes
            while not done.wait(PROGRESS_EVERY_S):
                with session_scope(self.sessions) as session:
                    report_progress(plan_id, str(latest[0]), float(latest[1]), session=session)

        def progress(stage: str, fraction: float) -> None:
            latest[:] = [stage, fraction]

        beater = threading.Thread(target=beat, name=f"plan-{plan_id}-heartbeat", daemon=True)
        beater.start()
        try:
            result = run_plan(spec, base_dir=None, settings=self.settings, progress=progress)
            out = plan_dir(self.settings.data_dir, plan_id)
            shutil.rmtree(out, ignore_errors=True)  # a second attempt starts clean
            files = write_report(result, out)
        finally:
            done.set()
            beater.join()
        summary: dict[str, object] = json.loads(files["summary.json"].read_text(encoding="utf-8"))
        summary["files"] = sorted(files)
        return summary


def _reason(err: Exception) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
