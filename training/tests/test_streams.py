"""The stream codec round-trips exactly and stays compact; damaged bytes are refused; downsampling."""

from __future__ import annotations

import numpy as np
import pytest

from training.engine import HRProfile, score
from training.streams import StreamFormatError, decode_stream, downsample, encode_stream
from training.synthetic import simulate_session


def roundtrip(times: list[float] | np.ndarray, hrs: list[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return decode_stream(encode_stream(times, hrs))


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, b)  # NaN == NaN here; every other value bit-for-bit


def test_one_hour_device_stream_is_small_and_exact() -> None:
    times = np.arange(3600.0)
    hrs = np.round(140 + 10 * np.sin(times / 300))
    hrs[100:130] = np.nan
    data = encode_stream(times, hrs)
    assert len(data) < 4000  # vs 57,600 bytes of float64
    decoded_t, decoded_h = decode_stream(data)
    assert_same(decoded_t, times)
    assert_same(decoded_h, hrs)


@pytest.mark.parametrize(
    ("times", "hrs"),
    [
        ([0.0, 0.5, 1.25, 2.0], [120.5, 121.0, np.nan, 300.0]),  # fractional and out-of-range HR → float64
        ([0.1, 0.2, 0.3000001, 1e7], [100, 101, 102, 103]),  # not whole milliseconds → float64 times
        ([5.0, 3.0, 3.0, 4.0], [100, 101, 102, 0]),  # unsorted, duplicates, HR 0 kept
        ([0.0, np.nan, 2.0], [110, 111, np.inf]),  # a sample without time, an infinite HR
        ([], []),
        ([0.0], [np.nan]),
        ([-2.0, -1.0, 0.0], [254, 255, 1]),  # 255 cannot be uint8 here (it means "missing")
    ],
)
def test_roundtrip_is_exact_whatever_the_values(times: list[float], hrs: list[float]) -> None:
    decoded_t, decoded_h = roundtrip(times, hrs)
    assert_same(decoded_t, np.asarray(times, dtype=np.float64))
    assert_same(decoded_h, np.asarray(hrs, dtype=np.float64))


def test_stored_stream_scores_exactly_like_the_original() -> None:
    session = simulate_session(np.random.default_rng(3), rest=50, max_hr=190, kind="intervals", duration_s=4000)
    profile = HRProfile(rest=50, max=190, sex="female", vt1=140, vt2=170)
    times, hrs = roundtrip(session.times, session.hrs)
    assert score(times, hrs, profile) == score(session.times, session.hrs, profile)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:5],
        lambda b: b"XYZ" + b[3:],
        lambda b: b[:-3],
        lambda b: b[:8] + bytes([b[8] ^ 0xFF]) + b[9:],
        lambda b: b[:3] + bytes([0x33]) + b[4:],  # unknown format byte
    ],
)
def test_damaged_bytes_are_refused(damage: object) -> None:
    data = encode_stream(np.arange(100.0), np.full(100, 130.0))
    with pytest.raises(StreamFormatError):
        decode_stream(damage(data))  # type: ignore[operator]


def test_downsample_keeps_first_times_and_averages_present_hrs() -> None:
    times = np.arange(10.0)
    hrs = np.array([100, 102, np.nan, np.nan, 110, 112, 120, np.nan, 130, 134], dtype=np.float64)
    t, h = downsample(times, hrs, 5)
    np.testing.assert_array_equal(t, [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(h, [101, np.nan, 111, 120, 132])
    same_t, same_h = downsample(times, hrs, 50)
    assert same_t is times and same_h is hrs
    with pytest.raises(ValueError):
        downsample(times, hrs, 0)
