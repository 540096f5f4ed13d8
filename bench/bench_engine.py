"""Benchmark of the training engine and the FIT decoders (standalone: no Django).

Measures, on this machine:

* stream Banister TRIMP + Edwards (one ``score`` call) on 4 h at 1 Hz (14,400 samples): median time,
  target <= 0.2 ms; against the per-sample Python loop of the same definitions (target >= 50x) and against
  ``sport-activities-features``' TRIMP classes when that package is installed;
* CTL/ATL/TSB/ACWR/monotony/strain for 10 years of daily loads: median time, target <= 5 ms;
* FIT decoding, records/s, ``garmin-fit-sdk`` against ``fitdecode`` on the shared device files.

Prints a Markdown section to stdout; ``--write FILE`` also replaces (or appends) the section headed
``## Training engine`` in FILE. Usage: ``.venv/bin/python bench/bench_engine.py [--quick] [--write FILE]``.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import numpy as np
import scipy

# A standalone script: make the repository importable (the engine modules are imported where used).
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SECTION = "## Training engine"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "activities"
TARGET_SCORE_MS = 0.2
TARGET_RATIO = 50.0
TARGET_PMC_MS = 5.0


def timed(call: Callable[[], object], repeats: int, warmup: int = 3) -> tuple[float, float, float]:
    """(median wall, best wall, median CPU) time of ``call`` in seconds over ``repeats`` runs.

    The CPU time (``time.process_time``) leaves out the time the process waited while other work had the
    CPU, so on a busy machine it is the steadier figure; the targets are judged on the wall median.
    """
    for _ in range(warmup):
        call()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def synthetic_ride(seconds: int = 4 * 3600, seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    """A 1 Hz stream: a bounded random walk in HR with 1 % dropouts and two pauses."""
    rng = np.random.default_rng(seed)
    times = np.arange(seconds, dtype=np.float64)
    hrs = np.clip(140 + np.cumsum(rng.normal(0, 1.5, seconds)) * 0.2, 95, 188).round()
    hrs[rng.random(seconds) < 0.01] = np.nan
    hrs[3600:3700] = np.nan
    hrs[9000:9200] = np.nan
    return times, hrs


def ms(seconds: float, digits: int = 3) -> str:
    return f"{seconds * 1e3:.{digits}f} ms"


def bench_score(quick: bool) -> list[str]:
    from training.engine import HRProfile, score
    from training.engine.reference import loop_trimps

    profile = HRProfile(rest=48, max=190, sex="male")
    times, hrs = synthetic_ride()
    result = score(times, hrs, profile, method="stream")
    repeats = 300 if quick else 3000
    engine, engine_best, engine_cpu = timed(lambda: score(times, hrs, profile, method="stream"), repeats)

    t_list = [float(t) for t in times]
    h_list = [None if np.isnan(h) else float(h) for h in hrs]
    loop_banister, loop_edwards, _ = loop_trimps(t_list, h_list, rest=48, max_hr=190, sex="male")

    def python_loop() -> object:
        return loop_trimps(t_list, h_list, rest=48, max_hr=190, sex="male")

    loop, _, loop_cpu = timed(python_loop, 3 if quick else 15)
    agree = math.isclose(loop_banister, result.trimp, rel_tol=1e-9) and math.isclose(
        loop_edwards, result.edwards or 0.0, rel_tol=1e-9
    )
    ratio = loop / engine
    lines = [
        (
            f"Stream of {times.size:,} samples (4 h at 1 Hz, 1 % dropouts, two pauses): Banister "
            f"{result.trimp:.2f}, Edwards {result.edwards:.2f}; the Python loop gives the same to 1e-9: "
            f"{'yes' if agree else '**NO**'}."
        ),
        "",
        "| what | wall median (best) | CPU median | target (wall median) |",
        "|---|---|---|---|",
        (
            '| engine `score(method="stream")`: cleaning, Banister + Edwards '
            f"| {ms(engine)} ({ms(engine_best)}) | {ms(engine_cpu)} "
            f"| <= {TARGET_SCORE_MS} ms: {_verdict(engine * 1e3 <= TARGET_SCORE_MS)} |"
        ),
        f"| per-sample Python loop, same definitions | {ms(loop, 1)} | {ms(loop_cpu, 1)} | |",
        (
            f"| speed-up (median / median) | {ratio:.0f}x | {loop_cpu / engine_cpu:.0f}x "
            f"| >= {TARGET_RATIO:.0f}x: {_verdict(ratio >= TARGET_RATIO)} |"
        ),
    ]
    return lines + bench_saf(times, hrs, engine, quick)


def bench_saf(times: np.ndarray, hrs: np.ndarray, engine: float, quick: bool) -> list[str]:
    """``sport-activities-features``' TRIMP classes on the same stream, when the package imports."""
    try:
        from sport_activities_features.training_loads import BanisterTRIMPv2, EdwardsTRIMP
    except (ImportError, OSError, RuntimeError) as exc:  # not installed, or a dependency failed to load
        return [
            "",
            (
                "`sport-activities-features` not measured: it does not import here "
                f"({type(exc).__name__}: {exc}). `.venv/bin/pip install sport-activities-features` "
                "(pulls pandas, matplotlib, geotiler, lxml, ...) to compare."
            ),
        ]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    stamps = [start + timedelta(seconds=float(t)) for t in times]
    hr_list = [None if np.isnan(h) else int(h) for h in hrs]
    edwards = EdwardsTRIMP(hr_list, stamps, max_heart_rate=190)
    edwards_time, _, _ = timed(edwards.calculate_TRIMP, 3 if quick else 10)
    valid = hrs[~np.isnan(hrs)]
    banister = BanisterTRIMPv2(times[-1] - times[0], float(valid.mean()), 48, 190)
    banister_time, _, _ = timed(banister.calculate_TRIMP, 100)
    return [
        "",
        (
            f"`sport-activities-features` {version('sport-activities-features')} on the same stream. "
            "Its definitions differ, so its values are not comparable: its Edwards takes the left "
            "sample's HR, strict `>` edges, seconds instead of minutes and no gap rule; its Banister is "
            "the average-HR formula without the 0.64 factor; it has no stream Banister."
        ),
        "",
        "| what | median | vs engine `score` |",
        "|---|---|---|",
        (
            f"| `EdwardsTRIMP.calculate_TRIMP` (Python loop over datetimes) | {ms(edwards_time, 1)} | "
            f"{edwards_time / engine:.0f}x slower |"
        ),
        (
            f"| `BanisterTRIMPv2.calculate_TRIMP` (one average, no stream) | {banister_time * 1e6:.1f} us | "
            "scalar formula, no stream work |"
        ),
    ]


def bench_pmc(quick: bool) -> list[str]:
    from training.engine import compute_pmc
    from training.engine.reference import loop_pmc

    days = 3653
    rng = np.random.default_rng(7)
    loads = rng.gamma(2.0, 40.0, days) * (rng.random(days) < 0.75)
    repeats = 100 if quick else 1000
    pmc, pmc_best, pmc_cpu = timed(lambda: compute_pmc(loads, ctl_seed=40, atl_seed=45), repeats)
    load_list = list(loads)
    loop, _, loop_cpu = timed(lambda: loop_pmc(load_list, ctl_seed=40, atl_seed=45), 3 if quick else 10)
    return [
        "| what | wall median (best) | CPU median | target (wall median) |",
        "|---|---|---|---|",
        (
            f"| PMC, 10 years ({days:,} days): CTL, ATL, TSB, ACWR, monotony, strain "
            f"| {ms(pmc)} ({ms(pmc_best)}) | {ms(pmc_cpu)} | <= {TARGET_PMC_MS} ms: "
            f"{_verdict(pmc * 1e3 <= TARGET_PMC_MS)} |"
        ),
        f"| same with a plain Python loop | {ms(loop, 1)} | {ms(loop_cpu, 1)} | {loop / pmc:.0f}x slower |",
    ]


def bench_fit(quick: bool) -> list[str]:
    from training.importers.fit import parse_fit

    files = sorted(SHARED_DATA.glob("*.fit")) if SHARED_DATA.is_dir() else []
    if not files:
        return ["", f"FIT decoding not measured: no shared device files in `{SHARED_DATA}`."]
    blobs = [path.read_bytes() for path in files]
    repeats = 2 if quick else 5
    records = sum(parse_fit(blob).sample_count for blob in blobs)

    def sdk() -> None:
        from garmin_fit_sdk import Decoder, Stream

        for blob in blobs:
            Decoder(Stream.from_byte_array(bytearray(blob))).read(
                convert_datetimes_to_dates=False,
                expand_sub_fields=False,
                expand_components=False,
                merge_heart_rates=False,
            )

    def fitdecode_reader(processor: object) -> Callable[[], None]:
        def run() -> None:
            import fitdecode

            kwargs = {} if processor == "default" else {"processor": processor}
            for blob in blobs:
                reader = fitdecode.FitReader(io.BytesIO(blob), check_crc=fitdecode.CrcCheck.ENABLED, **kwargs)
                with reader:
                    for frame in reader:
                        if frame.frame_type == fitdecode.FIT_FRAME_DATA and frame.global_mesg_num == 20:
                            frame.get_value("timestamp", fallback=None)
                            frame.get_value("heart_rate", fallback=None)

        return run

    def importer() -> None:
        for blob in blobs:
            parse_fit(blob)

    sdk_name = f"`garmin-fit-sdk` {version('garmin-fit-sdk')}"
    fitdecode_name = f"`fitdecode` {version('fitdecode')}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitdecode warns about the COROS file's odd field sizes
        timings = [
            (f"{sdk_name} `Decoder.read` (CRC on, no component expansion)", timed(sdk, repeats, 1)[0]),
            (
                f"{fitdecode_name} `FitReader` (CRC on, default processor)",
                timed(fitdecode_reader("default"), repeats, 1)[0],
            ),
            (
                f"{fitdecode_name} `FitReader` (CRC on, `processor=None`: raw values)",
                timed(fitdecode_reader(None), repeats, 1)[0],
            ),
            ("our `parse_fit` (SDK + record listener + arrays)", timed(importer, repeats, 1)[0]),
        ]
    lines = [
        "",
        (
            f"FIT decoding, {len(files)} shared device files, {records:,} record messages "
            f"({sum(len(b) for b in blobs) / 1024:.0f} KiB):"
        ),
        "",
        "| decoder | median for all files | records/s |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {seconds * 1e3:.0f} ms | {records / seconds:,.0f} |" for name, seconds in timings]
    return lines


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    interpreter = os.path.relpath(sys.executable)
    command = " ".join([interpreter if not interpreter.startswith("..") else sys.executable, *sys.argv])
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"- machine: `{platform.platform()}`, CPU: {cpu} ({os.cpu_count()} logical CPUs)",
        f"- Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}",
        f"- command: `{command}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC); medians of repeated runs",
        f"- load average when the run started: {load} (other work on the machine inflates wall times)",
    ]


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def build_section(quick: bool) -> str:
    lines = [SECTION, "", *machine(), "", *bench_score(quick), "", *bench_pmc(quick), *bench_fit(quick)]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the ``## Training engine`` section of ``path`` (up to the next ``## `` heading), or append."""
    text = path.read_text() if path.exists() else ""
    lines = text.splitlines(keepends=True)
    begin = next((i for i, line in enumerate(lines) if line.rstrip() == SECTION), None)
    if begin is None:
        separator = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        path.write_text(text + separator + section)
        return
    end = next((i for i in range(begin + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    path.write_text("".join(lines[:begin]) + section + ("\n" + tail if tail else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="Markdown file: replace its '## Training engine' section")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier), for a smoke run")
    args = parser.parse_args(argv)
    section = build_section(args.quick)
    sys.stdout.write(section)
    if args.write:
        write_section(args.write, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
