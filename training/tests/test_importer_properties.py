"""Property tests of every importer and of the JSON stream endpoint (Hypothesis).

Whatever the bytes: the importers either return an activity whose every value is physically sensible (finite
times within the activity bounds, heart rates within 0–300 bpm or missing, a start between the earliest date
and tomorrow) or raise the documented ``ActivityFileError`` (``TRIMP_001``). Nothing else escapes, and
through the API nothing non-finite reaches the database.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from training.importers import ActivityFileError, ParsedActivity, parse
from training.importers.bounds import EARLIEST_START, HR_PLAUSIBLE_MAX, MAX_ACTIVITY_SECONDS, MAX_START_AHEAD
from training.models import Activity, LoadYear
from training.tests.fit_builder import activity_fit

PROPERTY = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
NOW = datetime(2026, 12, 1, tzinfo=UTC)

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, 60, 140, 255, 1e300, 1.7e308, -1, 2.2e-311, 604_801]),
)
number_text = st.one_of(numbers.map(repr), st.sampled_from(["", "abc", "1e400", "NaN", "-inf", " 12 "]))
stamps = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)),
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2024, 1, 2), timezones=st.just(UTC)),
)


def assert_physical(activity: ParsedActivity) -> None:
    assert activity.start is None or EARLIEST_START <= activity.start <= NOW + MAX_START_AHEAD
    stamped = activity.times[np.isfinite(activity.times)]
    assert not np.isinf(activity.times).any()
    if stamped.size:
        assert float(stamped.max() - stamped.min()) <= MAX_ACTIVITY_SECONDS
    assert not np.isinf(activity.hrs).any()
    finite_hrs = activity.hrs[np.isfinite(activity.hrs)]
    assert ((finite_hrs >= 0) & (finite_hrs <= HR_PLAUSIBLE_MAX)).all()
    for value in (activity.timer_seconds, activity.elapsed_seconds, activity.session_avg_hr):
        assert value is None or math.isfinite(value)


def parse_or_documented_error(data: bytes, filename: str, **kwargs: Any) -> None:
    try:
        activity = parse(data, filename, now=NOW, **kwargs)
    except ActivityFileError as error:
        assert error.code == "TRIMP_001" and error.reason
        return
    assert_physical(activity)


@PROPERTY
@given(
    samples=st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=255)), max_size=40
    ),
    start=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)),
    timer_ms=st.one_of(st.none(), st.integers(min_value=0, max_value=2**32 - 2)),
    avg_hr=st.one_of(st.none(), st.integers(min_value=0, max_value=254)),
)
def test_fit_files_give_a_sensible_activity_or_trimp_001(
    samples: list[tuple[int, int]], start: datetime, timer_ms: int | None, avg_hr: int | None
) -> None:
    parse_or_documented_error(activity_fit(samples, start=start, timer_ms=timer_ms, avg_hr=avg_hr), "a.fit")


@PROPERTY
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=8))
def test_damaged_fit_bytes_give_trimp_001_or_a_sensible_activity(flips: list[tuple[int, int]]) -> None:
    data = bytearray(activity_fit([(i, 120 + i) for i in range(30)], start=datetime(2024, 5, 1, tzinfo=UTC)))
    for position, value in flips:
        data[position % len(data)] = value
    parse_or_documented_error(bytes(data), "a.fit")


def _tcx(points: list[tuple[str, str]], lap_seconds: str, start: str) -> bytes:
    track = "".join(
        f"<Trackpoint><Time>{t}</Time><HeartRateBpm><Value>{hr}</Value></HeartRateBpm></Trackpoint>" for t, hr in points
    )
    return (
        '<?xml version="1.0"?><TrainingCenterDatabase><Activities><Activity Sport="Running">'
        f'<Id>{start}</Id><Lap StartTime="{start}"><TotalTimeSeconds>{lap_seconds}</TotalTimeSeconds>'
        f"<Track>{track}</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
    ).encode()


def _gpx(points: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f'<trkpt lat="1" lon="2"><time>{t}</time><extensions><hr>{hr}</hr></extensions></trkpt>' for t, hr in points
    )
    return f'<?xml version="1.0"?><gpx version="1.1"><trk><trkseg>{body}</trkseg></trk></gpx>'.encode()


points = st.lists(st.tuples(stamps.map(lambda d: d.isoformat()), number_text), max_size=20)


@PROPERTY
@given(points=points, lap_seconds=number_text, start=stamps.map(lambda d: d.isoformat()))
def test_tcx_files_give_a_sensible_activity_or_trimp_001(
    points: list[tuple[str, str]], lap_seconds: str, start: str
) -> None:
    parse_or_documented_error(_tcx(points, lap_seconds, start), "a.tcx")


@PROPERTY
@given(points=points)
def test_gpx_files_give_a_sensible_activity_or_trimp_001(points: list[tuple[str, str]]) -> None:
    parse_or_documented_error(_gpx(points), "a.gpx")


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)),
    max_leaves=30,
)
stream_documents = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"time": st.fixed_dictionaries({"data": st.lists(numbers, max_size=30)})},
        optional={"heartrate": st.fixed_dictionaries({"data": st.lists(st.one_of(st.none(), numbers), max_size=30)})},
    ),
)


@PROPERTY
@given(document=stream_documents, start=stamps)
def test_json_streams_give_a_sensible_activity_or_trimp_001(document: Any, start: datetime) -> None:
    data = json.dumps(document).encode()  # Infinity/NaN literals included: json.dumps writes them
    parse_or_documented_error(data, "a.json", start=start)


@pytest.mark.django_db
@PROPERTY
@given(
    times=st.lists(numbers, min_size=1, max_size=40),
    hrs=st.lists(st.one_of(st.none(), numbers), min_size=1, max_size=40),
    start=stamps,
)
def test_json_stream_endpoint_answers_documented_errors_and_stores_only_finite_values(
    times: list[Any], hrs: list[Any], start: datetime, athlete_client: Any
) -> None:
    body = {"streams": {"time": {"data": times}, "heartrate": {"data": hrs}}, "start": start.isoformat()}
    raw = json.dumps(body)  # may hold Infinity/NaN: the API must refuse those as bad JSON
    response = athlete_client.post("/api/v1/activities", raw, content_type="application/json")
    assert response.status_code in (200, 201, 400, 413), response.content
    if response.status_code >= 400:
        assert response.json()["error"]["code"] in ("TRIMP_001", "parse_error", "validation_error")
    for row in Activity.objects.values("trimp", "elapsed_seconds", "timer_seconds", "average_hr", "start"):
        assert all(value is None or math.isfinite(value) for key, value in row.items() if key != "start")
        assert EARLIEST_START <= row["start"] <= datetime.now(UTC) + timedelta(days=1)
    for loads in LoadYear.objects.values_list("loads", flat=True):
        assert np.isfinite(np.frombuffer(loads, dtype="<f8")).all()


@pytest.fixture
def athlete_client(make_user: Any, client_for: Any) -> Any:
    return client_for(make_user("athlete"))
