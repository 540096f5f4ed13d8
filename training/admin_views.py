"""Ops pages of the training app in the admin console: the runbooks' /admin/trimp-settings page and the
fitness / fatigue / form chart of an athlete."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from core.errors import ServiceError
from core.models import User
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
            athletes=list(
                Activity.objects.order_by()
                .values("athlete_id", "athlete__username")
                .annotate(n=Count("id"), last=Max("local_date"))
                .order_by("-last", "athlete_id")[:24]
            ),
        )
    return TemplateResponse(request, "admin/training/trimp_settings.html", context)


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
    svg = pmc_chart_svg(first_day=series.first_day, load=series.load, ctl=series.ctl, atl=series.atl, tsb=series.tsb)
    last = series.rows()[-1]
    context = {
        **admin.site.each_context(request),
        "title": f"Fitness, fatigue and form — {athlete.get_username()}",
        "athlete": athlete,
        "days": days,
        "chart": mark_safe(svg),
        "today": last,
        "series": series,
    }
    return TemplateResponse(request, "admin/training/load_chart.html", context)
