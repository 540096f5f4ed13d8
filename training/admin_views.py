"""Ops pages of the training app in the admin console: the runbooks' /admin/trimp-settings page and the
fitness / fatigue / form chart of an athlete."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, F, Max, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from core.errors import ServiceError
from core.models import Job, User
from rollout.flags import flag_is_on
from rollout.selectors import flag_overview_for
from training import selectors
from training.charts import pmc_chart_svg
from training.config import current_settings, settings_dict
from training.models import Activity
from training.recalculation import recalculation_start
from training.scoring import FLAG_NAME

CHART_DAYS_DEFAULT = 180
CHART_DAYS_MAX = 3660


def _start_recalculation(request: HttpRequest) -> None:
    athlete = (request.POST.get("athlete_id") or "").strip()
    since = (request.POST.get("since") or "").strip()
    try:
        job = recalculation_start(
            actor=request.user,  # type: ignore[arg-type]
            athlete_id=int(athlete) if athlete else None,
            since=date.fromisoformat(since) if since else None,
            dry_run=request.POST.get("dry_run") == "on",
            reason=(request.POST.get("reason") or "").strip(),
            trigger="admin",
        )
    except ValueError:
        messages.error(request, "Athlete must be an id and since a date (YYYY-MM-DD).")
    except ServiceError as exc:
        messages.error(request, f"{exc.code}: {exc.message}")
    else:
        messages.success(request, f"Recalculation job {job.pk} queued.")


def trimp_settings_view(request: HttpRequest) -> HttpResponse:
    """Flag status per cohort, method counts, recent errors by code, calculation performance and
    recalculation jobs with progress; POST starts a recalculation."""
    enabled = flag_is_on(request, "admin_dashboard_enabled")
    if request.method == "POST" and enabled:
        _start_recalculation(request)
        return HttpResponseRedirect(reverse("ops-trimp-settings"))
    context: dict[str, Any] = {**admin.site.each_context(request), "title": "TRIMP settings", "enabled": enabled}
    if enabled:
        stats = selectors.calculation_stats()
        context.update(
            flag=flag_overview_for(FLAG_NAME),
            settings=settings_dict(current_settings()),
            stats=stats,
            methods=sorted(
                (
                    (method, reason, n)
                    for method, reasons in stats["by_method_and_reason"].items()
                    for reason, n in reasons.items()
                ),
                key=lambda row: -row[2],
            ),
            performance=selectors.performance_metrics(hours=24),
            jobs=[selectors.recalculation_status(job) for job in selectors.recalculation_jobs(limit=8)],
            **_athlete_search(request.GET.get("athlete_q", "").strip()),
        )
    return TemplateResponse(request, "admin/training/trimp_settings.html", context)


ATHLETE_RESULTS = 50


def _athlete_search(query: str) -> dict[str, Any]:
    """Every athlete is reachable: the search matches username, name or e-mail over all athletes (with or
    without activities); without a query, the most recently active ones are listed."""
    athletes = User.objects.filter(role=User.Role.ATHLETE).annotate(
        n=Count("activities"), last=Max("activities__local_date")
    )
    if query:
        athletes = athletes.filter(
            Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(email__icontains=query)
        ).order_by("username")
    else:
        athletes = athletes.order_by(F("last").desc(nulls_last=True), "username")
    total = athletes.count()
    return {
        "athlete_q": query,
        "athletes": list(athletes.values("id", "username", "n", "last")[:ATHLETE_RESULTS]),
        "athletes_total": total,
        "athletes_all": User.objects.filter(role=User.Role.ATHLETE).count(),
    }


def recalculation_report_view(request: HttpRequest, job_id: int) -> HttpResponse:
    """A recalculation's (or dry run's) report as tables: counts, method transitions, the distribution of
    relative changes as bars, and the biggest movers with links — the JSON stays in the API and the job row."""
    job = get_object_or_404(Job, pk=job_id, kind="training.recalculate")
    status = selectors.recalculation_status(job)
    report = status["report"]
    histogram = report.get("histogram", {})
    largest = max(histogram.values(), default=0)
    context = {
        **admin.site.each_context(request),
        "title": f"Recalculation {job.pk}{' (dry run)' if status['dry_run'] else ''}",
        "status": status,
        "report": report,
        "histogram": [
            {"bucket": bucket, "n": n, "width": round(100 * n / largest) if largest else 0}
            for bucket, n in sorted(histogram.items(), key=lambda item: _bucket_order(item[0]))
        ],
        "movers": report.get("top_movers", []),
    }
    return TemplateResponse(request, "admin/training/recalculation_report.html", context)


def _bucket_order(bucket: str) -> tuple[int, float]:
    """Histogram buckets "[-inf, -50)%" … "[50, inf)%" by their lower edge; named buckets last."""
    if not bucket.startswith("["):
        return (1, 0.0)
    lower = bucket[1:].split(",", 1)[0].strip()
    return (0, float("-inf") if lower == "-inf" else float(lower))


def athlete_load_chart_view(request: HttpRequest, athlete_id: int) -> HttpResponse:
    """The athlete's fitness / fatigue / form over the last ``days`` (default 180) as a picture."""
    athlete = get_object_or_404(User, pk=athlete_id)
    try:
        days = min(max(int(request.GET.get("days", CHART_DAYS_DEFAULT)), 7), CHART_DAYS_MAX)
    except ValueError:
        days = CHART_DAYS_DEFAULT
    today = timezone.now().date()
    series = selectors.training_load_series(
        athlete_id=athlete.pk, date_from=today - timedelta(days=days - 1), date_to=today
    )
    has_activities = Activity.objects.filter(athlete=athlete).exists()
    svg = pmc_chart_svg(
        first_day=series.first_day,
        load=series.load,
        ctl=series.ctl,
        atl=series.atl,
        tsb=series.tsb,
        empty_message=(
            f"no activities with a TRIMP in the last {days} days"
            if has_activities
            else f"{athlete.get_username()} has no activities yet"
        ),
    )
    last = series.rows(rounded=True)[-1]
    context = {
        **admin.site.each_context(request),
        "title": f"Fitness, fatigue and form — {athlete.get_username()}",
        "athlete": athlete,
        "days": days,
        "chart": mark_safe(svg),
        "today": last,
        "series": series,
        "has_activities": has_activities,
    }
    return TemplateResponse(request, "admin/training/load_chart.html", context)
