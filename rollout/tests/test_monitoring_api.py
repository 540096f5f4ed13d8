"""Dashboard and alert endpoints, the admin monitoring page, the performance report."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from rollout.monitoring import flush, record_at
from rollout.monitoring.evaluation import rules_evaluate
from rollout.monitoring.models import Alert, AlertRule

pytestmark = pytest.mark.django_db


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


def test_dashboard(staff_client: Any, open_alert: Alert) -> None:
    body = staff_client.get("/api/admin/monitoring/dashboard?minutes=30").json()
    assert [a["rule"] for a in body["open_alerts"]] == ["slow"]
    assert body["open_alerts"][0]["severity"] == "critical"
    slow = next(r for r in body["rules"] if r["name"] == "slow")
    assert slow["states"][0]["state"] == "critical"
    series = body["series"]["calc_ms"]
    assert len(series) == 30 and series[-1]["count"] == 20
    assert staff_client.get("/api/admin/monitoring/dashboard?minutes=0").status_code == 400


def test_alert_acknowledge_and_resolve(staff_client: Any, open_alert: Alert) -> None:
    listed = staff_client.get("/api/admin/alerts?status=open").json()["alerts"]
    assert [a["id"] for a in listed] == [open_alert.pk]
    ack = staff_client.post(f"/api/admin/alerts/{open_alert.pk}/acknowledge", {"note": "looking"}, format="json")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    again = staff_client.post(f"/api/admin/alerts/{open_alert.pk}/acknowledge", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "alert_not_open"
    done = staff_client.post(f"/api/admin/alerts/{open_alert.pk}/resolve", {"note": "fixed"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert staff_client.post("/api/admin/alerts/999999/resolve", {}, format="json").status_code == 404
    assert staff_client.get("/api/admin/alerts?status=weird").status_code == 400
    kinds = list(open_alert.events.values_list("kind", flat=True))
    assert kinds == ["opened", "acknowledged", "resolved"]


def test_monitoring_endpoints_are_staff_only(client_for: Any, make_user: Any) -> None:
    athlete = client_for(make_user())
    assert athlete.get("/api/admin/monitoring/dashboard").status_code == 403
    assert athlete.get("/api/admin/alerts").status_code == 403
    assert APIClient().get("/api/admin/alerts").status_code == 401


def test_admin_monitoring_page_draws_charts(open_alert: Alert, make_user: Any) -> None:
    client = Client()
    client.force_login(make_user("staff", staff=True, is_superuser=True))
    html = client.get("/admin/monitoring/").content.decode()
    # one minute of data: one point (a dot) on the rule's chart, with its axes
    assert 'id="open-alerts"' in html and 'class="chart"' in html and "<circle" in html and "slow" in html
    index = client.get("/admin/").content.decode()
    assert 'id="ops-dashboards"' in index


def test_performance_report(open_alert: Alert) -> None:
    earlier = timezone.now() - timedelta(hours=3)
    for value in [10.0] * 20:
        record_at(earlier, "calc_ms", value)
    flush()
    out = StringIO()
    call_command("performance_report", "--since", "6h", stdout=out)
    text = out.getvalue()
    assert "slow (critical)" in text
    assert "WORSE slow: p95" in text
    assert "moved" in text and "Recommendations" in text
    with pytest.raises(CommandError, match="--since"):
        call_command("performance_report", "--since", "last tuesday")
