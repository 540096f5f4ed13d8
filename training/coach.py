"""The coach console (``/coach/``): a coach logs in with Django's login and sees only the athletes linked to
them (``core.CoachAthlete``) — each athlete's fitness / fatigue / form chart, recent activities and the flags
that apply to them. Read-only: every view answers GET/HEAD only (405 otherwise), and coaches are not staff, so
the ops console stays closed to them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from core.models import CoachAthlete, User
from rollout import flags
from rollout.registry import registered_flags
from training import selectors
from training.charts import pmc_chart_svg
from training.models import Activity

LOGIN_URL = "/coach/login/"
RECENT_ACTIVITIES = 20
DAYS_DEFAULT, DAYS_MIN, DAYS_MAX = 90, 14, 730


def _coach_or_403(request: HttpRequest) -> HttpResponse | None:
    if request.user.role != User.Role.COACH:  # type: ignore[union-attr]
        return render(request, "coach/not_a_coach.html", status=403)
    return None


def linked_athletes(coach: User) -> list[dict[str, Any]]:
    """The coach's athletes with their activity count and last activity day (one query)."""
    ids = CoachAthlete.objects.filter(coach=coach).values("athlete_id")
    return list(
        User.objects.filter(pk__in=ids)
        .annotate(n=Count("activities"), last=Max("activities__local_date"))
        .order_by("username")
        .values("id", "username", "first_name", "last_name", "n", "last")
    )


@require_safe
@login_required(login_url=LOGIN_URL)
def coach_home(request: HttpRequest) -> HttpResponse:
    refused = _coach_or_403(request)
    if refused:
        return refused
    athletes = linked_athletes(request.user)  # type: ignore[arg-type]
    today = timezone.now().date()
    for row in athletes:
        series = selectors.training_load_series(athlete_id=row["id"], date_from=today, date_to=today)
        row["today"] = series.rows(rounded=True)[0]
    return render(request, "coach/home.html", {"athletes": athletes, "today": today})


@require_safe
@login_required(login_url=LOGIN_URL)
def coach_athlete(request: HttpRequest, athlete_id: int) -> HttpResponse:
    refused = _coach_or_403(request)
    if refused:
        return refused
    if not CoachAthlete.objects.filter(coach=request.user, athlete_id=athlete_id).exists():
        raise Http404("No such athlete among yours.")
    athlete = User.objects.get(pk=athlete_id)
    try:
        days = min(max(int(request.GET.get("days", DAYS_DEFAULT)), DAYS_MIN), DAYS_MAX)
    except ValueError:
        days = DAYS_DEFAULT
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    series = selectors.training_load_series(athlete_id=athlete.pk, date_from=first, date_to=today)
    recent = list(
        Activity.objects.filter(athlete=athlete).select_related("hr_profile").order_by("-start")[:RECENT_ACTIVITIES]
    )
    has_activities = bool(recent)
    chart = pmc_chart_svg(
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
    applying = []
    for spec in registered_flags():
        enabled, reason = flags.evaluate(spec.name, user_id=athlete.pk)
        applying.append({"name": spec.name, "description": spec.description, "on": enabled, "reason": reason})
    context = {
        "athlete": athlete,
        "days": days,
        "chart": mark_safe(chart),  # built by core.charts, which escapes every text it writes
        "today": series.rows(rounded=True)[-1],
        "activities": recent,
        "has_activities": has_activities,
        "flags": sorted(applying, key=lambda f: (not f["on"], f["name"])),
    }
    return render(request, "coach/athlete.html", context)
