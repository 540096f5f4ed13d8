"""Every ops page and the coach console in a real browser (Chromium): log in, open the page, check that its
charts have axes, axis labels, time labels and hover values, and save a screenshot under var/screenshots/
for review."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from core.jobs import job_run
from core.models import CoachAthlete
from feedback.services import feedback_submit, feedback_triage
from rollout import flags
from rollout.monitoring import flush, record_at
from rollout.services import flag_toggle
from training.models import HeartRateProfile
from training.recalculation import recalculation_start
from training.scoring import FLAG_NAME
from training.services import activity_import
from training.tests.conftest import steady_stream, stream_json

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
MESSAGES = [
    ("bug_report", "The app crashes every time I upload a FIT file from my Garmin.", None),
    ("performance_issue", "The training load page takes forever to load.", 2),
    ("general_feedback", "Love the new fitness chart, it finally matches how I feel.", 5),
    ("feature_request", "Please add support for power meters in the load calculation.", None),
    ("satisfaction_survey", "Really happy with the training plans.", 4),
]


def _metrics() -> None:
    """The last hour of API latency and TRIMP calculations, with quiet minutes (gaps) in between."""
    rng = random.Random(3)
    now = timezone.now()
    for minute in range(60):
        if minute % 9 == 4:
            continue  # a minute without traffic: a gap the p95 line must bridge
        moment = now - timedelta(minutes=59 - minute)
        for _ in range(25):
            record_at(moment, "api.latency_ms", rng.lognormvariate(3.4, 0.5), route="activities", status_class="2xx")
            record_at(moment, "api.requests", 1.0, route="activities", status_class="2xx")
        record_at(moment, "api.requests", 1.0, route="activities", status_class="5xx")
        for _ in range(12):
            record_at(moment, "trimp.calculations", 1.0, method="stream", outcome="success")
            record_at(moment, "trimp.calculation_ms", rng.uniform(2, 9), method="stream")
    flush()


def _history(athlete: Any, days: int) -> None:
    """``days`` daily one-hour sessions of varying intensity, imported through the real service."""
    first = date.today() - timedelta(days=days + 5)
    for n in range(days):
        times, hrs = steady_stream(45 + n % 4 * 10, 125 + n % 5 * 8, seed=n)
        activity_import(
            actor=athlete,
            athlete=athlete,
            data=json.dumps(stream_json(times, hrs)).encode(),
            filename="streams.json",
            start=datetime.combine(first + timedelta(days=n), time(7, 0), tzinfo=UTC),
            external_id=f"browser:{athlete.pk}:{n}",
        )


@pytest.fixture
def world(make_user: Any) -> dict[str, Any]:
    make_user("staff", staff=True, is_superuser=True, username="ops")
    coach = make_user("coach", username="coach1")
    runners = [make_user("athlete", username=f"runner{n}") for n in range(3)]
    for runner in runners[:2]:
        HeartRateProfile.objects.create(athlete=runner, effective_from=date(2000, 1, 1), resting_hr=50, max_hr=190)
        _history(runner, 40)
    for runner in runners:
        CoachAthlete.objects.create(coach=coach, athlete=runner)
    for feedback_type, message, rating in MESSAGES:
        item, _ = feedback_submit(
            user=runners[0], type=feedback_type, message=message, rating=rating, queue_triage=False
        )
        feedback_triage(feedback_id=item.pk)
    # what would the stream method change for everyone?
    flag_toggle(name=FLAG_NAME, enabled=True, user_type="regular", actor=None, source="api", reason="what if")
    flags.invalidate_local()
    job = recalculation_start(actor=None, dry_run=True, reason="stream method for everyone", send=False)
    job_run(job.pk)
    _metrics()
    return {"runners": runners, "job": job, "feedback": item}


def _login(browser: Any, base: str, path: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{base}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def _check_charts(page: Any, minimum: int) -> None:
    charts = page.locator("svg.chart")
    assert charts.count() >= minimum, page.url
    for n in range(charts.count()):
        chart = charts.nth(n)
        assert chart.bounding_box()["width"] > 500  # fills its box, not a 240 px sparkline
        labels = [text.strip() for text in chart.locator(".axis-label").all_text_contents()]
        assert len(labels) >= 2 and all(labels), labels  # a value axis and the x axis, both named
        if chart.locator(".empty").count():
            continue  # an empty state says what is missing instead of hover values
        assert chart.locator(".axis-x .tick").count() >= 1  # (a summary of one week has one)
        assert chart.locator("rect.hover title").count() >= 1


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_ops_pages_in_a_browser(live_server: Any, world: dict[str, Any], chromium: Any) -> None:
    page = _login(chromium, live_server.url, "/admin/login/?next=/admin/", "ops")
    assert page.locator("#ops-dashboards").is_visible()
    _shot(page, "admin-index")

    page.goto(f"{live_server.url}/admin/monitoring/")
    _check_charts(page, 5)
    assert "p95 of api.latency_ms per minute (ms)" in page.content()
    assert page.locator("svg.chart .threshold").count() >= 5
    _shot(page, "monitoring")

    page.goto(f"{live_server.url}/admin/trimp-settings")
    page.fill("input[name=athlete_q]", "runner2")
    page.click("#athlete-search input[type=submit]")
    page.wait_for_selector("#athlete-list")
    assert page.locator("#athlete-list a", has_text="runner2").count() == 1
    _shot(page, "trimp-settings")

    runner = world["runners"][0]
    page.goto(f"{live_server.url}/admin/training/activity/athlete-load/{runner.pk}/?days=60")
    _check_charts(page, 1)
    assert "daily load (TRIMP)" in page.locator("svg.chart .axis-y2").text_content()
    _shot(page, "athlete-load")

    page.goto(f"{live_server.url}/admin/training/activity/athlete-load/{world['runners'][2].pk}/")
    assert page.locator("svg.chart .empty").text_content() == "runner2 has no activities yet"
    _shot(page, "athlete-load-empty")

    page.goto(f"{live_server.url}/admin/trimp-settings/recalculations/{world['job'].pk}/")
    assert page.locator("#report-movers tr").count() >= 11  # the ten biggest movers and the header
    _shot(page, "dry-run-report")

    page.goto(f"{live_server.url}/admin/feedback-summary/")
    _check_charts(page, 1)
    _shot(page, "feedback-summary")

    page.goto(f"{live_server.url}/admin/feedback/feedback/")
    assert page.locator("th.column-sla").is_visible() and page.locator("td.field-message_excerpt").count() == 5
    _shot(page, "triage-list")
    page.goto(f"{live_server.url}/admin/feedback/feedback/{world['feedback'].pk}/change/")
    assert page.locator("select[name=priority]").is_visible()
    _shot(page, "triage-item")
    page.context.close()


def test_coach_console_in_a_browser(live_server: Any, world: dict[str, Any], chromium: Any) -> None:
    page = _login(chromium, live_server.url, "/coach/login/", "coach1")
    assert page.locator("#athletes a").count() == 3
    _shot(page, "coach-home")
    page.click("#athletes a >> text=runner0")
    page.wait_for_selector("#load-chart")
    _check_charts(page, 1)
    assert page.locator("#recent-activities tr").count() == 21 and page.locator("#flags tr").count() >= 2
    _shot(page, "coach-athlete")
    page.context.close()
