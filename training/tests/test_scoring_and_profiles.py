"""The flag decides the method per athlete; a flag failure falls back with TRIMP_005; metrics are recorded;
dated profiles; a profile change re-scores exactly the activities it covers."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import pytest

from core.jobs import job_run
from core.models import Job
from rollout.monitoring import flush
from training.loads import daily_loads_by_day
from training.models import Activity

pytestmark = pytest.mark.django_db


def test_flag_decides_the_method_per_athlete(
    make_user: Any, profile_for: Any, import_stream: Any, flag_for: Any
) -> None:
    beta = make_user("athlete", groups=("beta",))
    regular = make_user("athlete")
    for user in (beta, regular):
        profile_for(user)
    flag_for("beta")
    on = import_stream(beta)
    off = import_stream(regular)
    assert (on.trimp_calculation_method, on.trimp_method_reason) == ("stream", "stream_ok")
    assert (off.trimp_calculation_method, off.trimp_method_reason) == ("average_hr", "flag_off")
    assert on.trimp > 0 and off.trimp > 0 and on.trimp != off.trimp


def test_a_missing_flag_falls_back_to_the_original_method_and_logs_trimp_005(
    make_user: Any, profile_for: Any, import_stream: Any, flag_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from rollout import flags
    from rollout.models import Flag

    athlete = make_user("athlete", groups=("beta",))
    profile_for(athlete)
    flag_for("beta")
    Flag.objects.filter(name="enhanced_trimp_calculation").delete()  # a broken deployment: the flag is gone
    flags.invalidate_local()
    with caplog.at_level(logging.ERROR, logger="training.scoring"):
        activity = import_stream(athlete)
    assert (activity.trimp_calculation_method, activity.trimp_method_reason) == ("average_hr", "flag_error")
    assert activity.trimp > 0 and activity.trimp_error_code == ""
    assert any(w.startswith("flag_error:") and "TRIMP_005" in w for w in activity.trimp_warnings)
    assert any("TRIMP_005" in record.getMessage() for record in caplog.records)


def test_each_calculation_is_recorded_for_the_guards(
    make_user: Any, profile_for: Any, import_stream: Any, flag_for: Any
) -> None:
    from rollout.monitoring.models import MetricMinute

    beta = make_user("athlete", groups=("beta",))
    regular = make_user("athlete")
    for user in (beta, regular):
        profile_for(user)
    flag_for("beta")
    import_stream(beta)
    import_stream(beta)
    import_stream(regular)
    flush()

    def count(metric: str, **tags: str) -> int:
        rows = MetricMinute.objects.filter(metric=metric)
        return int(sum(r.count for r in rows if all(r.tags.get(k) == v for k, v in tags.items())))

    assert count("trimp.calculations", method="stream", outcome="success") == 2
    assert count("trimp.calculations", method="average_hr", outcome="success") == 1
    assert count("trimp.calculation_ms", method="stream") == 2
    assert count("trimp.calculations", outcome="failure") == 0


def test_without_a_profile_the_activity_waits_with_trimp_002_and_is_scored_when_one_arrives(
    make_user: Any, import_stream: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    athlete = make_user("athlete")
    activity = import_stream(athlete, date(2024, 3, 10))
    assert activity.trimp is None and activity.trimp_error_code == "TRIMP_002"
    assert daily_loads_by_day(athlete.pk) == {(athlete.pk, date(2024, 3, 10)): (0.0, 1)}
    client = client_for(athlete)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/athletes/{athlete.pk}/hr-profiles",
            {"effective_from": "2024-01-01", "resting_hr": 48, "max_hr": 188, "sex": "female"},
            format="json",
        )
    assert response.status_code == 201, response.json()
    job_id = response.json()["recalculation_job_id"]
    assert job_id is not None
    assert job_run(job_id).status == Job.Status.SUCCEEDED  # type: ignore[union-attr]
    activity.refresh_from_db()
    assert activity.trimp is not None and activity.trimp_error_code == ""
    assert activity.hr_profile_id == response.json()["id"]
    assert daily_loads_by_day(athlete.pk)[(athlete.pk, date(2024, 3, 10))][0] == pytest.approx(activity.trimp)


def test_a_profile_change_rescores_exactly_the_activities_it_covers(
    make_user: Any, profile_for: Any, import_stream: Any, client_for: Any
) -> None:
    athlete = make_user("athlete")
    january = profile_for(athlete, date(2024, 1, 1), resting_hr=50, max_hr=190)
    may = profile_for(athlete, date(2024, 5, 1), resting_hr=46, max_hr=190)
    before = import_stream(athlete, date(2024, 2, 10))
    covered = [import_stream(athlete, date(2024, 3, 1) + timedelta(days=n * 20)) for n in range(3)]  # 3/1..4/10
    after = import_stream(athlete, date(2024, 5, 20))
    assert {a.hr_profile_id for a in covered} == {january.pk} and after.hr_profile_id == may.pk
    untouched = {a.pk: (a.trimp, a.trimp_processed_at) for a in (before, after)}
    old = {a.pk: a.trimp for a in covered}

    response = client_for(athlete).post(
        f"/api/v1/athletes/{athlete.pk}/hr-profiles",
        {"effective_from": "2024-03-01", "resting_hr": 60, "max_hr": 185, "sex": "male"},
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["affected_from"], response.json()["affected_until"]) == ("2024-03-01", "2024-05-01")
    job = job_run(response.json()["recalculation_job_id"])
    assert job is not None and job.status == Job.Status.SUCCEEDED
    assert job.result["processed"] == 3 and job.result["changed"] == 3
    for activity in covered:
        activity.refresh_from_db()
        assert activity.hr_profile_id == response.json()["id"]
        assert activity.trimp != old[activity.pk]
    for activity in (before, after):
        activity.refresh_from_db()
        assert (activity.trimp, activity.trimp_processed_at) == untouched[activity.pk]


def test_hr_profile_api_validation_and_conflicts(make_user: Any, client_for: Any) -> None:
    athlete = make_user("athlete")
    client = client_for(athlete)
    url = f"/api/v1/athletes/{athlete.pk}/hr-profiles"
    good = {"effective_from": "2024-01-01", "resting_hr": 50, "max_hr": 190, "vt1_hr": 140, "vt2_hr": 170}
    created = client.post(url, good, format="json")
    assert created.status_code == 201 and created.json()["recalculation_job_id"] is None  # nothing to re-score
    assert client.post(url, good, format="json").status_code == 409
    inverted = client.post(url, {**good, "effective_from": "2024-02-01", "max_hr": 40}, format="json")
    assert inverted.status_code == 400 and inverted.json()["error"]["code"] == "TRIMP_002"
    vts = client.post(url, {**good, "effective_from": "2024-02-01", "vt1_hr": 170, "vt2_hr": 140}, format="json")
    assert vts.status_code == 400 and vts.json()["error"]["code"] == "TRIMP_002"
    assert client.post(url, {**good, "sex": "other"}, format="json").json()["error"]["code"] == "validation_error"
    listed = client.get(url).json()
    assert [p["effective_from"] for p in listed] == ["2024-01-01"]
    assert Activity.objects.count() == 0


def test_activity_uses_the_profile_of_its_local_day(make_user: Any, profile_for: Any, import_stream: Any) -> None:
    from datetime import time

    athlete = make_user("athlete", timezone="Pacific/Auckland")  # UTC+13 in March
    old = profile_for(athlete, date(2024, 1, 1))
    new = profile_for(athlete, date(2024, 3, 2))
    late_utc = import_stream(athlete, date(2024, 3, 1), at=time(20, 0))  # 2 March, 09:00 in Auckland
    assert late_utc.local_date == date(2024, 3, 2) and late_utc.hr_profile_id == new.pk
    early_utc = import_stream(athlete, date(2024, 3, 1), at=time(6, 0))  # 1 March, 19:00 in Auckland
    assert early_utc.local_date == date(2024, 3, 1) and early_utc.hr_profile_id == old.pk
