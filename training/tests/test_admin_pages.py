"""The ops console: /admin/trimp-settings, the fitness/fatigue/form chart, the training admin pages, the
demo data and the chart's SVG."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from django.test import Client

from core.models import Job
from training.charts import pmc_chart_svg
from training.loads import daily_loads_by_day
from training.models import Activity, ActivityStream, HeartRateProfile


@pytest.fixture
def admin_client(make_user: Any) -> Client:
    client = Client()
    client.force_login(make_user("staff", staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_trimp_settings_page_shows_every_section_and_starts_a_job(
    admin_client: Client, make_user: Any, profile_for: Any, import_stream: Any, flag_for: Any
) -> None:
    athlete = make_user("athlete", groups=("beta",))
    profile_for(athlete)
    flag_for("beta")
    import_stream(athlete)
    import_stream(make_user("athlete"))  # no profile: an error to show
    page = admin_client.get("/admin/trimp-settings")
    assert page.status_code == 200
    html = page.content.decode()
    for section in ("flag-status", "settings", "method-counts", "errors", "performance", "jobs", "recalculate-form"):
        assert f'id="{section}"' in html, section
    assert "TRIMP_002" in html and "stream_ok" in html
    assert re.search(r"beta cohort</th><td class=\"on\">on", html)
    response = admin_client.post(
        "/admin/trimp-settings", {"athlete_id": str(athlete.pk), "dry_run": "on", "reason": "x"}
    )
    assert response.status_code == 302
    job = Job.objects.get(kind="training.recalculate")
    assert job.params["athlete_id"] == athlete.pk and job.params["dry_run"] is True and job.params["trigger"] == "admin"
    assert f">{job.pk}</a> (dry run)" in admin_client.get("/admin/trimp-settings").content.decode()
    admin_client.post("/admin/trimp-settings", {"athlete_id": "abc"})
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_trimp_settings_page_is_staff_only(make_user: Any) -> None:
    client = Client()
    assert client.get("/admin/trimp-settings").status_code == 302  # to the login page
    client.force_login(make_user("athlete"))
    assert client.get("/admin/trimp-settings").status_code == 302


@pytest.mark.django_db
def test_load_chart_is_a_picture(admin_client: Client, make_user: Any, profile_for: Any, history: Any) -> None:
    athlete = make_user("athlete")
    profile_for(athlete)
    start = date.today() - timedelta(days=20)
    history(athlete, 14, start=start)
    page = admin_client.get(f"/admin/training/activity/athlete-load/{athlete.pk}/?days=30")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and html.count("<polyline") >= 3 and "CTL fitness" in html
    assert admin_client.get("/admin/training/activity/athlete-load/999999/").status_code == 404


@pytest.mark.django_db
def test_training_admin_pages_load(admin_client: Client, make_user: Any, profile_for: Any, import_stream: Any) -> None:
    athlete = make_user("athlete")
    profile = profile_for(athlete)
    activity = import_stream(athlete)
    for url in (
        "/admin/training/activity/",
        f"/admin/training/activity/{activity.pk}/change/",
        "/admin/training/heartrateprofile/",
        f"/admin/training/heartrateprofile/{profile.pk}/change/",
        "/admin/training/heartrateprofile/add/",
        "/admin/training/loadyear/",
        "/admin/training/trimpsettings/",
        "/admin/training/recalculationchunk/",
        "/admin/training/athleteloadsettings/",
    ):
        assert admin_client.get(url).status_code == 200, url
    added = admin_client.post(
        "/admin/training/heartrateprofile/add/",
        {"athlete": athlete.pk, "effective_from": "2024-02-01", "resting_hr": 45, "max_hr": 185, "sex": "female"},
    )
    assert added.status_code == 302
    assert Job.objects.filter(kind="training.recalculate", params__athlete_id=athlete.pk).exists()
    refused = admin_client.post(
        "/admin/training/heartrateprofile/add/",
        {"athlete": athlete.pk, "effective_from": "2024-03-01", "resting_hr": 45, "max_hr": 40, "sex": "female"},
    )
    assert refused.status_code == 200 and "TRIMP_002" in refused.content.decode()
    assert HeartRateProfile.objects.filter(athlete=athlete).count() == 2
    deleted = admin_client.post(
        "/admin/training/activity/", {"action": "delete_selected", "_selected_action": [activity.pk], "post": "yes"}
    )
    assert deleted.status_code == 302
    assert not Activity.objects.exists() and not ActivityStream.objects.exists() and daily_loads_by_day() == {}


@pytest.mark.django_db
def test_demo_data_is_realistic_and_idempotent(demo_users: Any) -> None:
    from training.demo import FULL_DAYS, seed_training_demo

    first = seed_training_demo(demo_users)
    count = Activity.objects.count()
    assert count > 500 and "created" in first
    assert seed_training_demo(demo_users).startswith("0 synthetic activities created")
    assert Activity.objects.count() == count
    beta = demo_users.beta[0]
    days = Activity.objects.filter(athlete=beta).values_list("local_date", flat=True)
    assert (max(days) - min(days)).days > FULL_DAYS - 10
    assert HeartRateProfile.objects.filter(athlete=beta).count() == 2
    reasons = set(Activity.objects.values_list("trimp_method_reason", flat=True))
    assert "flag_off" in reasons and not Activity.objects.filter(trimp__isnull=True).exists()
    assert ActivityStream.objects.count() == count and len(daily_loads_by_day(beta.pk)) > 50


def test_chart_svg_has_lines_bars_and_gaps() -> None:
    days = 30
    load = np.where(np.arange(days) % 3 == 0, 80.0, 0.0)
    ctl = np.linspace(10, 40, days)
    atl = np.linspace(20, 60, days)
    tsb = ctl - atl
    tsb[5] = np.nan
    svg = pmc_chart_svg(first_day=date(2024, 1, 1), load=load, ctl=ctl, atl=atl, tsb=tsb)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polyline") == 4  # CTL, ATL, and TSB split at its gap
    assert svg.count('fill="#b0bec5"') == 10 + 1  # ten load bars and the legend
    assert "2024-01-01" in svg
    assert "no days" in pmc_chart_svg(
        first_day=date(2024, 1, 1), load=np.array([]), ctl=np.array([]), atl=np.array([]), tsb=np.array([])
    )
