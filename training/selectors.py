"""Reads of the training app: activity lists, the training-load series, ops statistics and job status."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from django.apps import apps
from django.db.models import Count, Max, Min, QuerySet, Sum
from django.utils import timezone

from core.models import Job
from core.permissions import scope_to_user
from core.schema import schema_status
from training.engine import compute_pmc, foster_monotony
from training.loads import daily_loads_from_years, series_inputs
from training.models import (
    Activity,
    ActivityStream,
    HeartRateProfile,
    RecalculationChunk,
)
from training.recalculation import JOB_KIND, recalculation_report
from training.streams import decode_stream

FloatArray = npt.NDArray[np.float64]
MONOTONY_PREFIX_DAYS = 6


def activities_visible(user: Any) -> QuerySet[Activity]:
    """Activities the user may see (own; a coach's linked athletes; all for staff), without stream blobs."""
    return scope_to_user(Activity.objects.all(), user).select_related("hr_profile").order_by("-start", "-id")


def activities_filter(
    queryset: QuerySet[Activity],
    *,
    athlete_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    sport: str | None = None,
    method: str | None = None,
) -> QuerySet[Activity]:
    """Filter by athlete, local-day range (inclusive), sport and TRIMP method (``none`` = not scored)."""
    if athlete_id is not None:
        queryset = queryset.filter(athlete_id=athlete_id)
    if date_from is not None:
        queryset = queryset.filter(local_date__gte=date_from)
    if date_to is not None:
        queryset = queryset.filter(local_date__lte=date_to)
    if sport:
        queryset = queryset.filter(sport=sport.lower())
    if method:
        queryset = queryset.filter(trimp_calculation_method="" if method == "none" else method)
    return queryset


def activity_stream(activity: Activity) -> tuple[FloatArray, FloatArray] | None:
    data = ActivityStream.objects.filter(activity_id=activity.pk).values_list("data", flat=True).first()
    return decode_stream(data) if data is not None else None


def hr_profiles_of(athlete_id: int) -> QuerySet[HeartRateProfile]:
    return HeartRateProfile.objects.filter(athlete_id=athlete_id).order_by("effective_from")


# Decimals shown for load, CTL, ATL, TSB (TRIMP points), ACWR, monotony (ratios) and strain.
DISPLAY_DECIMALS: tuple[int, ...] = (2, 2, 2, 2, 3, 3, 1)


@dataclass(frozen=True, eq=False)
class LoadSeries:
    """Day-by-day PMC values for ``first_day`` .. (``first_day`` + len - 1); NaN = undefined."""

    athlete_id: int
    first_day: date
    load: FloatArray
    ctl: FloatArray
    atl: FloatArray
    tsb: FloatArray
    acwr: FloatArray
    monotony: FloatArray
    strain: FloatArray
    ctl_seed: float
    atl_seed: float
    seed_date: date | None
    history_start: date | None
    ctl_days: float
    atl_days: float

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range(self.load.size)]

    def rows(self, *, rounded: bool = False) -> list[dict[str, Any]]:
        """One dict per day, NaN as None (for JSON). ``rounded``: for people and the API — each value to the
        decimals in ``DISPLAY_DECIMALS`` (a decaying CTL reads 0.0, not ``3.7e-69``). The arrays (and every
        activity's TRIMP) keep full precision: they are the data later days are computed from."""
        columns = [self.load, self.ctl, self.atl, self.tsb, self.acwr, self.monotony, self.strain]
        lists = [
            [None if v != v else (round(v, decimals) + 0.0 if rounded else v) for v in column.tolist()]
            for column, decimals in zip(columns, DISPLAY_DECIMALS, strict=True)
        ]
        first = self.first_day.toordinal()
        return [
            {
                "date": date.fromordinal(first + n).isoformat(),
                "load": load,
                "ctl": ctl,
                "atl": atl,
                "tsb": tsb,
                "acwr": acwr,
                "monotony": monotony,
                "strain": strain,
            }
            for n, (load, ctl, atl, tsb, acwr, monotony, strain) in enumerate(zip(*lists, strict=True))
        ]


def training_load_series(*, athlete_id: int, date_from: date, date_to: date) -> LoadSeries:
    """CTL/ATL/TSB/ACWR/monotony/strain for the athlete's local days ``date_from`` .. ``date_to`` (inclusive).

    The recursion runs from the athlete's history start: the day after ``seed_date`` when one is set (the
    seeds are the values at the end of that day and earlier activities are left out), else the first day with
    a load (the seeds, default 0, hold on the day before). Days before the history start carry load 0 and the
    seeds. Monotony uses the 6 days before each day; before the first activity those loads are 0 (with a
    ``seed_date`` they are unknown, so the first six days' monotony is undefined). One query.
    """
    inputs = series_inputs(athlete_id, last=date_to)
    ctl_seed, atl_seed, seed_date = inputs.ctl_seed, inputs.atl_seed, inputs.seed_date
    first = seed_date + timedelta(days=1) if seed_date is not None else None
    origin, stored = daily_loads_from_years(inputs.years, first=first, last=date_to)
    total_days = (date_to - date_from).days + 1
    load = np.zeros(total_days)
    ctl = np.full(total_days, float(ctl_seed))
    atl = np.full(total_days, float(atl_seed))
    tsb = np.full(total_days, float(ctl_seed - atl_seed))
    acwr = np.full(total_days, atl_seed / ctl_seed if ctl_seed >= 1e-9 else math.nan)
    monotony = np.full(total_days, math.nan)
    strain = np.full(total_days, math.nan)
    if origin is not None and origin <= date_to:
        n = (date_to - origin).days + 1
        # Without a seed date the six days before the first activity had no load: prepend them so that the
        # first week's monotony is defined. With zero seeds (the default) this leaves CTL/ATL/TSB unchanged, so
        # one pass computes everything; non-zero seeds must start on the day before the first activity.
        prefix = MONOTONY_PREFIX_DAYS if seed_date is None and ctl_seed == 0 and atl_seed == 0 else 0
        history = np.zeros(prefix + n)
        history[prefix:] = stored
        pmc = compute_pmc(
            history, ctl_seed=ctl_seed, atl_seed=atl_seed, ctl_days=inputs.ctl_days, atl_days=inputs.atl_days
        )
        week_monotony, week_strain = pmc.monotony[prefix:], pmc.strain[prefix:]
        if seed_date is None and not prefix:
            week_monotony, week_strain = foster_monotony(np.concatenate([np.zeros(MONOTONY_PREFIX_DAYS), history]))
            week_monotony, week_strain = week_monotony[MONOTONY_PREFIX_DAYS:], week_strain[MONOTONY_PREFIX_DAYS:]
        # Align the history (origin .. date_to) with the requested window (date_from .. date_to).
        shift = (date_from - origin).days
        src = slice(max(shift, 0), n)
        dst = slice(max(-shift, 0), total_days)
        for target, values in (
            (load, pmc.loads[prefix:]),
            (ctl, pmc.ctl[prefix:]),
            (atl, pmc.atl[prefix:]),
            (tsb, pmc.tsb[prefix:]),
            (acwr, pmc.acwr[prefix:]),
            (monotony, week_monotony),
            (strain, week_strain),
        ):
            target[dst] = values[src]
    return LoadSeries(
        athlete_id=athlete_id,
        first_day=date_from,
        load=load,
        ctl=ctl,
        atl=atl,
        tsb=tsb,
        acwr=acwr,
        monotony=monotony,
        strain=strain,
        ctl_seed=float(ctl_seed),
        atl_seed=float(atl_seed),
        seed_date=seed_date,
        history_start=origin,
        ctl_days=inputs.ctl_days,
        atl_days=inputs.atl_days,
    )


def calculation_stats() -> dict[str, Any]:
    """Counts by method and reason, errors by code, and the most recent errors."""
    by_method: dict[str, dict[str, int]] = {}
    total = 0
    for method, reason, n in (
        Activity.objects.order_by()
        .values_list("trimp_calculation_method", "trimp_method_reason")
        .annotate(n=Count("id"))
    ):
        by_method.setdefault(method or "none", {})[reason or "none"] = n
        total += n
    errors_by_code = dict(
        Activity.objects.exclude(trimp_error_code="")
        .order_by()
        .values_list("trimp_error_code")
        .annotate(n=Count("id"))
        .values_list("trimp_error_code", "n")
    )
    recent = list(
        Activity.objects.exclude(trimp_error_code="")
        .order_by("-trimp_processed_at", "-id")
        .values("id", "athlete_id", "local_date", "trimp_error_code", "trimp_error", "trimp_processed_at")[:20]
    )
    method_totals = {method: sum(reasons.values()) for method, reasons in by_method.items()}
    return {
        "total_activities": total,
        "by_method": method_totals,
        "by_method_and_reason": by_method,
        "errors_by_code": errors_by_code,
        "recent_errors": recent,
        "unscored": Activity.objects.filter(trimp__isnull=True).count(),
        "engine_versions": dict(
            Activity.objects.exclude(engine_version="")
            .order_by()
            .values_list("engine_version")
            .annotate(n=Count("id"))
            .values_list("engine_version", "n")
        ),
    }


def _percentile(values: FloatArray, q: float) -> float | None:
    return float(np.percentile(values, q)) if values.size else None


def performance_metrics(*, hours: int = 24) -> dict[str, Any]:
    """Calculation durations (per method), success rate and throughput over the last ``hours``, and the
    throughput of recent recalculation jobs — from the stored activities and job rows."""
    now = timezone.now()
    since = now - timedelta(hours=hours)
    window = Activity.objects.filter(trimp_processed_at__gte=since)
    durations: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    scored = failed = 0
    first = last = None
    for method, error_code, ms, processed_at in window.values_list(
        "trimp_calculation_method", "trimp_error_code", "calculation_ms", "trimp_processed_at"
    ).iterator(chunk_size=5000):
        first = processed_at if first is None or processed_at < first else first
        last = processed_at if last is None or processed_at > last else last
        if error_code:
            errors[error_code] = errors.get(error_code, 0) + 1
            if error_code != "TRIMP_002":  # a missing profile is the athlete's setup, not a failed calculation
                failed += 1
        else:
            scored += 1
        if ms is not None:
            durations.setdefault(method or "failed", []).append(ms)
    by_method = {}
    for method, values in sorted(durations.items()):
        array = np.asarray(values)
        by_method[method] = {
            "count": int(array.size),
            "mean_ms": float(array.mean()),
            "p50_ms": _percentile(array, 50),
            "p95_ms": _percentile(array, 95),
            "max_ms": float(array.max()),
        }
    attempts = scored + failed
    span_minutes = max((last - first).total_seconds() / 60.0, 1.0) if first and last else None
    jobs = []
    for job in Job.objects.filter(kind=JOB_KIND, status=Job.Status.SUCCEEDED).order_by("-finished_at")[:10]:
        seconds = (job.finished_at - job.started_at).total_seconds() if job.finished_at and job.started_at else None
        processed = int(job.result.get("processed", 0))
        jobs.append(
            {
                "job_id": job.pk,
                "dry_run": bool(job.params.get("dry_run")),
                "processed": processed,
                "seconds": seconds,
                "activities_per_second": processed / seconds if seconds else None,
            }
        )
    return {
        "window_hours": hours,
        "system_metrics": {
            "calculations": attempts,
            "succeeded": scored,
            "failed": failed,
            "success_rate": scored / attempts if attempts else None,
            "error_rate": failed / attempts if attempts else None,
            "errors_by_code": errors,
            "throughput_per_minute": (scored + failed) / span_minutes if span_minutes else None,
        },
        "durations_by_method": by_method,
        "recalculations": jobs,
        "generated_at": now,
    }


def recalculation_status(job: Job) -> dict[str, Any]:
    """Progress, ETA, counts and errors of a recalculation job (from its chunks)."""
    chunks = RecalculationChunk.objects.filter(job=job)
    agg = chunks.aggregate(first_claim=Min("claimed_at"), last_finish=Max("finished_at"), planned=Sum("planned"))
    report = recalculation_report(job.pk)
    planned = int(agg["planned"] or 0)
    done = int(chunks.filter(status=RecalculationChunk.Status.DONE).aggregate(n=Sum("planned"))["n"] or 0)
    rate = eta = None
    if agg["first_claim"] and done:
        end = agg["last_finish"] if job.status not in Job.ACTIVE else timezone.now()
        elapsed = max((end - agg["first_claim"]).total_seconds(), 1e-3)
        rate = done / elapsed
        eta = (planned - done) / rate if job.status in Job.ACTIVE else 0.0
    chunk_errors = list(
        chunks.exclude(error="").order_by("index").values("index", "status", "attempts", "error", "claimed_by")[:20]
    )
    return {
        "job_id": job.pk,
        "status": job.status,
        "params": job.params,
        "dry_run": bool(job.params.get("dry_run")),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "attempts": job.attempts,
        "error": job.error,
        "progress": {
            "done": done,
            "total": planned,
            "fraction": done / planned if planned else (1.0 if job.status == Job.Status.SUCCEEDED else 0.0),
            "activities_per_second": rate,
            "eta_seconds": eta,
        },
        "counts": {key: report[key] for key in ("processed", "changed", "unchanged", "failed") if key in report},
        "chunks": report["chunks"],
        "errors": {"by_code": report["errors_by_code"], "activities": report["errors"], "chunks": chunk_errors},
        "report": report,
    }


def recalculation_jobs(*, limit: int = 20) -> list[Job]:
    return list(Job.objects.filter(kind=JOB_KIND).select_related("created_by").order_by("-created_at")[:limit])


def trimp_schema_status() -> dict[str, Any]:
    """Tables, columns and indexes of the training models present in the database."""
    models = [m for m in apps.get_app_config("training").get_models() if m._meta.managed]
    report = schema_status(models)
    expected_columns = ("trimp_calculation_method", "hr_stream_sample_count", "trimp_processed_at")
    activity = report["tables"].get(Activity._meta.db_table, {})
    report["runbook_columns"] = {
        name: activity.get("present", False) and name not in activity.get("missing_columns", [])
        for name in expected_columns
    }
    return report
