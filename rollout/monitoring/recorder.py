"""Recording metrics cheaply: ``record(metric, value, **tags)``, ``increment``, ``timer``.

Calls update an in-process buffer of per-minute aggregates (count, sum, sum of squares, min, max, histogram
buckets); nothing touches the database per call. The buffer is flushed — one upsert per (metric, tags, minute)
— by a background thread every ``METRICS_FLUSH_SECONDS``, by ``flush()``, and at exit. In processes without
the thread (tests, ``METRICS_FLUSH_THREAD=false``) a call that finds the buffer older than the interval flushes
it inline. A flush that fails keeps the data for the next try (bounded by ``METRICS_MAX_BUFFERED_KEYS``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.conf import settings as django_settings
from django.db import connection, transaction

from rollout.histogram import bucket_index

logger = logging.getLogger(__name__)

Key = tuple[str, tuple[tuple[str, str], ...], int]


class _Agg:
    __slots__ = ("buckets", "count", "max", "min", "sum", "sum_sq")

    def __init__(self) -> None:
        self.count = 0
        self.sum = 0.0
        self.sum_sq = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.buckets: dict[int, int] = {}

    def add(self, value: float) -> None:
        self.count += 1
        self.sum += value
        self.sum_sq += value * value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        index = bucket_index(value)
        self.buckets[index] = self.buckets.get(index, 0) + 1

    def merge(self, other: _Agg) -> None:
        self.count += other.count
        self.sum += other.sum
        self.sum_sq += other.sum_sq
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buffer: dict[Key, _Agg] = {}
        self.pid = os.getpid()
        self.last_flush = time.monotonic()
        self.thread: threading.Thread | None = None
        self.stop = threading.Event()
        self._settings: tuple[float, bool, int] | None = None

    def settings(self) -> tuple[float, bool, int]:
        if self._settings is None:
            self._settings = (
                float(getattr(django_settings, "METRICS_FLUSH_SECONDS", 5.0)),
                bool(getattr(django_settings, "METRICS_FLUSH_THREAD", True)),
                int(getattr(django_settings, "METRICS_MAX_BUFFERED_KEYS", 100_000)),
            )
        return self._settings

    def record(self, metric: str, value: float, tags: dict[str, Any], at: float | None = None) -> None:
        if self.pid != os.getpid():  # forked (a Celery pool child): start clean
            self.__init__()  # type: ignore[misc]
        now = time.time() if at is None else at
        key: Key = (metric, tuple(sorted((k, str(v)) for k, v in tags.items())) if tags else (), int(now // 60))
        value = float(value)
        if value != value or value in (math.inf, -math.inf):
            return  # NaN / inf would poison sums
        with self.lock:
            agg = self.buffer.get(key)
            if agg is None:
                agg = self.buffer[key] = _Agg()
            agg.add(value)
        interval, use_thread, _ = self.settings()
        if use_thread:
            if self.thread is None:
                self._start_thread(interval)
        elif time.monotonic() - self.last_flush >= interval:
            self.flush()

    def _start_thread(self, interval: float) -> None:
        with self.lock:
            if self.thread is not None:
                return
            self.thread = threading.Thread(target=self._loop, args=(interval,), name="metrics-flush", daemon=True)
            self.thread.start()

    def _loop(self, interval: float) -> None:
        role = os.environ.get("STAMINA_PROCESS_ROLE", "web")
        while not self.stop.wait(interval):
            try:
                record_process_memory(role)
                self.flush()
            finally:
                connection.close()

    def discard(self) -> None:
        """Drop everything buffered (tests start clean)."""
        with self.lock:
            self.buffer = {}
            self.last_flush = time.monotonic()

    def take(self) -> dict[Key, _Agg]:
        with self.lock:
            data, self.buffer = self.buffer, {}
            self.last_flush = time.monotonic()
        return data

    def put_back(self, data: dict[Key, _Agg]) -> None:
        _, _, max_keys = self.settings()
        with self.lock:
            for key, agg in data.items():
                existing = self.buffer.get(key)
                if existing is None:
                    if len(self.buffer) >= max_keys:
                        continue
                    self.buffer[key] = agg
                else:
                    existing.merge(agg)
            dropped = len(data) - sum(1 for key in data if key in self.buffer)
        if dropped:
            logger.error("metrics buffer full: dropped %s aggregates", dropped)

    def flush(self) -> int:
        """Write the buffer to the database; return how many aggregates were written."""
        data = self.take()
        if not data:
            return 0
        try:
            _write(data)
        except Exception:
            logger.warning("metrics flush failed; keeping %s aggregates for the next try", len(data), exc_info=True)
            self.put_back(data)
            return 0
        return len(data)


def _tags_key(tags: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{k}={v}" for k, v in tags)[:255]


def _write(data: dict[Key, _Agg]) -> None:
    # Not at the top: this package's __init__ re-exports record(), so it is imported while the app registry
    # is still loading app modules, before any model may be defined.
    from rollout.monitoring.models import MetricMinute

    items = sorted(data.items())
    with transaction.atomic():
        # A real upsert: INSERT ... ON CONFLICT DO NOTHING makes every row exist (a concurrent flush of the same
        # minute in another process waits for ours and inserts nothing), then each row is locked and merged.
        # The placeholders carry this batch's min/max, which merging leaves correct either way.
        placeholders = [
            MetricMinute(
                metric=metric,
                tags_key=_tags_key(tags),
                tags=dict(tags),
                minute=datetime.fromtimestamp(minute_index * 60, tz=UTC),
                count=0,
                sum=0.0,
                sum_sq=0.0,
                min=agg.min,
                max=agg.max,
                buckets={},
            )
            for (metric, tags, minute_index), agg in items
        ]
        MetricMinute.objects.bulk_create(placeholders, ignore_conflicts=True, batch_size=500)
        for placeholder, (_, agg) in zip(placeholders, items, strict=True):
            row = (
                MetricMinute.objects.select_for_update()
                .filter(metric=placeholder.metric, tags_key=placeholder.tags_key, minute=placeholder.minute)
                .get()
            )
            buckets = {int(k): int(v) for k, v in row.buckets.items()}
            for index, count in agg.buckets.items():
                buckets[index] = buckets.get(index, 0) + count
            row.count += agg.count
            row.sum += agg.sum
            row.sum_sq += agg.sum_sq
            row.min = min(row.min, agg.min)
            row.max = max(row.max, agg.max)
            row.buckets = {str(k): v for k, v in buckets.items()}
            row.save(update_fields=["count", "sum", "sum_sq", "min", "max", "buckets"])


_recorder = Recorder()


def record(metric: str, value: float, **tags: Any) -> None:
    """Add one sample of ``metric`` (any unit; name it in the metric, e.g. ``_ms``) with ``tags``."""
    _recorder.record(metric, value, tags)


def record_at(when: datetime, metric: str, value: float, **tags: Any) -> None:
    """``record`` for a sample that belongs to another minute (backfills, imports, simulations)."""
    _recorder.record(metric, value, tags, at=when.timestamp())


def increment(metric: str, amount: float = 1.0, **tags: Any) -> None:
    """A counter: ratios and rates use the sum of these samples."""
    _recorder.record(metric, amount, tags)


@contextmanager
def timer(metric: str, **tags: Any) -> Iterator[dict[str, Any]]:
    """Record the block's wall time in milliseconds; extra tags may be added to the yielded dict."""
    extra: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        yield extra
    finally:
        _recorder.record(metric, (time.perf_counter() - started) * 1000.0, {**tags, **extra})


def flush() -> int:
    """Write buffered aggregates now (tests, end of a batch job)."""
    return _recorder.flush()


def _flush_at_exit() -> None:
    with contextlib.suppress(Exception):  # interpreter shutdown: nothing sensible left to do
        _recorder.flush()


atexit.register(_flush_at_exit)


def rss_megabytes() -> float:
    """Current resident set size of this process in MB (peak RSS where /proc is unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def record_process_memory(role: str) -> None:
    """Record this process's resident memory (MB) as ``process.rss_mb`` tagged with its role."""
    record("process.rss_mb", rss_megabytes(), role=role)
