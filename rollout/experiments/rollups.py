"""Incremental refresh of an experiment's metric sums: each analysis reads only the users with new events.

Recomputing every metric from every event is one join of all exposures to all events and one per-user
aggregate per group of sources — ~3 s per group for 1,000,000 exposures on PostgreSQL — so an hourly analysis
would cost more with every hour an experiment runs. What the statistics need per metric and variant is only
(n users, Σ per-user mean, Σ per-user mean²), and a new event changes only its own user's mean. So
(GrowthBook's "incremental refresh" idea, without a per-user state table):

- ``experiment_metric_rollup`` keeps, per (experiment, metric), the watermark ``folded_until`` and those
  per-variant sums over the events before it;
- a refresh finds the users with events in ``[folded_until, hi)`` (a temporary table; one grouped join of the
  new events to the exposures), reads those users' events before ``hi`` (a join on the user, served by the
  events table's user index) and computes each one's mean before and after the new events; the variant sums
  move by the difference (old mean out, new mean in; a user new to the metric adds one to n) and the
  watermark advances — one transaction, the rollup rows locked so two analyses of one experiment never fold
  the same events twice;
- ``hi`` is ``now − EXPERIMENT_ROLLUP_SETTLE_SECONDS`` (an event's time is set just before its transaction
  commits; a settle window keeps events of transactions still open from being skipped) or the stop time; the
  events after ``hi`` are added the same way for this answer only, so a result covers every event up to now.

Events are treated as immutable once folded: a row whose value or time changes later (a TRIMP
recalculation, an edited rating) is corrected by the next full rebuild — the from-scratch sums
(``group_sums``) stored as the new state —, which runs on the first analysis, when the last one is older than
``EXPERIMENT_ROLLUP_REBUILD_HOURS``, when the analysis window ends before the watermark (a stop in the past)
and when asked (``full=True``: the admin action, the API, the job parameter).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from rollout.experiments.models import Experiment, Exposure, MetricRollup
from rollout.experiments.registry import MetricSource, metric_source

ANALYSIS_WORK_MEM = "256MB"  # PostgreSQL, for the from-scratch query only (SET LOCAL)


@dataclass
class Sums:
    """One variant's n users, Σ per-user mean and Σ per-user mean² (the inputs of ``rollout.stats``)."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    def variance(self, kind: str) -> float:
        """Sample variance (n − 1) for a mean metric; ``p(1 − p)`` for a proportion (statistics.md)."""
        if self.n < 2:
            return math.nan
        if kind == "proportion":
            p = self.mean
            return p * (1.0 - p)
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


@dataclass
class RefreshInfo:
    """What a refresh did for one source (stored in the result for the ops console)."""

    mode: str  # "full" | "incremental" | "none"
    folded_until: datetime | None
    rebuilt_at: datetime | None
    folded_users: int = 0  # users with new events folded by this refresh (full: every user with events)
    tail_users: int = 0  # users with events after the watermark, counted for this analysis only
    seconds: float = 0.0
    sums: dict[str, Sums] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "folded_until": self.folded_until.isoformat() if self.folded_until else None,
            "rebuilt_at": self.rebuilt_at.isoformat() if self.rebuilt_at else None,
            "folded_users": self.folded_users,
            "tail_users": self.tail_users,
            "seconds": round(self.seconds, 4),
        }


def settle_seconds() -> float:
    return float(settings.EXPERIMENT_ROLLUP_SETTLE_SECONDS)


def rebuild_hours() -> float:
    return float(settings.EXPERIMENT_ROLLUP_REBUILD_HOURS)


def rollups_reset(experiment: Experiment) -> int:
    """Forget the folded state (the next analysis rebuilds from every event); returns the rollups dropped."""
    deleted, _ = MetricRollup.objects.filter(experiment=experiment).delete()
    return int(deleted)


def refreshed_sums(
    experiment: Experiment,
    source_names: Iterable[str],
    *,
    now: datetime,
    until: datetime | None,
    full: bool = False,
) -> dict[str, RefreshInfo]:
    """source → its refresh and the per-variant sums of every event up to ``until`` (or now when running).

    Folds the events up to ``min(now − settle, until)`` into the stored state (rebuilding it when due), then
    adds the events after that watermark for this answer only. Unregistered sources are absent."""
    sources = [s for s in map(metric_source, dict.fromkeys(source_names)) if s is not None]
    hi = now - timedelta(seconds=settle_seconds())
    if until is not None:
        hi = min(hi, until)
    result: dict[str, RefreshInfo] = {}
    for group in source_groups(sources):
        result.update(_refresh_group(experiment, group, hi=hi, until=until, now=now, full=full))
    return result


def source_groups(sources: list[MetricSource]) -> list[list[MetricSource]]:
    """The sources split into groups that read the same rows (``MetricSource.rows_key``): one scan each."""
    groups: dict[tuple[Any, ...], list[MetricSource]] = {}
    for source in sources:
        groups.setdefault(source.rows_key(), []).append(source)
    return list(groups.values())


def _refresh_group(
    experiment: Experiment,
    sources: list[MetricSource],
    *,
    hi: datetime,
    until: datetime | None,
    now: datetime,
    full: bool,
) -> dict[str, RefreshInfo]:
    started = time.perf_counter()
    names = [s.name for s in sources]
    with transaction.atomic():
        for name in names:
            MetricRollup.objects.get_or_create(experiment=experiment, source=name)
        # Lock this experiment's rollups of these sources: a second analysis waits, then folds only what is new.
        rollups = {
            r.source: r
            for r in MetricRollup.objects.select_for_update().filter(experiment=experiment, source__in=names)
        }
        stale = now - timedelta(hours=rebuild_hours())
        marks = {r.folded_until for r in rollups.values()}
        lo = next(iter(marks)) if len(marks) == 1 else None
        rebuild = (
            full
            or lo is None  # never folded, or the sources of this group were folded to different marks
            or lo > hi  # the window ends before the watermark (stopped in the past): the folded state is too wide
            or any(r.rebuilt_at is None or r.rebuilt_at < stale for r in rollups.values())
        )
        infos: dict[str, RefreshInfo] = {}
        if rebuild:
            sums = group_sums(experiment, sources, hi)
            for name, rollup in rollups.items():
                rollup.folded_until, rollup.rebuilt_at = hi, now
                rollup.sums = {v: [s.n, s.total, s.squares] for v, s in sums[name].items()}
                rollup.save(update_fields=["folded_until", "rebuilt_at", "sums", "updated_at"])
                users = sum(s.n for s in sums[name].values())
                infos[name] = RefreshInfo("full", hi, now, folded_users=users)
        else:
            assert lo is not None
            state = {name: {v: Sums(*vals) for v, vals in r.sums.items()} for name, r in rollups.items()}
            changed = 0
            if hi > lo:
                changed = _fold(experiment, sources, lo, hi, state)
            for name, rollup in rollups.items():
                if hi > lo:
                    rollup.folded_until = hi
                    rollup.sums = {v: [s.n, s.total, s.squares] for v, s in state[name].items()}
                    rollup.save(update_fields=["folded_until", "sums", "updated_at"])
                infos[name] = RefreshInfo(
                    "incremental" if hi > lo else "none", rollup.folded_until, rollup.rebuilt_at, folded_users=changed
                )
        # The tail: events after the watermark (and before the stop, if any), added for this answer only.
        state = {name: {v: Sums(*vals) for v, vals in rollups[name].sums.items()} for name in names}
        tail_users = _fold(experiment, sources, hi, until, state) if until is None or until > hi else 0
    seconds = time.perf_counter() - started
    for name in names:
        infos[name].tail_users = tail_users
        infos[name].seconds = seconds
        infos[name].sums = {v: s for v, s in state[name].items() if s.n > 0}
    return infos


def group_sums(
    experiment: Experiment, sources: list[MetricSource], until: datetime | None
) -> dict[str, dict[str, Sums]]:
    """From scratch: source → variant → sums of the per-user means of every event before ``until`` (one grouped
    join of the events of sources reading the same rows to the exposures; each source one value column)."""
    events = MetricSource.events_of(sources)
    if until is not None:
        events = events.filter(exp_at__lt=until)
    events_sql, events_params = events.query.sql_with_params()
    exposures = connection.ops.quote_name(Exposure._meta.db_table)
    columns = [f"exp_value_{i}" for i in range(len(sources))]
    per_user = ", ".join(f"AVG(s.{c}) AS {c}" for c in columns)
    sums = ", ".join(f"COUNT(per_user.{c}), SUM(per_user.{c}), SUM(per_user.{c} * per_user.{c})" for c in columns)
    sql = f"""
        SELECT per_user.variant, {sums}
        FROM (
            SELECT e.variant AS variant, {per_user}
            FROM {exposures} e
            JOIN ({events_sql}) s ON s.exp_user = e.user_id AND s.exp_at >= e.exposed_at
            WHERE e.experiment_id = %s
            GROUP BY e.variant, e.user_id
        ) per_user
        GROUP BY per_user.variant
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One row per exposed user is hashed twice (join, per-user groups): give this query the memory to do
            # it without spilling to disk, and skip JIT compilation, which costs more than it saves here.
            cursor.execute(f"SET LOCAL work_mem = '{ANALYSIS_WORK_MEM}'")
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, [*events_params, experiment.pk])
        rows = cursor.fetchall()
    result: dict[str, dict[str, Sums]] = {source.name: {} for source in sources}
    for variant, *values in rows:
        for i, source in enumerate(sources):
            n, total, squares = values[3 * i : 3 * i + 3]
            if n:  # a variant none of whose users has a value of this metric is absent
                result[source.name][variant] = Sums(int(n), float(total or 0.0), float(squares or 0.0))
    return result


TOUCHED = "experiment_touched"  # a temporary table: the users with events in the window being folded


def _fold(
    experiment: Experiment,
    sources: list[MetricSource],
    lo: datetime,
    hi: datetime | None,
    state: dict[str, dict[str, Sums]],
) -> int:
    """Move ``state`` (the sums over the events before ``lo``) to the sums over the events before ``hi``
    (no bound when None). Returns the users whose events in the window changed their means."""
    events = MetricSource.events_of(sources)
    window = events.filter(exp_at__gte=lo)
    if hi is not None:
        window = window.filter(exp_at__lt=hi)
        events = events.filter(exp_at__lt=hi)
    window_sql, window_params = window.query.sql_with_params()
    events_sql, events_params = events.query.sql_with_params()
    exposures = connection.ops.quote_name(Exposure._meta.db_table)
    lo_param = connection.ops.adapt_datetimefield_value(lo)
    when = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"
    per_user, outer = [], []
    for i in range(len(sources)):
        c = f"s.exp_value_{i}"
        per_user.append(
            f"COUNT({c}) AS n_{i}, SUM({c}) AS t_{i}, "
            f"COUNT(CASE WHEN s.exp_at < %s THEN {c} END) AS m_{i}, SUM(CASE WHEN s.exp_at < %s THEN {c} END) AS u_{i}"
        )
        new = f"CASE WHEN n_{i} > 0 THEN t_{i} / n_{i} END"
        old = f"CASE WHEN m_{i} > 0 THEN u_{i} / m_{i} END"
        outer.append(
            f"COUNT({new}) - COUNT({old}), COALESCE(SUM({new}), 0) - COALESCE(SUM({old}), 0), "
            f"COALESCE(SUM(({new}) * ({new})), 0) - COALESCE(SUM(({old}) * ({old})), 0)"
        )
    per_user_params = [lo_param] * (2 * len(sources))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TOUCHED}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {TOUCHED} (user_id bigint NOT NULL PRIMARY KEY, variant varchar(64) NOT NULL, "
            f"exposed_at {when} NOT NULL)"
        )
        try:
            cursor.execute(
                f"""
                INSERT INTO {TOUCHED} (user_id, variant, exposed_at)
                SELECT DISTINCT e.user_id, e.variant, e.exposed_at
                FROM ({window_sql}) s
                JOIN {exposures} e ON e.user_id = s.exp_user AND s.exp_at >= e.exposed_at
                WHERE e.experiment_id = %s
                """,
                [*window_params, experiment.pk],
            )
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {TOUCHED}")  # a temporary table has no statistics; the join plan needs them
                # A few thousand users' events, read through the events table's user index: with the default
                # random_page_cost (4, spinning disks) the planner prefers a sequential scan of every event,
                # 4–7× slower here (EXPLAIN ANALYZE in docs/benchmarks.md). For this transaction only.
                cursor.execute("SET LOCAL random_page_cost = 1.1")
            cursor.execute(
                f"""
                SELECT per_user.variant, {", ".join(outer)}
                FROM (
                    SELECT t.user_id AS user_id, t.variant AS variant, {", ".join(per_user)}
                    FROM {TOUCHED} t
                    JOIN ({events_sql}) s ON s.exp_user = t.user_id AND s.exp_at >= t.exposed_at
                    GROUP BY t.user_id, t.variant
                ) per_user
                GROUP BY per_user.variant
                """,
                [*per_user_params, *events_params],
            )
            for variant, *values in cursor.fetchall():
                for i, source in enumerate(sources):
                    dn, dtotal, dsquares = values[3 * i : 3 * i + 3]
                    sums = state[source.name].setdefault(variant, Sums())
                    sums.n += int(dn or 0)
                    sums.total += float(dtotal or 0.0)
                    sums.squares += float(dsquares or 0.0)
            cursor.execute(f"SELECT COUNT(*) FROM {TOUCHED}")
            users = int(cursor.fetchone()[0])
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {TOUCHED}")
    return users
