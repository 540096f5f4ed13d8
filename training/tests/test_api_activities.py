"""Activities through the HTTP API: every shared device file imports and scores, the same ride in three formats
agrees, re-imports are idempotent, bad files are refused with nothing stored, and ownership holds."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from training.engine import HRProfile, score
from training.importers import parse
from training.loads import daily_loads_by_day
from training.models import Activity, ActivityStream, LoadYear
from training.tests.conftest import stream_json

pytestmark = pytest.mark.django_db

SHARED_FILES = [
    "python-fitparse__garmin-fenix-5-run.fit",
    "python-fitparse__activity-small-fenix2-run.fit",
    "python-fitparse__garmin-edge-500-activity.fit",
    "python-fitparse__coros-pace-2-cycling-misaligned-fields.fit",
    "sweatpy__2020-06-01-16-52-40.fit",
    "sweatpy__activity_5039744860.tcx",
    "sweatpy__activity_5039744860.gpx",
    "sport-activities-features__riderx3.gpx",
    "sport-activities-features__cross-country-skiing_activity_1.tcx",
]
SAME_RIDE = ["sweatpy__2020-06-01-16-52-40.fit", "sweatpy__activity_5039744860.tcx", "sweatpy__activity_5039744860.gpx"]
PROFILE = {"resting_hr": 50.0, "max_hr": 190.0, "sex": "male"}


def upload(client: Any, path: Path | str, data: bytes | None = None, **fields: Any) -> Any:
    name = Path(path).name
    content = Path(path).read_bytes() if data is None else data
    body = {"file": SimpleUploadedFile(name, content), **fields}
    return client.post("/api/v1/activities", body, format="multipart")


def nothing_stored() -> bool:
    return not Activity.objects.exists() and not ActivityStream.objects.exists() and not LoadYear.objects.exists()


@pytest.fixture
def athlete(make_user: Any, profile_for: Any, flag_for: Any) -> Any:
    user = make_user("athlete", groups=("beta",))
    profile_for(user, date(2000, 1, 1), **PROFILE)
    flag_for("beta")  # beta athletes get the stream method
    return user


@pytest.mark.parametrize("name", SHARED_FILES)
def test_every_shared_file_imports_and_scores_through_the_api(
    name: str, shared_data: Path, athlete: Any, client_for: Any
) -> None:
    client = client_for(athlete)
    response = upload(client, shared_data / name)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] is True
    assert body["trimp"] is not None and body["trimp"] > 0
    assert body["trimp_error_code"] == ""
    assert body["trimp_calculation_method"] in ("stream", "average_hr")
    assert body["hr_stream_sample_count"] > 0 and body["trimp_processed_at"]
    assert body["engine_version"] and body["hr_profile"] is not None
    # the stored stream scores exactly like the file read directly
    parsed = parse((shared_data / name).read_bytes(), name)
    direct = score(
        parsed.times,
        parsed.hrs,
        HRProfile(rest=50, max=190, sex="male"),
        timer_seconds=parsed.timer_seconds,
        session_avg_hr=parsed.session_avg_hr,
    )
    assert body["trimp"] == direct.trimp
    assert body["trimp_calculation_method"] == direct.method
    detail = client.get(f"/api/v1/activities/{body['id']}").json()
    assert detail["trimp_detail"]["edwards"] == direct.edwards
    assert detail["trimp_detail"]["reference_seconds"] == direct.reference_seconds
    assert detail["hr_profile_used"]["max_hr"] == 190.0
    ((day_load, count),) = daily_loads_by_day(athlete.pk).values()
    assert day_load == pytest.approx(body["trimp"]) and count == 1


def test_same_ride_as_fit_tcx_and_gpx_agrees_within_one_percent(
    shared_data: Path, make_user: Any, profile_for: Any, flag_for: Any, client_for: Any
) -> None:
    flag_for("beta")
    values = []
    for name in SAME_RIDE:  # one athlete per format: for one athlete the second format is a duplicate
        rider = make_user("athlete", groups=("beta",))
        profile_for(rider, date(2000, 1, 1), **PROFILE)
        response = upload(client_for(rider), shared_data / name)
        assert response.status_code == 201, response.json()
        assert response.json()["trimp_calculation_method"] == "stream"
        values.append(response.json()["trimp"])
    assert max(values) / min(values) - 1 < 0.01, values


def test_same_ride_in_another_format_is_refused_and_counted_once(
    shared_data: Path, athlete: Any, client_for: Any
) -> None:
    client = client_for(athlete)
    first = upload(client, shared_data / SAME_RIDE[0])
    assert first.status_code == 201, first.json()
    for name in SAME_RIDE[1:]:
        response = upload(client, shared_data / name)
        assert response.status_code == 409, response.json()
        error = response.json()["error"]
        assert error["code"] == "duplicate_activity"
        assert error["details"]["existing_activity"]["id"] == first.json()["id"]
        assert error["details"]["existing_activity"]["source"] == "fit"
        assert error["details"]["start_difference_s"] == 0.0
    assert Activity.objects.filter(athlete=athlete).count() == 1 and ActivityStream.objects.count() == 1
    ((day_load, count),) = daily_loads_by_day(athlete.pk).values()
    assert count == 1 and day_load == pytest.approx(first.json()["trimp"])
    assert upload(client, shared_data / SAME_RIDE[0]).status_code == 200  # the same file again: idempotent


def test_duplicate_check_follows_the_tolerance_setting(
    shared_data: Path, athlete: Any, client_for: Any, staff_client: Any
) -> None:
    changed = staff_client.put("/api/admin/trimp-settings", {"duplicate_start_tolerance_s": 0}, format="json")
    assert changed.status_code == 200, changed.json()
    client = client_for(athlete)
    assert [upload(client, shared_data / name).status_code for name in SAME_RIDE[:2]] == [201, 201]


def test_a_later_session_the_same_day_is_not_a_duplicate(athlete: Any, client_for: Any) -> None:
    client = client_for(athlete)
    times = list(range(0, 1800, 5))
    streams = {"time": {"data": times}, "heartrate": {"data": [140] * len(times)}}
    morning = client.post(
        "/api/v1/activities",
        {"streams": streams, "start": "2024-05-01T07:00:00Z", "external_id": "morning"},
        format="json",
    )
    overlapping = client.post(
        "/api/v1/activities",
        {"streams": streams, "start": "2024-05-01T07:02:00Z", "external_id": "overlapping"},
        format="json",
    )
    evening = client.post(
        "/api/v1/activities",
        {"streams": streams, "start": "2024-05-01T07:40:00Z", "external_id": "evening"},
        format="json",
    )
    assert (morning.status_code, overlapping.status_code, evening.status_code) == (201, 409, 201)


def test_too_short_file_falls_back_with_its_reason(shared_data: Path, athlete: Any, client_for: Any) -> None:
    body = upload(client_for(athlete), shared_data / "python-fitparse__garmin-fenix-5-run.fit").json()
    assert body["trimp_calculation_method"] == "average_hr"
    assert body["trimp_method_reason"] == "stream_too_short"
    assert body["trimp"] > 0


def test_same_file_twice_is_the_same_activity(shared_data: Path, athlete: Any, client_for: Any) -> None:
    client = client_for(athlete)
    path = shared_data / "sweatpy__activity_5039744860.tcx"
    first = upload(client, path)
    second = upload(client, path)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["created"] is False and second.json()["id"] == first.json()["id"]
    assert Activity.objects.count() == 1 and ActivityStream.objects.count() == 1


def _random_bytes() -> bytes:
    return np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8).tobytes()


XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<gpx version="1.1"><trk><name>&lol3;</name><trkseg/></trk></gpx>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<TrainingCenterDatabase><Activities><Activity Sport="Running"><Id>&xxe;</Id></Activity></Activities>
</TrainingCenterDatabase>"""


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("empty.fit", lambda ride: b"", "empty"),
        ("truncated.fit", lambda ride: ride[: len(ride) // 2], "malformed"),
        ("random.fit", lambda ride: _random_bytes(), None),
        ("random.bin", lambda ride: _random_bytes(), None),
        ("bomb.gpx", lambda ride: XML_BOMB, "forbidden_xml"),
        ("xxe.tcx", lambda ride: XXE, "forbidden_xml"),
        (
            "nohr.gpx",
            lambda ride: (
                b'<gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2"><time>2024-05-01T06:30:00Z'
                b'</time></trkpt><trkpt lat="1" lon="2"><time>2024-05-01T06:31:00Z</time></trkpt></trkseg></trk></gpx>'
            ),
            "no_heart_rate",
        ),
    ],
)
def test_bad_files_answer_400_with_the_code_and_store_nothing(
    name: str, make: Any, reason: str | None, shared_data: Path, athlete: Any, client_for: Any
) -> None:
    ride = (shared_data / "sweatpy__2020-06-01-16-52-40.fit").read_bytes()
    response = upload(client_for(athlete), name, data=make(ride))
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "TRIMP_001"
    if reason is not None:
        assert error["details"]["reason"] == reason
    assert nothing_stored()


def test_ten_times_oversize_answers_413_and_stores_nothing(
    shared_data: Path, athlete: Any, client_for: Any, staff_client: Any
) -> None:
    ride = (shared_data / "python-fitparse__garmin-edge-500-activity.fit").read_bytes()
    limit = len(ride) // 10
    assert staff_client.put("/api/admin/trimp-settings", {"max_upload_bytes": limit}, format="json").status_code == 200
    response = upload(client_for(athlete), "ride.fit", data=ride)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "TRIMP_001"
    assert response.json()["error"]["details"] == {"reason": "too_large", "limit": limit}
    assert nothing_stored()
    too_many = {"streams": stream_json(range(2000), [120] * 2000), "start": "2024-05-01T06:00:00Z"}
    assert staff_client.put("/api/admin/trimp-settings", {"max_samples": 200}, format="json").status_code == 200
    response = client_for(athlete).post("/api/v1/activities", too_many, format="json")
    assert response.status_code == 413 and response.json()["error"]["details"]["reason"] == "too_many_samples"
    assert nothing_stored()
    staff_client.put("/api/admin/trimp-settings", {"max_upload_bytes": 1024}, format="json")
    huge = json.dumps({"streams": stream_json(range(200_000), [120] * 200_000), "start": "2024-05-01T06:00:00Z"})
    response = client_for(athlete).post("/api/v1/activities", huge, content_type="application/json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "TRIMP_001"
    assert nothing_stored()


def test_json_stream_upload_with_summary_fields(athlete: Any, client_for: Any) -> None:
    times = list(range(0, 3600))
    payload = {
        "streams": [{"type": "time", "data": times}, {"type": "heartrate", "data": [150] * 3600}],
        "start": "2024-05-01T06:00:00+02:00",
        "sport": "Running",
        "external_id": "strava:42",
    }
    client = client_for(athlete)
    response = client.post("/api/v1/activities", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["source"], body["external_id"], body["sport"]) == ("json", "strava:42", "running")
    assert body["local_date"] == "2024-05-01" and body["trimp_calculation_method"] == "stream"
    again = client.post("/api/v1/activities", payload, format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    missing_start = client.post("/api/v1/activities", {"streams": payload["streams"]}, format="json")
    assert missing_start.status_code == 400 and missing_start.json()["error"]["code"] == "validation_error"
    bad = client.post("/api/v1/activities", {**payload, "streams": {"heartrate": {"data": [1]}}}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "TRIMP_001"
    assert Activity.objects.count() == 1


def test_stream_endpoint_full_and_downsampled(athlete: Any, client_for: Any, import_stream: Any) -> None:
    times = np.arange(0, 600.0)
    hrs = np.full(600, 130.0)
    hrs[10:20] = np.nan
    activity = import_stream(athlete, stream=(times, hrs))
    client = client_for(athlete)
    full = client.get(f"/api/v1/activities/{activity.pk}/stream").json()
    assert full["time"] == times.tolist() and full["downsampled"] is False
    assert full["heartrate"][10] is None and full["heartrate"][0] == 130.0
    small = client.get(f"/api/v1/activities/{activity.pk}/stream?max_points=60").json()
    assert small["downsampled"] is True and len(small["time"]) == len(small["heartrate"]) == 60
    assert client.get(f"/api/v1/activities/{activity.pk}/stream?max_points=0").status_code == 400


def test_list_filters(athlete: Any, client_for: Any, import_stream: Any, flag_for: Any) -> None:
    first = import_stream(athlete, date(2024, 3, 1))
    import_stream(athlete, date(2024, 3, 5))
    short = import_stream(athlete, date(2024, 3, 9), stream=(np.arange(0, 50.0), np.full(50, 120.0)))
    client = client_for(athlete)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/activities{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert len(ids("")) == 3
    assert ids("?from=2024-03-01&to=2024-03-02") == [first.pk]
    assert ids("?method=average_hr") == [short.pk]
    assert len(ids("?method=stream")) == 2
    assert ids(f"?athlete={athlete.pk}&sport=nope") == []
    assert client.get("/api/v1/activities?from=2024-03-09&to=2024-03-01").status_code == 400
    assert client.get("/api/v1/activities?method=magic").status_code == 400


def test_list_query_count_does_not_grow_with_activities(athlete: Any, client_for: Any, import_stream: Any) -> None:
    client = client_for(athlete)
    import_stream(athlete, date(2024, 3, 1))
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/activities").status_code == 200
    for n in range(6):
        import_stream(athlete, date(2024, 3, 2 + n))
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/activities").json()["results"]) == 7
    assert len(many) == len(few) <= 6
    assert not any("activitystream" in q["sql"].lower() for q in many.captured_queries)


def test_ownership_other_athletes_are_invisible_and_coaches_see_linked_only(
    athlete: Any, make_user: Any, client_for: Any, import_stream: Any, profile_for: Any
) -> None:
    from core.models import CoachAthlete

    other = make_user("athlete")
    profile_for(other)
    mine = import_stream(athlete)
    theirs = import_stream(other)
    coach = make_user("coach")
    CoachAthlete.objects.create(coach=coach, athlete=athlete)
    me = client_for(athlete)
    for path in (f"/api/v1/activities/{theirs.pk}", f"/api/v1/activities/{theirs.pk}/stream"):
        assert me.get(path).status_code == 404
    assert me.delete(f"/api/v1/activities/{theirs.pk}").status_code == 404
    assert [row["id"] for row in me.get("/api/v1/activities").json()["results"]] == [mine.pk]
    assert me.get(f"/api/v1/activities?athlete={other.pk}").json()["results"] == []
    assert me.get(f"/api/v1/athletes/{other.pk}/training-load").status_code == 404
    assert me.get(f"/api/v1/athletes/{other.pk}/hr-profiles").status_code == 404
    upload_for_other = me.post(
        "/api/v1/activities",
        {"streams": stream_json(range(100), [120] * 100), "start": "2024-05-01T06:00:00Z", "athlete": other.pk},
        format="json",
    )
    assert upload_for_other.status_code == 404

    coach_client = client_for(coach)
    assert [row["id"] for row in coach_client.get("/api/v1/activities").json()["results"]] == [mine.pk]
    assert coach_client.get(f"/api/v1/activities/{mine.pk}").status_code == 200
    assert coach_client.get(f"/api/v1/activities/{theirs.pk}").status_code == 404
    assert coach_client.get(f"/api/v1/athletes/{athlete.pk}/training-load").status_code == 200
    assert coach_client.get(f"/api/v1/athletes/{other.pk}/training-load").status_code == 404
    # a coach may see but not delete; the owner may
    assert coach_client.delete(f"/api/v1/activities/{mine.pk}").status_code == 403
    assert me.delete(f"/api/v1/activities/{mine.pk}").status_code == 204
    assert not Activity.objects.filter(pk=mine.pk).exists()
    assert not ActivityStream.objects.filter(activity_id=mine.pk).exists()
    assert daily_loads_by_day(athlete.pk) == {}
    assert client_for(make_user("staff", staff=True)).get(f"/api/v1/activities/{theirs.pk}").status_code == 200


def test_anonymous_is_refused(api_client: Any) -> None:
    assert api_client.get("/api/v1/activities").status_code == 401
    body = json.dumps({"streams": {}, "start": "2024-01-01T00:00:00Z"})
    assert api_client.post("/api/v1/activities", body, content_type="application/json").status_code == 401
