"""Stream vs average-HR TRIMP for chosen activities or a sample: per-activity values and the distribution of
the differences (a read: nothing is stored, no metric is recorded)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from core.errors import ServiceError
from rollout.shadow import ShadowItem, summarise
from training.config import current_settings
from training.engine import TrimpError, score
from training.models import Activity
from training.recalc_chunks import Scope
from training.scoring import ProfileBook
from training.streams import StreamFormatError, decode_stream

RELATIVE_EDGES = (-0.5, -0.2, -0.1, -0.05, 0.05, 0.1, 0.2, 0.5)


def _method_value(times: Any, hrs: Any, profile: Any, activity: dict[str, Any], method: str, gap: float) -> Any:
    return score(
        times,
        hrs,
        profile,
        method=method,  # type: ignore[arg-type]
        timer_seconds=activity["timer_seconds"],
        session_avg_hr=activity["average_hr"],
        max_gap_s=gap,
    )


def _distribution(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    array = np.asarray(values, dtype=np.float64)
    quantiles = np.percentile(array, [5, 25, 50, 75, 95])
    return {
        "count": int(array.size),
        "mean": float(array.mean()),
        "sd": float(array.std()),
        "min": float(array.min()),
        "p5": float(quantiles[0]),
        "p25": float(quantiles[1]),
        "median": float(quantiles[2]),
        "p75": float(quantiles[3]),
        "p95": float(quantiles[4]),
        "max": float(array.max()),
    }


def _histogram(relatives: list[float]) -> dict[str, int]:
    labels = []
    lower = "-inf"
    for edge in RELATIVE_EDGES:
        labels.append(f"[{lower}, {edge * 100:g})%")
        lower = f"{edge * 100:g}"
    labels.append(f"[{lower}, inf)%")
    counts = np.bincount(np.searchsorted(RELATIVE_EDGES, relatives, side="right"), minlength=len(labels))
    return {label: int(n) for label, n in zip(labels, counts, strict=True)}


def trimp_comparison(
    *,
    activity_ids: list[int] | None = None,
    sample: int | None = None,
    athlete_id: int | None = None,
    since: date | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Compare the two Banister methods. Give ``activity_ids``, or ``sample`` (a seeded random sample of the
    activities in scope). At most ``comparison_max_activities`` activities."""
    settings = current_settings()
    limit = settings.comparison_max_activities
    if activity_ids:
        if len(activity_ids) > limit:
            raise ServiceError("too_many_activities", f"at most {limit} activities per comparison")
        ids = sorted(set(activity_ids))
    else:
        size = sample if sample is not None else min(100, limit)
        if size < 1 or size > limit:
            raise ServiceError("validation_error", f"sample must be between 1 and {limit}.")
        pool = np.fromiter(
            Activity.objects.filter(Scope(athlete_id=athlete_id, since=since).filter()).values_list("id", flat=True),
            dtype=np.int64,
        )
        chosen = np.random.default_rng(seed).choice(pool, size=min(size, pool.size), replace=False)
        ids = sorted(int(i) for i in chosen)
    rows = list(
        Activity.objects.filter(pk__in=ids)
        .order_by("id")
        .values(
            "id",
            "athlete_id",
            "local_date",
            "timer_seconds",
            "average_hr",
            "trimp",
            "trimp_calculation_method",
            "stream__data",
        )
    )
    missing = sorted(set(ids) - {row["id"] for row in rows})
    book = ProfileBook.for_athletes({row["athlete_id"] for row in rows})
    results: list[dict[str, Any]] = []
    differences: list[float] = []
    relatives: list[float] = []
    for row in rows:
        entry: dict[str, Any] = {
            "activity_id": row["id"],
            "athlete_id": row["athlete_id"],
            "date": row["local_date"],
            "stored_trimp": row["trimp"],
            "stored_method": row["trimp_calculation_method"] or None,
            "stream": None,
            "average_hr": None,
            "difference": None,
            "relative_difference": None,
            "auto_fallback_reason": None,
            "errors": {},
        }
        results.append(entry)
        profile = book.valid_on(row["athlete_id"], row["local_date"])
        if profile is None or profile.engine is None:
            entry["errors"] = {"profile": "TRIMP_002"}
            continue
        times = hrs = None
        if row["stream__data"] is not None:
            try:
                times, hrs = decode_stream(row["stream__data"])
            except StreamFormatError:
                entry["errors"]["stream"] = "TRIMP_001"
        for method in ("stream", "average_hr", "auto"):
            try:
                result = _method_value(times, hrs, profile.engine, row, method, settings.max_gap_s)
            except TrimpError as exc:
                entry["errors"][method] = exc.code
                continue
            if method == "auto":
                entry["auto_fallback_reason"] = result.reason
            else:
                entry[method] = result.trimp
        if entry["stream"] is not None and entry["average_hr"] is not None:
            entry["difference"] = entry["stream"] - entry["average_hr"]
            differences.append(entry["difference"])
            if entry["average_hr"] > 0:
                entry["relative_difference"] = entry["difference"] / entry["average_hr"]
                relatives.append(entry["relative_difference"])
    within = sum(1 for r in relatives if abs(r) <= 0.05)
    # The generic shadow summary (rollout.shadow): average-HR is the method users have, stream the candidate.
    shadow = summarise(
        (
            ShadowItem(entry["activity_id"], entry["average_hr"], entry["stream"], ",".join(entry["errors"]))
            for entry in results
        ),
        top=10,
    )
    return {
        "requested": len(ids),
        "compared": len(differences),
        "missing_ids": missing,
        "activities": results,
        "distribution": {
            "difference": _distribution(differences),
            "relative_difference": _distribution(relatives),
            "histogram": _histogram(relatives),
            "share_within_5pct": within / len(relatives) if relatives else None,
        },
        "shadow": shadow.as_dict(),
    }
