"""The admin's athlete page: model output, predicted vs reported quality and check-in trends (inline SVG)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe

from core.models import User
from planning.readiness import engine, selectors
from planning.readiness.charts import line_chart_svg


def athlete_page(request: HttpRequest, athlete_id: int) -> HttpResponse:
    athlete = get_object_or_404(User, pk=athlete_id)
    _, population = engine.cached_rules_and_population()
    output = selectors.stored_output(athlete_id, population.version)
    points = selectors.athlete_chart_points(athlete_id)
    days = [p.day for p in points]
    quality = line_chart_svg(
        days,
        {
            "reported quality": ("#1565c0", [p.reported for p in points]),
            "predicted quality": ("#ef6c00", [p.predicted for p in points]),
        },
        y_min=0,
        y_max=10,
        y_label="quality (1–10)",
        title="Predicted vs reported session quality",
    )
    checkins = line_chart_svg(
        days,
        {
            "sleep (h)": ("#2e7d32", [p.sleep for p in points]),
            "energy (1–5)": ("#f9a825", [p.energy for p in points]),
            "stress (1–5)": ("#ad1457", [p.stress for p in points]),
        },
        y_min=0,
        y_max=12,
        y_label="value",
        title="Check-in trends",
    )
    context = {
        "title": f"Readiness: {athlete.username}",
        "athlete": athlete,
        "population": population,
        "output": output,
        "coefficients": engine.describe_coefficients(output.beta if output else population.mu),
        "quality_chart": mark_safe(quality),
        "checkin_chart": mark_safe(checkins),
    }
    return render(request, "admin/readiness/athlete.html", context)
