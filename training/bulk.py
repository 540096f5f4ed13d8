"""Set-based writes of many activities' scores at once (one statement per batch).

PostgreSQL gets one ``UPDATE ... FROM (VALUES ...)`` per batch; SQLite an ``executemany`` of a prepared UPDATE
(cheap there: no network); other backends Django's ``bulk_update``. Callers hold the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from training.models import Activity
from training.scoring import Scored

# (column, PostgreSQL type) of everything a score writes, in VALUES order after the id.
SCORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("trimp", "double precision"),
    ("trimp_calculation_method", "varchar"),
    ("trimp_method_reason", "varchar"),
    ("hr_stream_sample_count", "integer"),
    ("credited_seconds", "double precision"),
    ("trimp_processed_at", "timestamptz"),
    ("hr_profile_id", "bigint"),
    ("engine_version", "varchar"),
    ("trimp_warnings", "jsonb"),
    ("trimp_error_code", "varchar"),
    ("trimp_error", "varchar"),
    ("trimp_details", "jsonb"),
    ("calculation_ms", "double precision"),
    ("hr_profile_backfilled", "boolean"),
)
PG_BATCH = 1000


def _row(scored: Scored, processed_at: Any) -> list[Any]:
    return [
        scored.trimp,
        scored.method,
        scored.reason,
        scored.valid_samples,
        scored.credited_seconds,
        processed_at,
        scored.profile_id,
        scored.engine_version,
        json.dumps(scored.warnings),
        scored.error_code,
        scored.error,
        json.dumps(scored.details),
        scored.calculation_ms,
        scored.profile_backfilled,
    ]


def apply_to_instance(activity: Activity, scored: Scored, processed_at: datetime) -> None:
    """Copy a score onto a model instance (for single-activity paths that save the instance)."""
    activity.trimp = scored.trimp
    activity.trimp_calculation_method = scored.method
    activity.trimp_method_reason = scored.reason
    activity.hr_stream_sample_count = scored.valid_samples
    activity.credited_seconds = scored.credited_seconds
    activity.trimp_processed_at = processed_at
    activity.hr_profile_id = scored.profile_id
    activity.engine_version = scored.engine_version
    activity.trimp_warnings = scored.warnings
    activity.trimp_error_code = scored.error_code
    activity.trimp_error = scored.error
    activity.trimp_details = scored.details
    activity.calculation_ms = scored.calculation_ms
    activity.hr_profile_backfilled = scored.profile_backfilled


SCORE_FIELDS = [
    "trimp",
    "trimp_calculation_method",
    "trimp_method_reason",
    "hr_stream_sample_count",
    "credited_seconds",
    "trimp_processed_at",
    "hr_profile",
    "engine_version",
    "trimp_warnings",
    "trimp_error_code",
    "trimp_error",
    "trimp_details",
    "calculation_ms",
    "hr_profile_backfilled",
]


def activities_write_scores(scores: Sequence[tuple[int, Scored]], *, processed_at: datetime) -> int:
    """Write ``(activity_id, Scored)`` pairs; returns the number of rows updated."""
    if not scores:
        return 0
    table = Activity._meta.db_table
    vendor = connection.vendor
    if vendor == "postgresql":
        return _write_postgresql(table, scores, processed_at)
    if vendor == "sqlite":
        stamp = connection.ops.adapt_datetimefield_value(processed_at)
        assignments = ", ".join(f'"{column}" = %s' for column, _ in SCORE_COLUMNS)
        sql = f'UPDATE "{table}" SET {assignments} WHERE "id" = %s'
        with connection.cursor() as cursor:
            cursor.executemany(sql, [[*_row(scored, stamp), activity_id] for activity_id, scored in scores])
        return len(scores)
    instances = []
    for activity_id, scored in scores:
        instance = Activity(pk=activity_id)
        apply_to_instance(instance, scored, processed_at)
        instances.append(instance)
    return Activity.objects.bulk_update(instances, SCORE_FIELDS, batch_size=500)


def _write_postgresql(table: str, scores: Sequence[tuple[int, Scored]], processed_at: datetime) -> int:
    names = ", ".join(["id", *(column for column, _ in SCORE_COLUMNS)])
    casts = ", ".join(["%s::bigint", *(f"%s::{kind}" for _, kind in SCORE_COLUMNS)])
    assignments = ", ".join(f'"{column}" = v."{column}"' for column, _ in SCORE_COLUMNS)
    updated = 0
    with connection.cursor() as cursor:
        for offset in range(0, len(scores), PG_BATCH):
            batch = scores[offset : offset + PG_BATCH]
            values = ", ".join([f"({casts})"] * len(batch))
            params: list[Any] = []
            for activity_id, scored in batch:
                params.append(activity_id)
                params.extend(_row(scored, processed_at))
            cursor.execute(
                f'UPDATE "{table}" AS a SET {assignments} FROM (VALUES {values}) AS v({names}) WHERE a."id" = v."id"',
                params,
            )
            updated += cursor.rowcount
    return updated
