"""The coach console: a coach logs in with Django's login, sees only linked athletes (chart, recent
activities, flags that apply), and cannot write anything."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from core.models import CoachAthlete
from training.models import Activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(make_user: Any, profile_for: Any, history: Any) -> dict[str, Any]:
    coach = make_user("coach", username="coach1")
    mine = make_user("athlete", username="mine")
    quiet = make_user("athlete", username="quiet")
    other = make_user("athlete", username="other")
    for athlete in (mine, quiet):
        CoachAthlete.objects.create(coach=coach, athlete=athlete)
    for athlete in (mine, other):
        profile_for(athlete, date(2000, 1, 1))
        history(athlete, 5, start=date.today() - timedelta(days=10))
    return {"coach": coach, "mine": mine, "quiet": quiet, "other": other}


def _logged_in(username: str) -> Client:
    client = Client()
    response = client.post("/coach/login/", {"username": username, "password": "pw", "next": "/coach/"})
    assert response.status_code == 302 and response["Location"] == "/coach/", response.content[:500]
    return client


def test_a_coach_logs_in_and_sees_only_linked_athletes(team: dict[str, Any]) -> None:
    assert Client().get("/coach/")["Location"].startswith("/coach/login/")
    client = _logged_in("coach1")
    home = client.get("/coach/").content.decode()
    assert ">mine<" in home and ">quiet<" in home and ">other<" not in home
    page = client.get(f"/coach/athletes/{team['mine'].pk}/").content.decode()
    assert 'class="chart"' in page and "axis-label" in page and "daily load (TRIMP)" in page
    assert page.count("<tr>") >= 5 + 1  # recent activities
    assert "enhanced_trimp_calculation" in page  # the flags that apply to the athlete
    assert client.get(f"/coach/athletes/{team['other'].pk}/").status_code == 404
    empty = client.get(f"/coach/athletes/{team['quiet'].pk}/").content.decode()
    assert 'id="no-data"' in empty and "quiet has no activities yet" in empty


def test_the_coach_console_is_read_only(team: dict[str, Any]) -> None:
    client = _logged_in("coach1")
    before = Activity.objects.count()
    for url in ("/coach/", f"/coach/athletes/{team['mine'].pk}/"):
        assert client.post(url, {"anything": "1"}).status_code == 405
        assert client.delete(url).status_code == 405
    assert Activity.objects.count() == before
    assert client.get("/admin/").status_code == 302  # coaches are not staff: no ops console
    assert client.get("/admin/training/activity/").status_code == 302


def test_people_who_are_not_coaches_are_told(team: dict[str, Any]) -> None:
    client = _logged_in("mine")
    response = client.get("/coach/")
    assert response.status_code == 403 and "This console is for coaches" in response.content.decode()


def test_landing_page_is_where_view_site_goes(client: Client, admin_client: Client) -> None:
    home = client.get("/").content.decode()
    assert 'href="/coach/"' in home and 'href="/admin/"' in home and 'href="/api/docs/"' in home
    assert 'href="/"' in admin_client.get("/admin/").content.decode()  # "View site"
