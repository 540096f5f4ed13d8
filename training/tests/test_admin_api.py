"""The staff endpoints with the runbooks' paths: settings, stats, performance, comparison, schema status."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from training.models import Activity, TrimpSettingsChange
from training.tests.conftest import steady_stream

pytestmark = pytest.mark.django_db

STAFF_PATHS = [
    ("get", "/api/admin/trimp-settings"),
    ("put", "/api/admin/trimp-settings"),
    ("post", "/api/admin/trimp-recalculate"),
    ("get", "/api/admin/trimp-recalculate"),
    ("get", "/api/admin/trimp-recalculate/1"),
    ("get", "/api/admin/trimp-calculation-stats"),
    ("get", "/api/admin/trimp-performance-metrics"),
    ("post", "/api/admin/trimp-comparison"),
    ("get", "/api/admin/trimp-schema-status"),
]


@pytest.mark.parametrize(("method", "path"), STAFF_PATHS)
def test_staff_only(method: str, path: str, make_user: Any, client_for: Any, api_client: Any) -> None:
    athlete_client = client_for(make_user("athlete"))
    assert getattr(athlete_client, method)(path, {}, format="json").status_code == 403
    assert getattr(api_client, method)(path, {}, format="json").status_code == 401


def test_settings_get_put_validation_and_audit(staff_client: Any) -> None:
    body = staff_client.get("/api/admin/trimp-settings").json()
    assert body["settings"]["max_gap_s"] == 30.0 and body["settings"]["ctl_days"] == 42.0
    assert body["flag"]["name"] == "enhanced_trimp_calculation" and "beta" in body["flag"]["cohorts"]
    changed = staff_client.put(
        "/api/admin/trimp-settings", {"max_gap_s": 20, "atl_days": 6.5, "reason": "strap dropouts"}, format="json"
    ).json()
    assert changed["settings"]["max_gap_s"] == 20.0 and changed["recalculation_recommended"] is True
    assert changed["recent_changes"][0]["reason"] == "strap dropouts"
    same = staff_client.put("/api/admin/trimp-settings", {"max_gap_s": 20}, format="json").json()
    assert same["changed"] is False and TrimpSettingsChange.objects.count() == 1
    only_ops = staff_client.put("/api/admin/trimp-settings", {"recalc_chunk_size": 500}, format="json").json()
    assert only_ops["recalculation_recommended"] is False
    for bad in ({"max_gap_s": -1}, {"max_gap_s": "x"}, {"nope": 1}, {"recalc_chunk_size": 2.5}, {"ctl_days": True}):
        response = staff_client.put("/api/admin/trimp-settings", bad, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error", bad
    assert staff_client.get("/api/admin/trimp-settings").json()["settings"]["max_gap_s"] == 20.0


def test_stats_and_performance(
    make_user: Any, profile_for: Any, import_stream: Any, flag_for: Any, staff_client: Any
) -> None:
    beta = make_user("athlete", groups=("beta",))
    regular = make_user("athlete")
    unconfigured = make_user("athlete")
    for user in (beta, regular):
        profile_for(user)
    flag_for("beta")
    import_stream(beta)
    import_stream(beta, stream=(np.arange(0, 40.0), np.full(40, 150.0)))  # too short: falls back
    import_stream(regular)
    import_stream(unconfigured)  # no profile: TRIMP_002
    stats = staff_client.get("/api/admin/trimp-calculation-stats").json()["calculation_stats"]
    assert stats["total_activities"] == 4 and stats["unscored"] == 1
    assert stats["by_method"] == {"stream": 1, "average_hr": 2, "none": 1}
    assert stats["by_method_and_reason"]["average_hr"] == {"stream_too_short": 1, "flag_off": 1}
    assert stats["errors_by_code"] == {"TRIMP_002": 1}
    assert stats["recent_errors"][0]["trimp_error_code"] == "TRIMP_002"

    metrics = staff_client.get("/api/admin/trimp-performance-metrics").json()["performance_metrics"]
    system = metrics["system_metrics"]  # the runbook's `jq .performance_metrics.system_metrics`
    assert (system["calculations"], system["succeeded"], system["failed"]) == (3, 3, 0)
    assert system["success_rate"] == 1.0 and system["errors_by_code"] == {"TRIMP_002": 1}
    assert metrics["durations_by_method"]["stream"]["count"] == 1
    assert metrics["durations_by_method"]["average_hr"]["p95_ms"] > 0
    assert staff_client.get("/api/admin/trimp-performance-metrics?hours=0").status_code == 400


def test_comparison_for_ids_and_a_sample(
    make_user: Any, profile_for: Any, import_stream: Any, staff_client: Any
) -> None:
    athlete = make_user("athlete")
    profile_for(athlete)
    activities = [import_stream(athlete, stream=steady_stream(60, 120 + 10 * n, seed=n)) for n in range(5)]
    short = import_stream(athlete, stream=(np.arange(0, 40.0), np.full(40, 150.0)))
    no_hr = import_stream(athlete, stream=(np.arange(0, 600.0), np.full(600, np.nan)), average_hr=140)
    ids = [a.pk for a in activities] + [short.pk, no_hr.pk, 999999]
    body = staff_client.post("/api/admin/trimp-comparison", {"activity_ids": ids}, format="json").json()
    assert body["requested"] == 8 and body["missing_ids"] == [999999] and body["compared"] == 6
    rows = {row["activity_id"]: row for row in body["activities"]}
    for activity in activities:
        row = rows[activity.pk]
        assert row["average_hr"] == pytest.approx(activity.trimp)  # the athlete's stored (flag-off) method
        assert row["difference"] == pytest.approx(row["stream"] - row["average_hr"])
        assert row["auto_fallback_reason"] is None
    assert rows[short.pk]["auto_fallback_reason"] == "stream_too_short" and rows[short.pk]["stream"] > 0
    assert rows[no_hr.pk]["errors"] == {"stream": "TRIMP_001"} and rows[no_hr.pk]["stream"] is None
    assert rows[no_hr.pk]["auto_fallback_reason"] == "stream_missing" and rows[no_hr.pk]["average_hr"] > 0
    distribution = body["distribution"]
    assert distribution["difference"]["count"] == 6 and sum(distribution["histogram"].values()) == 6
    shadow = body["shadow"]  # rollout.shadow's summary: average-HR (what users have) vs stream (the candidate)
    relatives = [row["relative_difference"] for row in body["activities"] if row["relative_difference"] is not None]
    assert shadow["compared"] == 6 and shadow["mean_relative_difference"] == pytest.approx(np.mean(relatives))
    assert shadow["relative_percentiles"]["p50"] == pytest.approx(np.percentile(relatives, 50))
    assert abs(shadow["top"][0]["relative_difference"]) == pytest.approx(max(abs(r) for r in relatives))
    sample = staff_client.post("/api/admin/trimp-comparison", {"sample": 3, "seed": 1}, format="json").json()
    assert sample["requested"] == 3 and len(sample["activities"]) == 3
    again = staff_client.post("/api/admin/trimp-comparison", {"sample": 3, "seed": 1}, format="json").json()
    assert [r["activity_id"] for r in again["activities"]] == [r["activity_id"] for r in sample["activities"]]
    too_many = staff_client.post("/api/admin/trimp-comparison", {"sample": 10**6}, format="json")
    assert too_many.status_code == 400
    both = staff_client.post("/api/admin/trimp-comparison", {"sample": 2, "activity_ids": [1]}, format="json")
    assert both.status_code == 400
    assert Activity.objects.count() == 7


def test_schema_status_lists_tables_columns_and_indexes(staff_client: Any) -> None:
    body = staff_client.get("/api/admin/trimp-schema-status").json()
    assert body["ok"] is True
    activity = body["tables"]["training_activity"]
    assert activity["present"] and not activity["missing_columns"] and not activity["missing_indexes"]
    assert {"activity_method", "activity_processed", "activity_athlete_ext_uniq"} <= set(activity["indexes"])
    assert body["tables"]["training_activitystream"]["present"]
    assert body["runbook_columns"] == {
        "trimp_calculation_method": True,
        "hr_stream_sample_count": True,
        "trimp_processed_at": True,
    }


def test_recalculation_job_list_status_and_cancel(staff_client: Any) -> None:
    job_id = staff_client.post("/api/admin/trimp-recalculate", {}, format="json").json()["job_id"]
    listed = staff_client.get("/api/admin/trimp-recalculate").json()["jobs"]
    assert listed[0]["job_id"] == job_id and listed[0]["status"] == "queued"
    status = staff_client.get(f"/api/admin/trimp-recalculate/{job_id}").json()
    assert status["progress"]["done"] == 0 and status["progress"]["eta_seconds"] is None
    cancelled = staff_client.delete(f"/api/admin/trimp-recalculate/{job_id}").json()
    assert cancelled == {"job_id": job_id, "cancelled": True, "status": "cancelled"}
    assert staff_client.get("/api/admin/trimp-recalculate/999999").status_code == 404
