"""One chunk of a historical recalculation: read, score, compare, write — and the report it contributes.

A chunk reads its activities with their streams in one query and their athletes' profiles in another,
evaluates the flag once per athlete, scores every activity, and writes only the activities whose stored
values change (one set-based UPDATE), then rebuilds the affected daily loads. The writes and the chunk's
``done`` mark commit together, guarded by the claim token, so a chunk is counted exactly once.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from training.bulk import activities_write_scores
from training.engine import INVALID_HR_DATA
from training.loads import daily_loads_rebuild
from training.models import Activity, RecalculationChunk
from training.scoring import MethodChoice, ProfileBook, Scored, athlete_method, score_activity
from training.streams import StreamFormatError, decode_stream

TOP_MOVERS = 20
ERROR_SAMPLES = 10
# Relative change of TRIMP in percent: the histogram's bucket edges (a bucket is [lower, upper)).
DELTA_EDGES: tuple[float, ...] = (-50.0, -20.0, -10.0, -5.0, -1.0, 1.0, 5.0, 10.0, 20.0, 50.0)

READ_FIELDS = (
    "id",
    "athlete_id",
    "local_date",
    "timer_seconds",
    "average_hr",
    "trimp",
    "trimp_calculation_method",
    "trimp_method_reason",
    "hr_stream_sample_count",
    "credited_seconds",
    "hr_profile_id",
    "engine_version",
    "trimp_warnings",
    "trimp_error_code",
    "trimp_error",
    "trimp_details",
    "hr_profile_backfilled",
    "stream__data",
)


class LostClaim(Exception):
    """Another worker re-claimed this chunk (ours looked dead): our work is rolled back, theirs counts."""


@dataclass(frozen=True)
class Scope:
    """Which activities a recalculation covers: an athlete and/or a local-date range ``[since, until)``, and/or
    exactly the listed activities (re-scoring after a rollback)."""

    athlete_id: int | None = None
    since: date | None = None
    until: date | None = None
    activity_ids: tuple[int, ...] | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Scope:
        since, until = params.get("since"), params.get("until")
        return cls(
            athlete_id=params.get("athlete_id"),
            since=date.fromisoformat(since) if since else None,
            until=date.fromisoformat(until) if until else None,
            activity_ids=tuple(params["activity_ids"]) if params.get("activity_ids") is not None else None,
        )

    def filter(self) -> Q:
        condition = Q()
        if self.athlete_id is not None:
            condition &= Q(athlete_id=self.athlete_id)
        if self.since is not None:
            condition &= Q(local_date__gte=self.since)
        if self.until is not None:
            condition &= Q(local_date__lt=self.until)
        if self.activity_ids is not None:
            condition &= Q(id__in=self.activity_ids)
        return condition


def delta_bucket(old: float | None, new: float | None) -> str:
    """The histogram bucket of a change from ``old`` to ``new`` TRIMP (relative, percent)."""
    if old is None and new is None:
        return "unscored"
    if old is None:
        return "newly_scored"
    if new is None:
        return "now_failing"
    if old == 0:
        return "0%" if new == 0 else "from_zero"
    change = (new - old) / abs(old) * 100.0
    lower = "-inf"
    for edge in DELTA_EDGES:
        if change < edge:
            return f"[{lower}, {edge:g})%"
        lower = f"{edge:g}"
    return f"[{lower}, inf)%"


def _stored(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # Same order as Scored.comparable(): trimp .. details.
    return row[5:17]


@dataclass
class ChunkStats:
    processed: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    delta_sum: float = 0.0
    abs_delta_sum: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "delta_sum": self.delta_sum,
            "abs_delta_sum": self.abs_delta_sum,
        }


def chunk_compute(
    *, chunk: RecalculationChunk, scope: Scope, max_gap_s: float, record_metrics: bool
) -> tuple[list[tuple[int, Scored]], set[tuple[int, date]], dict[str, Any]]:
    """Score the chunk's activities. Returns the changed ``(id, Scored)``, the days whose load changes, and
    the chunk's report. Reads only."""
    started = time.perf_counter()
    rows = list(
        Activity.objects.filter(scope.filter(), id__gte=chunk.first_id, id__lte=chunk.last_id)
        .order_by("id")
        .values_list(*READ_FIELDS)
    )
    athletes = {row[1] for row in rows}
    book = ProfileBook.for_athletes(athletes)
    choices: dict[int, MethodChoice] = {athlete_id: athlete_method(athlete_id) for athlete_id in athletes}
    stats = ChunkStats()
    methods: Counter[str] = Counter()
    transitions: Counter[str] = Counter()
    histogram: Counter[str] = Counter()
    errors_by_code: Counter[str] = Counter()
    errors: list[dict[str, Any]] = []
    movers: list[tuple[float, int, dict[str, Any]]] = []
    changes: list[tuple[int, Scored]] = []
    days: set[tuple[int, date]] = set()
    for row in rows:
        activity_id, athlete_id, local_date, timer_seconds, average_hr = row[:5]
        blob = row[17]
        times = hrs = None
        scored: Scored | None = None
        if blob is not None:
            try:
                times, hrs = decode_stream(blob)
            except StreamFormatError as exc:
                scored = Scored(None, "", "", None, None, None, "", [], INVALID_HR_DATA, str(exc)[:255])
        if scored is None:
            scored = score_activity(
                times=times,
                hrs=hrs,
                timer_seconds=timer_seconds,
                average_hr=average_hr,
                profile=book.valid_on(athlete_id, local_date),
                choice=choices[athlete_id],
                max_gap_s=max_gap_s,
                record_metrics=record_metrics,
            )
        stats.processed += 1
        methods[scored.method or "none"] += 1
        if scored.error_code:
            stats.failed += 1
            errors_by_code[scored.error_code] += 1
            if len(errors) < ERROR_SAMPLES:
                errors.append({"activity_id": activity_id, "code": scored.error_code, "message": scored.error})
        if scored.comparable() == _stored(row):
            stats.unchanged += 1
            continue
        stats.changed += 1
        changes.append((activity_id, scored))
        old_trimp, old_method = row[5], row[6]
        transitions[f"{old_method or 'none'}→{scored.method or 'none'}"] += 1
        histogram[delta_bucket(old_trimp, scored.trimp)] += 1
        if old_trimp != scored.trimp:
            days.add((athlete_id, local_date))
        if old_trimp is not None and scored.trimp is not None:
            delta = scored.trimp - old_trimp
            stats.delta_sum += delta
            stats.abs_delta_sum += abs(delta)
            mover = {
                "activity_id": activity_id,
                "athlete_id": athlete_id,
                "date": local_date.isoformat(),
                "old": old_trimp,
                "new": scored.trimp,
                "delta": delta,
                "relative": delta / old_trimp if old_trimp else None,
                "old_method": old_method,
                "new_method": scored.method,
            }
            entry = (abs(delta), activity_id, mover)
            if len(movers) < TOP_MOVERS:
                heapq.heappush(movers, entry)
            elif entry[:2] > movers[0][:2]:
                heapq.heapreplace(movers, entry)
    report = {
        **stats.as_dict(),
        "methods": dict(methods),
        "transitions": dict(transitions),
        "histogram": dict(histogram),
        "errors_by_code": dict(errors_by_code),
        "errors": errors,
        "top_movers": [m for _, _, m in sorted(movers, key=lambda e: (-e[0], e[1]))],
        "compute_seconds": time.perf_counter() - started,
    }
    return changes, days, report


def chunk_commit(
    *,
    chunk: RecalculationChunk,
    token: str,
    changes: list[tuple[int, Scored]],
    days: set[tuple[int, date]],
    report: dict[str, Any],
    dry_run: bool,
) -> None:
    """Write the changes (unless ``dry_run``) and mark the chunk done, atomically; :class:`LostClaim` (and a
    rollback) when the chunk is no longer ours."""
    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        if not dry_run:
            activities_write_scores(changes, processed_at=now)
            daily_loads_rebuild(days)
        report = {**report, "write_seconds": time.perf_counter() - started}
        marked = RecalculationChunk.objects.filter(
            pk=chunk.pk, status=RecalculationChunk.Status.RUNNING, claim_token=token
        ).update(status=RecalculationChunk.Status.DONE, finished_at=now, heartbeat_at=now, result=report, error="")
        if marked != 1:
            raise LostClaim(f"chunk {chunk.pk} was re-claimed by another worker")


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge chunk reports into the job's report (counts summed, top movers re-ranked)."""
    total: dict[str, Any] = {
        "processed": 0,
        "changed": 0,
        "unchanged": 0,
        "failed": 0,
        "delta_sum": 0.0,
        "abs_delta_sum": 0.0,
        "compute_seconds": 0.0,
        "write_seconds": 0.0,
    }
    counters: dict[str, Counter[str]] = {
        key: Counter() for key in ("methods", "transitions", "histogram", "errors_by_code")
    }
    errors: list[dict[str, Any]] = []
    movers: list[dict[str, Any]] = []
    for report in reports:
        for key in total:
            total[key] += report.get(key, 0)
        for key, counter in counters.items():
            counter.update(report.get(key, {}))
        errors.extend(report.get("errors", []))
        movers.extend(report.get("top_movers", []))
    movers.sort(key=lambda m: (-abs(m["delta"]), m["activity_id"]))
    compared = total["changed"] - sum(
        counters["histogram"][k] for k in ("newly_scored", "now_failing", "unscored", "from_zero")
    )
    total["mean_abs_delta"] = total["abs_delta_sum"] / compared if compared > 0 else None
    for key in ("delta_sum", "abs_delta_sum", "compute_seconds", "write_seconds"):
        total[key] = round(total[key], 6) if math.isfinite(total[key]) else None
    return {
        **total,
        **{key: dict(sorted(counter.items())) for key, counter in counters.items()},
        "errors": errors[:ERROR_SAMPLES],
        "top_movers": movers[:TOP_MOVERS],
    }
