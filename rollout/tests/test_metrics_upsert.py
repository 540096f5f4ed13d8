"""The metrics flush is a real upsert: processes flushing the same (metric, tags, minute) at the same moment
merge into one row; none raises IntegrityError on ``metric_minute_key`` (each recorder here stands for a
process, each thread has its own database connection)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connections

from rollout.monitoring.models import MetricMinute
from rollout.monitoring.recorder import Recorder

FLUSHERS = 6
SAMPLES = 5
AT = datetime(2026, 12, 1, 10, 30, 15, tzinfo=UTC).timestamp()


@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_of_one_minute_merge_into_one_row() -> None:
    recorders = [Recorder() for _ in range(FLUSHERS)]
    for index, recorder in enumerate(recorders):
        for sample in range(SAMPLES):
            recorder.record("upsert.probe_ms", float(index * 10 + sample), {"route": "x"}, at=AT)
    barrier = threading.Barrier(FLUSHERS)
    written: list[int] = []
    errors: list[BaseException] = []

    def flush(recorder: Recorder) -> None:
        try:
            barrier.wait(10)
            written.append(recorder.flush())
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=flush, args=(recorder,)) for recorder in recorders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and written == [1] * FLUSHERS  # flush() returns 0 and keeps the data when a write fails
    rows: list[Any] = list(MetricMinute.objects.filter(metric="upsert.probe_ms"))
    assert len(rows) == 1
    row = rows[0]
    assert row.count == FLUSHERS * SAMPLES
    assert row.min == 0.0 and row.max == (FLUSHERS - 1) * 10 + SAMPLES - 1
    assert row.sum == sum(index * 10 + sample for index in range(FLUSHERS) for sample in range(SAMPLES))
    assert sum(int(count) for count in row.buckets.values()) == FLUSHERS * SAMPLES
