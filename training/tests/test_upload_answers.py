"""What an upload tells its user: a missing heart-rate profile (a notice with a code), a backfilled first
profile (a field in the API and the admin), the average HR of average-HR uploads, display-rounded loads."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.jobs import job_run
from core.models import Job
from training.engine import clean_stream, credited_intervals, time_weighted_mean_hr
from training.importers import parse
from training.models import Activity

pytestmark = pytest.mark.django_db

RIDE = "sweatpy__activity_5039744860.tcx"  # 1 June 2020, no summary average HR in the file


def upload(client: Any, path: Path) -> Any:
    return client.post(
        "/api/v1/activities", {"file": SimpleUploadedFile(path.name, path.read_bytes())}, format="multipart"
    )


def test_no_profile_at_all_is_said_at_upload_and_the_first_profile_backfills(
    shared_data: Path, make_user: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    athlete = make_user("athlete")
    client = client_for(athlete)
    response = upload(client, shared_data / RIDE)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["trimp"] is None and body["trimp_error_code"] == "TRIMP_002"
    assert [n["code"] for n in body["notices"]] == ["no_hr_profile"]
    assert f"/api/v1/athletes/{athlete.pk}/hr-profiles" in body["notices"][0]["message"]

    # a profile dated long after the ride (the athlete's first): it scores the ride, marked backfilled
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(
            f"/api/v1/athletes/{athlete.pk}/hr-profiles",
            {"effective_from": "2024-01-01", "resting_hr": 50, "max_hr": 190, "sex": "male"},
            format="json",
        )
    assert added.status_code == 201, added.json()
    assert added.json()["affected_from"] is None  # from the first activity: the first profile backfills
    assert job_run(added.json()["recalculation_job_id"]).status == Job.Status.SUCCEEDED  # type: ignore[union-attr]
    detail = client.get(f"/api/v1/activities/{body['id']}").json()
    assert detail["trimp"] > 0 and detail["hr_profile"] == added.json()["id"]
    assert detail["hr_profile_backfilled"] is True
    assert any(w.startswith("profile_backfilled:") for w in detail["trimp_warnings"])
    listed = client.get("/api/v1/activities").json()["results"][0]
    assert listed["hr_profile_backfilled"] is True


def test_an_upload_before_the_first_profile_is_scored_with_it_and_says_so(
    shared_data: Path, make_user: Any, profile_for: Any, client_for: Any
) -> None:
    athlete = make_user("athlete")
    first = profile_for(athlete, date(2023, 1, 1))
    body = upload(client_for(athlete), shared_data / RIDE).json()
    assert body["trimp"] > 0 and body["hr_profile"] == first.pk and body["hr_profile_backfilled"] is True
    assert [n["code"] for n in body["notices"]] == ["profile_backfilled"]
    # a profile that really covers the ride replaces the backfill
    on_time = profile_for(athlete, date(2020, 1, 1))
    from training.recalculation import recalculation_start

    job = job_run(recalculation_start(actor=None, athlete_id=athlete.pk, reason="test", send=False).pk)
    assert job is not None and job.status == Job.Status.SUCCEEDED
    activity = Activity.objects.get(pk=body["id"])
    assert activity.hr_profile_id == on_time.pk and activity.hr_profile_backfilled is False


def test_backfilled_is_shown_in_the_admin(
    shared_data: Path, make_user: Any, profile_for: Any, client_for: Any, admin_client: Any
) -> None:
    athlete = make_user("athlete")
    profile_for(athlete, date(2023, 1, 1))
    body = upload(client_for(athlete), shared_data / RIDE).json()
    page = admin_client.get(f"/admin/training/activity/{body['id']}/change/").content.decode()
    assert "Hr profile backfilled" in page or "HR profile backfilled" in page
    listing = admin_client.get("/admin/training/activity/").content.decode()
    assert "backfilled" in listing.lower()


def test_average_hr_is_filled_from_the_stream_when_the_file_has_none(
    shared_data: Path, make_user: Any, profile_for: Any, client_for: Any
) -> None:
    athlete = make_user("athlete")  # regular athlete: the average-HR method
    profile_for(athlete, date(2000, 1, 1))
    body = upload(client_for(athlete), shared_data / RIDE).json()
    assert body["trimp_calculation_method"] == "average_hr"
    parsed = parse((shared_data / RIDE).read_bytes(), RIDE)
    assert parsed.session_avg_hr is None  # the TCX carries no summary average
    expected = time_weighted_mean_hr(credited_intervals(clean_stream(parsed.times, parsed.hrs)))
    assert body["average_hr"] == pytest.approx(expected) and body["average_hr_source"] == "stream"
    assert body["trimp_detail"]["average_hr_used"] == pytest.approx(body["average_hr"])
    stored = Activity.objects.get(pk=body["id"])
    assert stored.average_hr is None  # the scoring input stays empty: only a device's or client's summary


def test_a_device_summary_average_wins_over_the_stream(
    shared_data: Path, make_user: Any, profile_for: Any, client_for: Any
) -> None:
    athlete = make_user("athlete")
    profile_for(athlete, date(2000, 1, 1))
    body = upload(client_for(athlete), shared_data / "sweatpy__2020-06-01-16-52-40.fit").json()
    assert (body["average_hr"], body["average_hr_source"]) == (150.0, "summary")


def test_training_load_answers_rounded_values_not_tiny_exponents(
    make_user: Any, profile_for: Any, import_stream: Any, client_for: Any
) -> None:
    athlete = make_user("athlete")
    profile_for(athlete, date(2000, 1, 1))
    long_ago = date(2015, 1, 1)
    import_stream(athlete, long_ago)
    today = date(2024, 6, 1)
    response = client_for(athlete).get(f"/api/v1/athletes/{athlete.pk}/training-load?from={today}&to={today}")
    (day,) = response.json()["days"]
    assert day["ctl"] == 0.0 and day["atl"] == 0.0 and day["tsb"] == 0.0  # ~1e-35 and less: shown as 0
    assert "e-" not in response.content.decode()
    from training.selectors import training_load_series

    series = training_load_series(athlete_id=athlete.pk, date_from=today, date_to=today)
    assert 0.0 < float(series.ctl[0]) < 1e-20  # the data keeps its precision
    assert (today - long_ago) > timedelta(days=3000)
