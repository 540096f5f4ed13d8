"""Finding things in the ops console: the index (ops pages first, unused tables hidden from non-superusers),
every athlete reachable from the TRIMP page, a readable dry-run report, acknowledgements that need a reason,
one chart per monitoring rule with its thresholds."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from core.jobs import job_run
from rollout.monitoring import flush, record_at
from rollout.monitoring.evaluation import rules_evaluate
from rollout.monitoring.models import Alert, AlertRule
from training.recalculation import recalculation_start

pytestmark = pytest.mark.django_db


def test_index_puts_ops_pages_first_and_hides_unused_tables(make_user: Any) -> None:
    operator = make_user("staff", staff=True, username="operator")
    operator.user_permissions.add(*Permission.objects.all())  # every permission, but not a superuser
    client = Client()
    client.force_login(operator)
    html = client.get("/admin/").content.decode()
    assert html.index('id="ops-dashboards"') < html.index("app-rollout") < html.index("app-training")
    assert html.index("app-feedback") < html.index("app-core")
    for hidden in ("app-waffle", "app-knox", "app-django_celery_results"):
        assert hidden not in html
    assert client.get("/admin/knox/authtoken/").status_code == 403
    root = make_user("staff", staff=True, is_superuser=True, username="root")
    client.force_login(root)
    assert "app-knox" in client.get("/admin/").content.decode()


def test_every_athlete_is_reachable_from_the_trimp_page(
    admin_client: Client, make_user: Any, profile_for: Any, import_stream: Any
) -> None:
    athletes = [make_user("athlete", username=f"runner{n:02d}") for n in range(30)]
    profile_for(athletes[0])
    import_stream(athletes[0])
    page = admin_client.get("/admin/trimp-settings").content.decode()
    assert "runner00" in page and 'name="athlete_q"' in page
    found = admin_client.get("/admin/trimp-settings?athlete_q=runner29").content.decode()
    assert f"/admin/training/activity/athlete-load/{athletes[29].pk}/" in found and "runner28" not in found
    assert "1 athlete(s) match" in found


def test_dry_run_report_is_a_table(
    admin_client: Client, make_user: Any, profile_for: Any, history: Any, flag_for: Any
) -> None:
    athlete = make_user("athlete")
    profile_for(athlete, date(2000, 1, 1))
    history(athlete, 6, start=date.today() - timedelta(days=8))
    flag_for("regular")  # what would the stream method change for everyone?
    job = recalculation_start(actor=None, dry_run=True, reason="what if", send=False)
    assert job_run(job.pk) is not None
    html = admin_client.get(f"/admin/trimp-settings/recalculations/{job.pk}/").content.decode()
    assert 'id="report-movers"' in html and 'id="report-distribution"' in html
    assert html.count('href="/admin/training/activity/') >= 6  # six movers, each linked
    assert (
        "average_hr→stream" in html
        and "dry run: nothing was written" in html
        and "{&quot;" not in html
        and '{"' not in html
    )
    trimp_page = admin_client.get("/admin/trimp-settings").content.decode()
    assert f"/admin/trimp-settings/recalculations/{job.pk}/" in trimp_page


@pytest.fixture
def open_alert() -> Alert:
    AlertRule.objects.update(enabled=False)
    AlertRule.objects.create(
        name="slow", metric="calc_ms", aggregation="p95", operator="gt", warning=100, critical=1000
    )
    now = timezone.now()
    for value in [50.0] * 10 + [5000.0] * 10:
        record_at(now, "calc_ms", value)
    flush()
    rules_evaluate(now=now, force=True)
    return Alert.objects.get()


def test_acknowledging_an_alert_asks_for_a_reason(admin_client: Client, open_alert: Alert) -> None:
    url = "/admin/monitoring/alert/"
    response = admin_client.post(url, {"action": "acknowledge", "_selected_action": [open_alert.pk]}, follow=True)
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    open_alert.refresh_from_db()
    assert open_alert.status == "open"
    admin_client.post(url, {"action": "acknowledge", "_selected_action": [open_alert.pk], "reason": "on it: Ana"})
    open_alert.refresh_from_db()
    assert open_alert.status == "acknowledged"
    assert open_alert.events.filter(note="on it: Ana").exists()


def test_monitoring_draws_one_chart_per_rule_with_axes_and_thresholds(admin_client: Client, open_alert: Alert) -> None:
    AlertRule.objects.create(name="quiet", metric="never_recorded", aggregation="mean", operator="gt", warning=1)
    html = admin_client.get("/admin/monitoring/").content.decode()
    assert html.count('class="chart"') == 2
    assert "p95 of calc_ms per minute" in html and "samples per minute" in html and "time (" in html
    assert "warning &gt; 100" in html and "critical &gt; 1,000" in html
    assert "no data in the last hour" in html  # the quiet rule
