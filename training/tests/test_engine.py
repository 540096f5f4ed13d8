"""TRIMP engine: every rule of docs/training-load.md on hand-computed streams (no database)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from training.engine import (
    ENGINE_VERSION,
    HeartRateConfigError,
    HeartRateDataError,
    HRProfile,
    TrimpError,
    average_hr_trimp,
    banister_weight,
    clean_stream,
    credited_intervals,
    score,
)
from training.engine.reference import loop_trimps

MALE = HRProfile(rest=40, max=200, sex="male")
NAN = math.nan


def banister(h: float, dt: float, rest: float = 40, max_hr: float = 200, sex: str = "male") -> float:
    """One interval's Banister TRIMP written out from the definition."""
    x = max(0.0, (h - rest) / (max_hr - rest))
    male = 0.64 * math.exp(1.92 * x)
    female = 0.86 * math.exp(1.67 * x)
    w = {"male": male, "female": female, "unspecified": (male + female) / 2}[sex]
    return dt / 60 * x * w


def constant(hr: float, seconds: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    times = np.arange(0, seconds + 1, step, dtype=float)
    return times, np.full(times.size, float(hr))


# --- Banister -------------------------------------------------------------------------------------------


def test_worked_example_thirty_minutes_at_130_scores_31_8() -> None:
    times, hrs = constant(130, 1800)
    stream = score(times, hrs, MALE, method="stream")
    assert stream.trimp == pytest.approx(31.8, abs=0.05)
    assert stream.credited_seconds == 1800
    assert average_hr_trimp(130, 1800, MALE) == pytest.approx(31.8, abs=0.05)
    assert score(times, hrs, MALE, method="average_hr").trimp == pytest.approx(stream.trimp, rel=1e-12)


def test_single_interval_uses_trapezoid_mean_and_minutes() -> None:
    result = score([0, 10], [120, 140], MALE, method="stream")
    assert result.trimp == pytest.approx(banister(130, 10), rel=1e-12)
    assert result.credited_seconds == 10
    assert result.valid_samples == 2


@pytest.mark.parametrize("sex", ["male", "female", "unspecified"])
def test_weighting_curves_by_sex(sex: str) -> None:
    profile = HRProfile(rest=50, max=190, sex=sex)  # type: ignore[arg-type]
    result = score([0, 30, 60], [120, 160, 180], profile, method="stream")
    expected = banister(140, 30, 50, 190, sex) + banister(170, 30, 50, 190, sex)
    assert result.trimp == pytest.approx(expected, rel=1e-12)


def test_weight_values_at_rest_and_at_max() -> None:
    assert banister_weight(0.0, "male") == pytest.approx(0.64)
    assert banister_weight(0.0, "female") == pytest.approx(0.86)
    assert banister_weight(0.0, "unspecified") == pytest.approx(0.75)
    assert banister_weight(1.0, "male") == pytest.approx(0.64 * math.exp(1.92))
    assert banister_weight(1.0, "female") == pytest.approx(0.86 * math.exp(1.67))
    unspecified = (0.64 * math.exp(1.92) + 0.86 * math.exp(1.67)) / 2
    assert banister_weight(1.0, "unspecified") == pytest.approx(unspecified)
    # the curves cross at x = ln(0.86 / 0.64) / 0.25 = 1.18: female above male below that, under it above
    assert banister_weight(1.0, "female") > banister_weight(1.0, "male")
    assert banister_weight(1.5, "female") < banister_weight(1.5, "male")


def test_heart_rate_below_rest_counts_zero_but_is_credited() -> None:
    result = score([0, 30, 60], [30, 30, 130], MALE, method="stream")
    assert result.credited_seconds == 60
    assert result.trimp == pytest.approx(banister(80, 30), rel=1e-12)


def test_no_upper_clamp_above_max_and_warning() -> None:
    result = score([0, 20, 50], [210, 210, 190], MALE, method="stream")
    assert result.trimp == pytest.approx(banister(210, 20) + banister(200, 30), rel=1e-12)
    assert result.seconds_above_max == 20
    assert any(w.startswith("time_above_max_hr:") for w in result.warnings)
    clean = score([0, 30], [150, 150], MALE, method="stream")
    assert clean.warnings == () and clean.seconds_above_max == 0


# --- cleaning and integration ---------------------------------------------------------------------------


def test_gap_longer_than_max_gap_is_not_credited() -> None:
    result = score([0, 10, 50, 60], [150] * 4, MALE, method="stream")
    assert result.credited_seconds == 20
    assert result.trimp == pytest.approx(banister(150, 20), rel=1e-12)


def test_gap_of_exactly_max_gap_is_credited_and_max_gap_is_a_setting() -> None:
    assert score([0, 30], [150, 150], MALE, method="stream").credited_seconds == 30
    assert score([0, 30, 100, 110], [150] * 4, MALE, method="stream").credited_seconds == 40
    with pytest.raises(HeartRateDataError):
        score([0, 30.001], [150, 150], MALE, method="stream")
    assert score([0, 45], [150, 150], MALE, method="stream", max_gap_s=60).credited_seconds == 45
    short_gap = score([0, 10, 20], [150] * 3, MALE, max_gap_s=5.0, session_avg_hr=150)
    assert (short_gap.credited_seconds, short_gap.reason) == (0, "stream_too_short")
    with pytest.raises(ValueError):
        score([0, 10], [150, 150], MALE, max_gap_s=0)


@pytest.mark.parametrize("bad", [NAN, 0, 24, 24.9, 250.1, 251, 255, -1])
def test_invalid_heart_rates_are_removed_and_short_dropouts_bridged(bad: float) -> None:
    result = score([0, 10, 20], [100, bad, 120], MALE, method="stream")
    assert result.valid_samples == 2
    assert result.credited_seconds == 20
    assert result.trimp == pytest.approx(banister(110, 20), rel=1e-12)


def test_heart_rate_limits_25_and_250_are_valid() -> None:
    result = score([0, 10, 20], [25, 250, 250], MALE, method="stream")
    assert result.valid_samples == 3
    assert result.trimp == pytest.approx(banister(137.5, 10) + banister(250, 10), rel=1e-12)


def test_dropout_longer_than_max_gap_is_a_pause() -> None:
    result = score([0, 10, 20, 30, 40, 50], [150, NAN, NAN, NAN, 150, 150], MALE, method="stream")
    assert result.credited_seconds == 10  # 0 -> 40 is 40 s: not credited; 40 -> 50 is
    assert result.valid_samples == 3


def test_duplicate_timestamps_last_one_wins() -> None:
    result = score([0, 10, 10, 20], [100, 110, 130, 100], MALE, method="stream")
    assert result.sample_count == 3 and result.valid_samples == 3
    assert result.trimp == pytest.approx(2 * banister(115, 10), rel=1e-12)


def test_duplicate_whose_last_sample_has_no_heart_rate_removes_the_timestamp() -> None:
    result = score([0, 10, 10, 20], [100, 110, NAN, 100], MALE, method="stream")
    assert result.valid_samples == 2
    assert result.trimp == pytest.approx(banister(100, 20), rel=1e-12)


def test_out_of_order_samples_are_sorted_and_duplicates_keep_input_order() -> None:
    ordered = score([0, 5, 10, 15, 20], [100, 120, 140, 160, 180], MALE, method="stream")
    shuffled = score([15, 0, 20, 10, 5], [160, 100, 180, 140, 120], MALE, method="stream")
    assert shuffled.trimp == pytest.approx(ordered.trimp, rel=1e-15)
    # equal timestamps out of order: the later one in the input wins, not the larger value
    a = clean_stream([10, 0, 10], [170, 100, 130])
    assert a.times.tolist() == [0, 10] and a.hrs.tolist() == [100, 130]


def test_samples_without_timestamp_are_dropped() -> None:
    result = score([0, NAN, 10, None, 20], [100, 190, 100, 190, 100], MALE, method="stream")
    assert result.sample_count == 3
    assert result.trimp == pytest.approx(banister(100, 20), rel=1e-12)
    assert result.reference_seconds == 20


def test_reference_seconds_is_timer_time_else_span_of_all_samples() -> None:
    times, hrs = [0, 10, 20, 100], [NAN, 150, 150, NAN]
    assert score(times, hrs, MALE, method="stream").reference_seconds == 100
    assert score(times, hrs, MALE, method="stream", timer_seconds=80).reference_seconds == 80
    assert score(times, hrs, MALE, method="stream", timer_seconds=0).reference_seconds == 100
    assert score(times, hrs, MALE, method="stream", timer_seconds=-5).reference_seconds == 100


def test_credited_intervals_exposes_dt_and_h() -> None:
    intervals = credited_intervals(clean_stream([0, 2, 40, 41], [100, 110, 120, 130]))
    assert intervals.dt.tolist() == [2, 0, 1]  # the 38 s gap is kept with dt = 0: not credited
    assert intervals.h.tolist() == [105, 115, 125]
    assert (intervals.count, intervals.credited_seconds) == (2, 3)


# --- method choice ---------------------------------------------------------------------------------------


def test_auto_uses_stream_at_60_seconds_and_half_coverage() -> None:
    times, hrs = constant(150, 60)
    result = score(times, hrs, MALE, timer_seconds=120)
    assert (result.method, result.reason) == ("stream", None)
    assert result.trimp == pytest.approx(banister(150, 60), rel=1e-12)


def test_auto_falls_back_when_stream_missing() -> None:
    result = score([0, 600], [NAN, NAN], MALE, session_avg_hr=130)
    assert (result.method, result.reason) == ("average_hr", "stream_missing")
    assert result.trimp == pytest.approx(banister(130, 600), rel=1e-12)
    summary_only = score(None, None, MALE, timer_seconds=1800, stored_avg_hr=130)
    assert summary_only.trimp == pytest.approx(31.8, abs=0.05)


def test_auto_falls_back_when_stream_too_short() -> None:
    times, hrs = constant(150, 59)
    result = score(times, hrs, MALE, timer_seconds=59)
    assert (result.method, result.reason) == ("average_hr", "stream_too_short")
    assert result.average_hr == 150  # time-weighted stream mean: no session or stored average
    assert result.trimp == pytest.approx(banister(150, 59), rel=1e-12)


def test_auto_falls_back_when_coverage_low() -> None:
    times, hrs = constant(150, 100)
    result = score(times, hrs, MALE, timer_seconds=201, session_avg_hr=140)
    assert (result.method, result.reason) == ("average_hr", "stream_coverage_low")
    assert result.trimp == pytest.approx(banister(140, 201), rel=1e-12)
    assert result.stream_trimp == pytest.approx(banister(150, 100), rel=1e-12)


def test_coverage_counts_gaps_against_span_without_timer() -> None:
    # 60 s credited, then a 200 s pause: span 260 s, coverage 60/260 < 0.5
    times = [*range(61), 260]
    result = score(times, [150] * len(times), MALE)
    assert result.reason == "stream_coverage_low"
    assert result.reference_seconds == 260


def test_average_hr_source_order_session_then_stored_then_stream() -> None:
    times, hrs = [0, 10, 30], [100, 120, 160]  # h = 110 for 10 s, 140 for 20 s -> mean 130
    assert score(times, hrs, MALE).average_hr == pytest.approx(130)
    assert score(times, hrs, MALE, stored_avg_hr=125).average_hr == 125
    assert score(times, hrs, MALE, session_avg_hr=121, stored_avg_hr=125).average_hr == 121
    assert score(times, hrs, MALE, session_avg_hr=0, stored_avg_hr=125).average_hr == 125  # invalid: ignored
    assert score(times, hrs, MALE, session_avg_hr=300).average_hr == pytest.approx(130)


def test_average_hr_method_on_request_and_warning_above_max() -> None:
    times, hrs = constant(150, 600)
    result = score(times, hrs, MALE, method="average_hr", session_avg_hr=210)
    assert (result.method, result.reason) == ("average_hr", None)
    assert result.trimp == pytest.approx(banister(210, 600), rel=1e-12)
    assert any(w.startswith("average_hr_above_max:") for w in result.warnings)


def test_no_stream_and_no_average_is_trimp_001() -> None:
    with pytest.raises(HeartRateDataError) as error:
        score([0, 600], [NAN, NAN], MALE)
    assert error.value.code == "TRIMP_001"
    with pytest.raises(HeartRateDataError):
        score(None, None, MALE, timer_seconds=600)
    with pytest.raises(HeartRateDataError):
        score([], [], MALE, session_avg_hr=140)  # an average but no duration
    with pytest.raises(HeartRateDataError):
        score([0], [150], MALE, method="stream")


def test_mismatched_or_non_numeric_input_is_trimp_001() -> None:
    with pytest.raises(HeartRateDataError):
        score([0, 1, 2], [100, 100], MALE)
    with pytest.raises(HeartRateDataError):
        score([0, 1], ["a", "b"], MALE)
    with pytest.raises(ValueError):
        score([0, 1], [100, 100], MALE, method="banister")  # type: ignore[arg-type]


# --- profile ---------------------------------------------------------------------------------------------


def test_missing_profile_is_trimp_002() -> None:
    with pytest.raises(HeartRateConfigError) as error:
        score([0, 60], [150, 150], None)
    assert error.value.code == "TRIMP_002"
    assert isinstance(error.value, TrimpError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rest": 60, "max": 60},
        {"rest": 70, "max": 60},
        {"rest": 0, "max": 190},
        {"rest": NAN, "max": 190},
        {"rest": 50, "max": 400},
        {"rest": 50, "max": 190, "sex": "other"},
        {"rest": 50, "max": 190, "vt1": 170, "vt2": 160},
        {"rest": 50, "max": 190, "threshold": -1},
        {"rest": None, "max": 190},
    ],
)
def test_invalid_profile_is_trimp_002(kwargs: dict[str, object]) -> None:
    with pytest.raises(HeartRateConfigError) as error:
        HRProfile(**kwargs)  # type: ignore[arg-type]
    assert error.value.code == "TRIMP_002"


# --- zonal methods ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hr", "factor"),
    [
        (94.5, 0),
        (95, 1),
        (113.5, 1),
        (114, 2),
        (132.5, 2),
        (133, 3),
        (151.5, 3),
        (152, 4),
        (170.5, 4),
        (171, 5),
        (240, 5),
    ],
)
def test_edwards_zone_edges_lower_edge_inclusive(hr: float, factor: int) -> None:
    profile = HRProfile(rest=50, max=190)
    result = score([0, 30], [hr, hr], profile, method="edwards")
    assert result.method == "edwards"
    assert result.trimp == factor / 2
    assert result.edwards == factor / 2


@pytest.mark.parametrize(("hr", "factor"), [(100, 1), (149.5, 1), (150, 2), (169.5, 2), (170, 3), (200, 3)])
def test_lucia_zone_edges(hr: float, factor: int) -> None:
    profile = HRProfile(rest=50, max=190, vt1=150, vt2=170)
    result = score([0, 30], [hr, hr], profile, method="lucia")
    assert result.trimp == pytest.approx(factor * 0.5)
    assert result.lucia == result.trimp and result.lucia_error is None


def test_zonal_methods_use_the_integration_rule() -> None:
    profile = HRProfile(rest=50, max=200, vt1=140, vt2=170)
    # 0->10 (h 105, Edwards 1, Lucia 1); 10->60 is a 50 s gap; 60->80 (h 180 = 0.9 max: Edwards 5, Lucia 3)
    result = score([0, 10, 60, 80], [100, 110, 180, 180], profile, method="stream")
    assert result.edwards == pytest.approx((1 * 10 + 5 * 20) / 60)
    assert result.lucia == pytest.approx((1 * 10 + 3 * 20) / 60)


def test_lucia_without_thresholds_is_trimp_002_for_that_method_only() -> None:
    times, hrs = constant(150, 600)
    result = score(times, hrs, MALE)
    assert result.lucia is None and result.lucia_error == "TRIMP_002"
    assert result.method == "stream" and result.edwards is not None
    with pytest.raises(HeartRateConfigError) as error:
        score(times, hrs, HRProfile(rest=40, max=200, vt1=150), method="lucia")
    assert error.value.code == "TRIMP_002"


# --- result and oracle -----------------------------------------------------------------------------------


def test_result_is_frozen_and_versioned() -> None:
    result = score([0, 30], [150, 150], MALE, method="stream")
    assert result.engine_version == ENGINE_VERSION
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.trimp = 0  # type: ignore[misc]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("sex", ["male", "female", "unspecified"])
def test_engine_matches_the_per_sample_loop_on_messy_streams(seed: int, sex: str) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    times = np.cumsum(rng.choice([0, 1, 1, 1, 2, 5, 31, 120], size=n)).astype(float)
    hrs = rng.normal(145, 25, n).round()
    hrs[rng.random(n) < 0.05] = np.nan
    hrs[rng.random(n) < 0.01] = 0
    hrs[rng.random(n) < 0.01] = 255
    times[rng.random(n) < 0.01] = np.nan
    order = rng.permutation(n)
    times, hrs = times[order], hrs[order]
    profile = HRProfile(rest=48, max=191, sex=sex)  # type: ignore[arg-type]

    result = score(times, hrs, profile, method="stream")
    t_list = [None if math.isnan(t) else float(t) for t in times]
    h_list = [None if math.isnan(h) else float(h) for h in hrs]
    expected = loop_trimps(t_list, h_list, rest=48, max_hr=191, sex=sex)
    expected_banister, expected_edwards, expected_credited = expected
    assert result.trimp == pytest.approx(expected_banister, rel=1e-9)
    assert result.edwards == pytest.approx(expected_edwards, rel=1e-9)
    assert result.credited_seconds == pytest.approx(expected_credited, rel=1e-12)
