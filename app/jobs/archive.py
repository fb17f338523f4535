"""Jobs that Redis no longer holds, read from the record database (`certify_store`).

An ended job's record is its home once recorded (Redis drops its copy), and
after Redis loses its data every job is only there. Reads fall back here when
Redis has no such job; lists are read here first (filters, cursor pages) with
live jobs' views overlaid from Redis. While the database is away, a job only
it holds answers 503, and lists fall back to what Redis still has.
"""

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from app.http.backend import Backend
from app.http.errors import ApiError
from app.jobs.cache import RenderedView
from certify_contract import ACTIVE_STATUSES
from certify_store.records import STAGE_CREATED, JobFilter, JobRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredPage:
    bodies: list[bytes]
    next_cursor: str | None
    more: bool


def stored_body(record: JobRecord) -> bytes:
    return json.dumps(record.view, separators=(",", ":"), ensure_ascii=False).encode()


class Archive:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def record(self, job_id: str) -> JobRecord | None:
        """The job's record; 503 while the database is away (Redis does not hold the job)."""
        try:
            return self.backend.records.job(job_id)
        except SQLAlchemyError as exc:
            log.warning("record store unavailable for job %s: %s", job_id, exc)
            raise ApiError(503, "records_unavailable", "The record database is unreachable and "
                           "Redis no longer holds this job; retry shortly.",
                           headers={"Retry-After": "5"}) from None

    def rendered(self, job_id: str) -> RenderedView | None:
        record = self.record(job_id)
        if record is None:
            return None
        return RenderedView.stored(record.owner, stored_body(record), record.status)

    def page(self, where: JobFilter, limit: int, cursor: str | None, offset: int,
             live: Callable[[str], RenderedView | None]) -> StoredPage | None:
        """Newest first; None when the database cannot answer (the caller reads Redis).

        A record not yet ended shows its live view (`live`, from Redis): its status may have
        moved on since the record was written, so a filter on an active status asks the
        database for every active status and keeps those whose live status matches."""
        wanted = set(where.statuses)
        if wanted & ACTIVE_STATUSES:
            where = replace(where, statuses=sorted(wanted | ACTIVE_STATUSES))
        try:
            page = self.backend.records.jobs(where, limit + offset, cursor)
        except SQLAlchemyError as exc:
            log.warning("record store unavailable for a job list: %s", exc)
            return None
        bodies = []
        for record in page.records[offset:]:
            view = None
            if record.stage == STAGE_CREATED:
                with contextlib.suppress(RedisError):  # Redis away: the record's view stands in
                    view = live(record.job_id)
            if view is None:
                view = RenderedView.stored(record.owner, stored_body(record), record.status)
            if not wanted or view.status in wanted:
                bodies.append(view.body)
        return StoredPage(bodies, page.next_cursor, page.next_cursor is not None)
