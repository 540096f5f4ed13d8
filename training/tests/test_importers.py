"""Activity importers on the shared real device files and on hostile or damaged input (no database)."""

from __future__ import annotations

import gzip
import json
import math
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from training.engine import HRProfile, score
from training.importers import (
    ActivityFileError,
    ActivityFileTooLarge,
    ParsedActivity,
    detect_format,
    parse,
    parse_json_stream,
)
from training.importers.fit import _decode_with_fitdecode, _decode_with_sdk
from training.tests.fit_builder import activity_fit

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "activities"
PROFILE = HRProfile(rest=50, max=190, sex="male")
START = datetime(2024, 5, 1, 6, 30, tzinfo=UTC)

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


def shared_file(name: str) -> bytes:
    """The bytes of a shared device file; skip when the folder is absent unless REQUIRE_SHARED_DATA=1."""
    path = SHARED_DATA / name
    if not path.is_file():
        message = f"shared activity file missing: {path}"
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path.read_bytes()


def parse_shared(name: str) -> ParsedActivity:
    return parse(shared_file(name), name)


def score_parsed(activity: ParsedActivity, **kwargs: object) -> object:
    return score(
        activity.times,
        activity.hrs,
        PROFILE,
        timer_seconds=activity.timer_seconds,
        session_avg_hr=activity.session_avg_hr,
        **kwargs,  # type: ignore[arg-type]
    )


# --- the shared device files ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHARED_FILES)
def test_every_shared_file_parses_and_scores(name: str) -> None:
    activity = parse_shared(name)
    assert activity.source_format == name.rsplit(".", 1)[1]
    assert activity.start is not None and activity.start.utcoffset() is not None
    assert activity.times.dtype == np.float64 and activity.hrs.dtype == np.float64
    assert activity.times.size == activity.hrs.size > 0
    assert np.nanmin(activity.times) >= 0
    assert not activity.times.flags.writeable
    result = score_parsed(activity)
    assert result.trimp > 0  # type: ignore[attr-defined]
    assert result.valid_samples > 0  # type: ignore[attr-defined]


def test_fenix2_run_summary_and_stream() -> None:
    activity = parse_shared("python-fitparse__activity-small-fenix2-run.fit")
    assert (activity.sport, activity.sample_count) == ("running", 2809)
    assert activity.start == datetime(2015, 8, 15, 14, 45, 8, tzinfo=UTC)
    assert activity.timer_seconds == 2832.0 and activity.session_avg_hr is None
    assert activity.external_id == "fit:3882015183:808587161"
    assert int(np.isnan(activity.hrs).sum()) == 1
    result = score_parsed(activity)
    assert (result.method, result.valid_samples) == ("stream", 2808)  # type: ignore[attr-defined]


def test_edge_500_timer_differs_from_elapsed_and_gaps_are_not_credited() -> None:
    activity = parse_shared("python-fitparse__garmin-edge-500-activity.fit")
    assert activity.timer_seconds == pytest.approx(10641.06)
    assert activity.elapsed_seconds == pytest.approx(12691.28)
    assert activity.session_avg_hr == 162
    result = score_parsed(activity)
    span = float(np.nanmax(activity.times) - np.nanmin(activity.times))
    assert result.method == "stream"  # type: ignore[attr-defined]
    assert result.reference_seconds == pytest.approx(10641.06)  # type: ignore[attr-defined]
    assert result.credited_seconds < span - 1019  # type: ignore[attr-defined]  # the 1,019 s gap is a pause


def test_coros_file_with_misaligned_fields_and_records_without_hr() -> None:
    activity = parse_shared("python-fitparse__coros-pace-2-cycling-misaligned-fields.fit")
    assert activity.sample_count == 11272
    assert int(np.isnan(activity.hrs).sum()) == 2326
    assert activity.external_id.startswith("sha256:")  # no serial number in file_id


def test_too_short_fenix5_run_falls_back_to_average_hr() -> None:
    activity = parse_shared("python-fitparse__garmin-fenix-5-run.fit")
    assert activity.sample_count == 21 and activity.session_avg_hr == 90
    result = score_parsed(activity)
    assert (result.method, result.reason) == ("average_hr", "stream_too_short")  # type: ignore[attr-defined]
    assert result.average_hr == 90  # type: ignore[attr-defined]
    assert result.trimp == pytest.approx(  # type: ignore[attr-defined]
        56.887 / 60 * (40 / 140) * 0.64 * math.exp(1.92 * 40 / 140), rel=1e-9
    )


def test_same_ride_as_fit_tcx_and_gpx_agrees_within_one_percent() -> None:
    names = [
        "sweatpy__2020-06-01-16-52-40.fit",
        "sweatpy__activity_5039744860.tcx",
        "sweatpy__activity_5039744860.gpx",
    ]
    activities = [parse_shared(name) for name in names]
    assert len({a.start for a in activities}) == 1
    trimps = [score_parsed(a, method="stream").trimp for a in activities]  # type: ignore[attr-defined]
    assert max(trimps) <= min(trimps) * 1.01, trimps
    assert activities[0].timer_seconds == pytest.approx(93.7)
    assert activities[1].timer_seconds == pytest.approx(126.0)  # TCX: Lap/TotalTimeSeconds summed
    assert activities[2].timer_seconds is None


def test_gpx_heart_rate_from_trackpoint_extension() -> None:
    activity = parse_shared("sport-activities-features__riderx3.gpx")
    assert (activity.sport, activity.sample_count) == ("cycling", 931)
    assert activity.hrs[0] == 107 and activity.hrs[1] == 106
    assert activity.times[1] - activity.times[0] == 2  # smart recording


def test_tcx_laps_summed_for_timer_time() -> None:
    activity = parse_shared("sport-activities-features__cross-country-skiing_activity_1.tcx")
    assert activity.sport == "other" and activity.sample_count == 486
    assert activity.timer_seconds is not None and activity.timer_seconds > 2160.432  # two laps
    assert activity.hrs[0] == 83


def test_both_fit_decoders_read_the_same_records() -> None:
    data = shared_file("python-fitparse__activity-small-fenix2-run.fit")
    sdk, fallback = _decode_with_sdk(data, 200_000), _decode_with_fitdecode(data, 200_000)
    assert sdk.record_times == fallback.record_times
    np.testing.assert_array_equal(sdk.record_hrs, fallback.record_hrs)


# --- FIT files built here -------------------------------------------------------------------------------


def test_built_fit_file_summary_and_invalid_hr_value() -> None:
    data = activity_fit([(0, 100), (1, 110), (2, 255), (20, 120)], start=START, timer_ms=20_000, avg_hr=111)
    activity = parse(data, "ride.fit")
    assert activity.start == START and activity.sport == "running"
    assert activity.times.tolist() == [0, 1, 2, 20]
    assert np.isnan(activity.hrs[2])  # 0xFF is FIT's "invalid"
    assert (activity.timer_seconds, activity.session_avg_hr) == (20.0, 111.0)


def test_compressed_timestamps_are_read_by_the_fallback_decoder() -> None:
    samples = [(0, 100), (1, 110), (3, 120), (20, 130), (45, 140)]
    activity = parse(activity_fit(samples, start=START, compressed_after_first=True), "x.fit")
    assert activity.times.tolist() == [0, 1, 3, 20, 45]
    assert activity.hrs.tolist() == [100, 110, 120, 130, 140]


def test_fit_session_without_records_scores_from_session_average() -> None:
    activity = parse(activity_fit([], start=START, timer_ms=1_800_000, avg_hr=130), "manual.fit")
    assert activity.sample_count == 0 and activity.start == START
    result = score(activity.times, activity.hrs, HRProfile(rest=40, max=200, sex="male"),
                   timer_seconds=activity.timer_seconds, session_avg_hr=activity.session_avg_hr)  # fmt: skip
    assert (result.method, result.reason) == ("average_hr", "stream_missing")
    assert result.trimp == pytest.approx(31.8, abs=0.05)


def test_fit_file_that_is_not_an_activity_is_rejected() -> None:
    with pytest.raises(ActivityFileError) as error:
        parse(activity_fit([(0, 100), (1, 100)], start=START, file_type=6), "course.fit")
    assert error.value.reason == "no_activity"


# --- damaged and hostile input ---------------------------------------------------------------------------

XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<gpx version="1.1"><trk><name>&lol3;</name><trkseg/></trk></gpx>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<TrainingCenterDatabase><Activities><Activity Sport="Running"><Id>&xxe;</Id></Activity></Activities>
</TrainingCenterDatabase>"""

GPX_TIME = "<time>2024-05-01T06:30:{s:02d}Z</time>"
GPX_POINT = '<trkpt lat="1" lon="2">' + GPX_TIME + "<extensions><hr>{hr}</hr></extensions></trkpt>"


def gpx(hrs: list[str]) -> bytes:
    points = "".join(GPX_POINT.format(s=i, hr=hr) for i, hr in enumerate(hrs))
    return f'<?xml version="1.0"?><gpx version="1.1"><trk><trkseg>{points}</trkseg></trk></gpx>'.encode()


def assert_unreadable(data: bytes, filename: str | None, reason: str | None = None, **kwargs: int) -> None:
    with pytest.raises(ActivityFileError) as error:
        parse(data, filename, **kwargs)
    assert error.value.code == "TRIMP_001"
    if reason is not None:
        assert error.value.reason == reason, error.value.message


@pytest.mark.parametrize("filename", ["a.fit", "a.gpx", "a.tcx", "a.json", None])
def test_empty_file(filename: str | None) -> None:
    assert_unreadable(b"", filename, "empty")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_fit_raises(fraction: float) -> None:
    data = shared_file("sweatpy__2020-06-01-16-52-40.fit")
    assert_unreadable(data[: int(len(data) * fraction)], "ride.fit", "malformed")


def test_fit_with_a_flipped_byte_fails_its_crc() -> None:
    data = bytearray(shared_file("sweatpy__2020-06-01-16-52-40.fit"))
    data[3000] ^= 0xFF
    assert_unreadable(bytes(data), "ride.fit", "malformed")


@pytest.mark.parametrize("filename", ["random.fit", "random.bin", None])
def test_random_bytes(filename: str | None) -> None:
    data = np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    assert_unreadable(data, filename)


def test_xml_bomb_is_rejected() -> None:
    assert_unreadable(XML_BOMB, "bomb.gpx", "forbidden_xml")


def test_xxe_is_rejected() -> None:
    assert_unreadable(XXE, "xxe.tcx", "forbidden_xml")


def test_any_dtd_is_rejected_even_without_entities() -> None:
    harmless = b'<?xml version="1.0"?><!DOCTYPE gpx><gpx version="1.1"><trk><trkseg/></trk></gpx>'
    assert_unreadable(harmless, "plain.gpx", "forbidden_xml")


def test_truncated_and_partly_garbage_xml_raise_instead_of_returning_part() -> None:
    tcx = shared_file("sweatpy__activity_5039744860.tcx")
    assert_unreadable(tcx[: len(tcx) // 2], "ride.tcx", "malformed")
    tracks = tcx.index(b"<Trackpoint>")  # damage a trackpoint, not a lap summary we do not read
    for good, bad in [
        (b"<Value>155</Value>", b"<Value>abc</Value>"),
        (b"2020-06-01T14:53:10.000Z", b"yesterday"),
    ]:
        assert good in tcx[tracks:]
        assert_unreadable(tcx[:tracks] + tcx[tracks:].replace(good, bad, 1), "ride.tcx", "malformed")
    assert_unreadable(gpx(["120", "121", "12x"]), "ride.gpx", "malformed")
    assert_unreadable(gpx(["120"]) + b"<junk/>", "ride.gpx", "malformed")


def test_oversize_file_is_a_distinct_error() -> None:
    data = shared_file("sweatpy__2020-06-01-16-52-40.fit")
    with pytest.raises(ActivityFileTooLarge) as error:
        parse(data, "ride.fit", max_bytes=len(data) - 1)
    assert (error.value.code, error.value.reason, error.value.limit) == (
        "TRIMP_001",
        "too_large",
        len(data) - 1,
    )
    assert parse(data, "ride.fit", max_bytes=len(data)).sample_count == 96


@pytest.mark.parametrize(
    "name",
    [
        "sweatpy__2020-06-01-16-52-40.fit",
        "sweatpy__activity_5039744860.tcx",
        "sweatpy__activity_5039744860.gpx",
    ],
)
def test_too_many_samples_is_a_distinct_error(name: str) -> None:
    with pytest.raises(ActivityFileTooLarge) as error:
        parse(shared_file(name), name, max_samples=50)
    assert error.value.reason == "too_many_samples"


def test_gzip_is_unpacked_and_a_gzip_bomb_is_stopped() -> None:
    data = shared_file("sweatpy__2020-06-01-16-52-40.fit")
    assert parse(gzip.compress(data), "ride.fit.gz").sample_count == 96
    bomb = gzip.compress(b"\0" * 5_000_000)
    with pytest.raises(ActivityFileTooLarge):
        parse(bomb, "bomb.fit.gz", max_bytes=1_000_000)
    assert_unreadable(gzip.compress(data)[:-20], "ride.fit.gz", "malformed")
    assert_unreadable(gzip.compress(data) + b"junk", "ride.fit.gz", "malformed")
    assert zlib  # zlib's gzip mode is what the importer uses


def test_detect_format_by_content_then_extension() -> None:
    fit = activity_fit([(0, 100)], start=START)
    assert detect_format("upload.gpx", fit[:64]) == "fit"  # content wins over the name
    assert detect_format(None, b"\xef\xbb\xbf<?xml version='1.0'?>\n<TrainingCenterDatabase>") == "tcx"
    assert detect_format(None, b'<?xml version="1.0"?><gpx version="1.1">') == "gpx"
    assert detect_format(None, b'  {"time": {"data": []}}') == "json"
    assert detect_format("RIDE.GPX", b"<?xml version='1.0'?><!-- long comment") == "gpx"
    with pytest.raises(ActivityFileError) as error:
        detect_format("notes.txt", b"hello")
    assert error.value.reason == "unsupported_format"


def test_xml_with_the_wrong_root_is_unsupported() -> None:
    assert_unreadable(b'<?xml version="1.0"?><kml><Document/></kml>', "track.gpx", "unsupported_format")


# --- JSON streams ---------------------------------------------------------------------------------------


def test_json_streams_keyed_by_type_with_nulls() -> None:
    body = {
        "time": {"data": [0, 1, 2, 4]},
        "heartrate": {"data": [100, None, 120, 130]},
        "watts": {"data": [1] * 4},
    }
    activity = parse(json.dumps(body).encode(), "streams.json", start=START)
    assert activity.source_format == "json" and activity.start == START
    assert activity.times.tolist() == [0, 1, 2, 4]
    assert np.isnan(activity.hrs[1]) and activity.hrs[3] == 130
    assert activity.elapsed_seconds == 4


def test_json_streams_list_form_and_missing_heartrate() -> None:
    body = [{"type": "time", "data": [0, 1, 2]}, {"type": "distance", "data": [0, 5, 10]}]
    activity = parse_json_stream(json.dumps(body).encode())
    assert activity.start is None
    assert np.isnan(activity.hrs).all() and activity.hrs.size == 3


@pytest.mark.parametrize(
    "body",
    [
        b'{"time": {"data": [0, 1]}, "heartrate": {"data": [100]}}',
        b'{"time": {"data": [0, "1"]}}',
        b'{"time": {"data": [0, true]}}',
        b'{"heartrate": {"data": [100]}}',
        b'{"time": [0, 1]}',
        b'{"time": {"data": [0, 1]}',
        b"[1, 2]",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"time": {"data": [0, 1e999]}}',
        b'{"time": {"data": [null, null]}}',
    ],
)
def test_bad_json_streams_raise(body: bytes) -> None:
    assert_unreadable(body, "streams.json")


def test_json_stream_sample_limit() -> None:
    body = json.dumps({"time": {"data": list(range(11))}}).encode()
    with pytest.raises(ActivityFileTooLarge):
        parse(body, "streams.json", max_samples=10)
