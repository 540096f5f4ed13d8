"""Read-only maintenance mode: writes answer 503 with the error shape, reads, login and health keep working."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from rest_framework.test import APIClient

from core.maintenance import maintenance_reset_cache, maintenance_set, maintenance_state
from core.models import MaintenanceChange

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_cached_state() -> Iterator[None]:
    """The state is cached per process; a rolled-back test must not leave "on" behind for the next one."""
    maintenance_reset_cache()
    yield
    maintenance_reset_cache()


def _assert_maintenance_503(response: Any, reason: str) -> None:
    assert response.status_code == 503
    assert response["Retry-After"]
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "maintenance"
    assert reason in body["error"]["message"]
    assert body["error"]["details"]["reason"] == reason


def test_writes_are_refused_and_reads_work_while_on(client_for: Any, make_user: Any, staff_client: Any) -> None:
    athlete = make_user()
    client = client_for(athlete)
    maintenance_set(enabled=True, reason="restoring last night's backup", actor=None)

    _assert_maintenance_503(client.patch("/api/v1/me", {"timezone": "Europe/Paris"}), "restoring last night's backup")
    _assert_maintenance_503(
        client.post("/api/feedback/submit", {"type": "general_feedback", "message": "hello"}),
        "restoring last night's backup",
    )
    _assert_maintenance_503(client.delete("/api/v1/activities/1"), "restoring last night's backup")
    _assert_maintenance_503(
        staff_client.post("/api/admin/feature-flags/enhanced_trimp_calculation/toggle", {"enabled": False}),
        "restoring last night's backup",
    )
    athlete.refresh_from_db()
    assert athlete.timezone == "UTC"  # nothing written

    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/activities").status_code == 200
    assert APIClient().get("/health").status_code in (200, 503)  # health answers (its own verdict), not refused


def test_login_still_works_while_on(make_user: Any) -> None:
    make_user(username="runner")
    maintenance_set(enabled=True, reason="isolating", actor=None)
    response = APIClient().post("/api/v1/auth/token", {"username": "runner", "password": "pw"}, format="json")
    assert response.status_code in (200, 201)
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code in (200, 204)


def test_off_again_accepts_writes(client_for: Any, make_user: Any) -> None:
    client = client_for(make_user())
    maintenance_set(enabled=True, reason="isolating", actor=None)
    assert client.patch("/api/v1/me", {"timezone": "Europe/Paris"}).status_code == 503
    maintenance_set(enabled=False, reason="done", actor=None)
    assert client.patch("/api/v1/me", {"timezone": "Europe/Paris"}).status_code == 200


def test_admin_saves_are_refused_but_the_switch_works(client: Any, make_user: Any) -> None:
    admin_user = make_user("staff", staff=True, is_superuser=True)
    client.force_login(admin_user)
    target = make_user()
    response = client.post(
        "/admin/core/maintenancechange/add/", {"enabled": "on", "reason": "data corruption: isolating"}
    )
    assert response.status_code == 302
    state = maintenance_state()
    assert state.enabled and state.changed_by == admin_user.username

    saved = client.post(f"/admin/core/user/{target.pk}/change/", {"username": "renamed"})
    _assert_maintenance_503(saved, "data corruption: isolating")
    assert client.get(f"/admin/core/user/{target.pk}/change/").status_code == 200  # reading the admin works

    response = client.post("/admin/core/maintenancechange/add/", {"reason": "restored and verified"})
    assert response.status_code == 302
    assert not maintenance_state().enabled
    assert list(MaintenanceChange.objects.values_list("enabled", flat=True)) == [False, True]


def test_environment_setting_forces_it_on(client_for: Any, make_user: Any) -> None:
    client = client_for(make_user())
    with override_settings(MAINTENANCE_MODE=True, MAINTENANCE_REASON="planned upgrade"):
        _assert_maintenance_503(client.patch("/api/v1/me", {"timezone": "Europe/Paris"}), "planned upgrade")
        assert maintenance_state().source == "setting"
    assert client.patch("/api/v1/me", {"timezone": "Europe/Paris"}).status_code == 200


def test_command_switches_and_requires_a_reason(make_user: Any) -> None:
    make_user("staff", staff=True, username="ops")
    out = StringIO()
    call_command("maintenance", "on", "--reason", "isolate affected data", "--as", "ops", stdout=out)
    assert "maintenance ON" in out.getvalue() and "isolate affected data" in out.getvalue()
    assert maintenance_state().enabled and maintenance_state().changed_by == "ops"
    with pytest.raises(CommandError, match="reason"):
        call_command("maintenance", "off")
    assert maintenance_state().enabled
    out = StringIO()
    call_command("maintenance", "off", "--reason", "verified", stdout=out)
    assert "maintenance off" in out.getvalue()
    assert not maintenance_state().enabled


def test_other_processes_see_the_change_after_the_cache_expires(
    client_for: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = {"now": 1000.0}
    monkeypatch.setattr("core.maintenance.time.monotonic", lambda: clock["now"])
    client = client_for(make_user())
    with override_settings(MAINTENANCE_CACHE_SECONDS=5):
        assert client.patch("/api/v1/me", {"timezone": "Europe/Paris"}).status_code == 200  # caches "off"
        # Another process switches it on: a row written without this process' service (no cache reset here).
        MaintenanceChange.objects.create(enabled=True, reason="from another process")
        clock["now"] += 4
        assert client.patch("/api/v1/me", {"timezone": "Europe/Rome"}).status_code == 200  # still cached
        clock["now"] += 2
        _assert_maintenance_503(client.patch("/api/v1/me", {"timezone": "Europe/Oslo"}), "from another process")
