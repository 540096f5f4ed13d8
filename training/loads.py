"""Daily loads: kept per athlete-year as arrays (``LoadYear``), rebuilt for exactly the days that changed.

Why arrays: the training-load series reads ten years of days; as one row per day that is 3,650 rows to fetch
and convert (5-10 ms on either database), as year arrays it is eleven rows (well under a millisecond).

Concurrency: two transactions that change activities of the same athlete-year lock its row first (in
(athlete, year) order, so they cannot deadlock) and only then sum the activities, so each sees the other's
committed changes and no update is lost. (SQLite serialises writers anyway.)
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from django.db import connection
from django.db.models import Count, Sum

from training.engine.pmc import DEFAULT_ATL_DAYS, DEFAULT_CTL_DAYS
from training.models import Activity, AthleteLoadSettings, LoadYear, TrimpSettings

FloatArray = npt.NDArray[np.float64]
SLOTS = 366
EMPTY_LOADS = np.zeros(SLOTS, dtype="<f8").tobytes()
EMPTY_COUNTS = np.zeros(SLOTS, dtype="<u2").tobytes()
IN_BATCH = 400


def slot(day: date) -> int:
    """Index of ``day`` in its year's arrays."""
    return day.timetuple().tm_yday - 1


def year_length(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def _activity_sums(wanted: set[tuple[int, date]]) -> dict[tuple[int, date], tuple[float, int]]:
    dates_by_athlete: dict[int, set[date]] = defaultdict(set)
    for athlete_id, day in wanted:
        dates_by_athlete[athlete_id].add(day)
    sums: dict[tuple[int, date], tuple[float, int]] = {}
    athletes = sorted(dates_by_athlete)
    for a_offset in range(0, len(athletes), IN_BATCH):
        athlete_batch = athletes[a_offset : a_offset + IN_BATCH]
        all_dates = sorted({d for a in athlete_batch for d in dates_by_athlete[a]})
        for d_offset in range(0, len(all_dates), IN_BATCH):
            rows = (
                Activity.objects.filter(
                    athlete_id__in=athlete_batch, local_date__in=all_dates[d_offset : d_offset + IN_BATCH]
                )
                .order_by()
                .values_list("athlete_id", "local_date")
                .annotate(total=Sum("trimp"), n=Count("id"))
            )
            for athlete_id, day, total, count in rows:
                if (athlete_id, day) in wanted:
                    sums[(athlete_id, day)] = (float(total or 0.0), int(count))
    return sums


def daily_loads_rebuild(days: Iterable[tuple[int, date]]) -> int:
    """Recompute the load of each ``(athlete_id, local_date)`` from its activities (the caller holds the
    transaction that changed them). Returns the number of days rebuilt."""
    wanted = set(days)
    if not wanted:
        return 0
    keys = sorted({(athlete_id, day.year) for athlete_id, day in wanted})
    LoadYear.objects.bulk_create(
        [LoadYear(athlete_id=a, year=y, loads=EMPTY_LOADS, counts=EMPTY_COUNTS) for a, y in keys],
        ignore_conflicts=True,
    )
    athletes = sorted({a for a, _ in keys})
    years = sorted({y for _, y in keys})
    wanted_keys = set(keys)
    locked = {
        (row.athlete_id, row.year): row
        for row in LoadYear.objects.select_for_update()
        .filter(athlete_id__in=athletes, year__in=years)
        .order_by("athlete_id", "year")
        if (row.athlete_id, row.year) in wanted_keys
    }
    sums = _activity_sums(wanted)
    arrays: dict[tuple[int, int], tuple[FloatArray, npt.NDArray[np.uint16]]] = {
        key: (np.frombuffer(row.loads, dtype="<f8").copy(), np.frombuffer(row.counts, dtype="<u2").copy())
        for key, row in locked.items()
    }
    for athlete_id, day in wanted:
        loads, counts = arrays[(athlete_id, day.year)]
        total, count = sums.get((athlete_id, day), (0.0, 0))
        loads[slot(day)] = total
        counts[slot(day)] = count
    for key, row in locked.items():
        loads, counts = arrays[key]
        row.loads = loads.astype("<f8").tobytes()
        row.counts = counts.astype("<u2").tobytes()
    LoadYear.objects.bulk_update(list(locked.values()), ["loads", "counts"], batch_size=200)
    return len(wanted)


YearRow = tuple[int, bytes | memoryview, bytes | memoryview]


def daily_loads_from_years(years: list[YearRow], *, first: date | None, last: date) -> tuple[date | None, FloatArray]:
    """Daily loads from ``first`` to ``last`` (inclusive) out of ``(year, loads, counts)`` rows sorted by year,
    zeros where nothing happened. With ``first`` None the series starts on the first day with an activity
    (None and an empty array when there is none up to ``last``)."""
    if first is not None and first > last:
        return first, np.empty(0)
    if first is None:
        for year, _, counts in years:
            active = np.flatnonzero(np.frombuffer(counts, dtype="<u2")[: year_length(year)])
            if active.size:
                first = date(year, 1, 1) + timedelta(days=int(active[0]))
                break
        if first is None or first > last:
            return None, np.empty(0)
    out = np.zeros((last - first).days + 1)
    for year, loads, _ in years:
        start = date(year, 1, 1)
        low, high = max(first, start), min(last, date(year, 12, 31))
        if low > high:
            continue
        values = np.frombuffer(loads, dtype="<f8")
        out[(low - first).days : (high - first).days + 1] = values[(low - start).days : (high - start).days + 1]
    return first, out


@dataclass(frozen=True)
class SeriesInputs:
    """Everything the training-load series reads from the database."""

    ctl_seed: float
    atl_seed: float
    seed_date: date | None
    ctl_days: float
    atl_days: float
    years: list[YearRow]


def series_inputs(athlete_id: int, *, last: date) -> SeriesInputs:
    """The athlete's seeds, the time-constant settings and the year arrays up to ``last``, in ONE query.

    This is the hot read of the training-load endpoint: three ORM queries cost about 3 ms on PostgreSQL
    (compiling and round trips), as much as the whole computation; one plain statement costs a third of that.
    """
    seeds, settings, years = (
        AthleteLoadSettings._meta.db_table,
        TrimpSettings._meta.db_table,
        LoadYear._meta.db_table,
    )
    sql = (
        f"SELECT s.ctl_seed, s.atl_seed, s.seed_date, t.ctl_days, t.atl_days, y.year, y.loads, y.counts "
        f"FROM (SELECT %s AS athlete_id) AS a "
        f'LEFT JOIN "{seeds}" s ON s.athlete_id = a.athlete_id '
        f'LEFT JOIN "{settings}" t ON t.id = 1 '
        f'LEFT JOIN "{years}" y ON y.athlete_id = a.athlete_id AND y.year <= %s '
        f"ORDER BY y.year"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [athlete_id, last.year])
        rows = cursor.fetchall()
    ctl_seed, atl_seed, seed_date, ctl_days, atl_days = rows[0][:5]
    if isinstance(seed_date, str):  # SQLite without a declared type on the joined column
        seed_date = date.fromisoformat(seed_date)
    return SeriesInputs(
        ctl_seed=float(ctl_seed or 0.0),
        atl_seed=float(atl_seed or 0.0),
        seed_date=seed_date,
        ctl_days=float(ctl_days if ctl_days is not None else DEFAULT_CTL_DAYS),
        atl_days=float(atl_days if atl_days is not None else DEFAULT_ATL_DAYS),
        years=[(int(row[5]), row[6], row[7]) for row in rows if row[5] is not None],
    )


def daily_loads_by_day(athlete_id: int | None = None) -> dict[tuple[int, date], tuple[float, int]]:
    """Every stored day with at least one activity: ``(athlete_id, day) -> (load, activity count)``."""
    rows = LoadYear.objects.all() if athlete_id is None else LoadYear.objects.filter(athlete_id=athlete_id)
    result: dict[tuple[int, date], tuple[float, int]] = {}
    for athlete, year, loads, counts in rows.values_list("athlete_id", "year", "loads", "counts"):
        values = np.frombuffer(loads, dtype="<f8")
        numbers = np.frombuffer(counts, dtype="<u2")
        start = date(year, 1, 1)
        for index in np.flatnonzero(numbers[: year_length(year)]):
            result[(athlete, start + timedelta(days=int(index)))] = (float(values[index]), int(numbers[index]))
    return result
