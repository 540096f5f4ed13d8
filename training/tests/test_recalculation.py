"""Historical recalculation in-process: the API, the dry run, idempotence, flag toggles, chunk claims that
were lost, and the commands."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.utils import timezone

from core.jobs import job_run
from core.models import Job
from training.loads import daily_loads_by_day
from training.models import Activity, RecalculationChunk, TrimpSettings
from training.recalc_chunks import LostClaim, Scope, chunk_commit, chunk_compute
from training.recalculation import chunk_claim, chunks_plan, recalculation_start
from training.tests.conftest import DAY0

pytestmark = pytest.mark.django_db


def snapshot(queryset: Any = None) -> dict[int, tuple[Any, ...]]:
    rows = (queryset if queryset is not None else Activity.objects.all()).values_list(
        "id", "trimp", "trimp_calculation_method", "trimp_method_reason", "trimp_processed_at", "trimp_details"
    )
    return {row[0]: row[1:] for row in rows}


def loads() -> dict[tuple[int, date], float]:
    return {key: load for key, (load, _) in daily_loads_by_day().items()}


@pytest.fixture
def two_athletes(make_user: Any, profile_for: Any, history: Any) -> tuple[Any, Any]:
    beta = make_user("athlete", groups=("beta",))
    regular = make_user("athlete")
    for user in (beta, regular):
        profile_for(user)
        history(user, 12)
    TrimpSettings.objects.create(pk=1, recalc_chunk_size=5, recalc_parallelism=0)
    return beta, regular


def test_flag_toggle_and_recalculation_move_exactly_the_flagged_athletes(
    two_athletes: tuple[Any, Any], staff_client: Any, flag_for: Any
) -> None:
    beta, regular = two_athletes
    assert set(Activity.objects.values_list("trimp_calculation_method", flat=True)) == {"average_hr"}
    before = snapshot()
    before_loads = loads()
    flag_for("beta")
    response = staff_client.post("/api/admin/trimp-recalculate", {"scope": "all", "reason": "beta on"}, format="json")
    assert response.status_code == 202, response.json()
    job_id = response.json()["job_id"]
    assert job_run(job_id).status == Job.Status.SUCCEEDED  # type: ignore[union-attr]
    after = snapshot()
    for activity_id, row in after.items():
        athlete_id = Activity.objects.get(pk=activity_id).athlete_id
        if athlete_id == beta.pk:
            assert row[1:3] == ("stream", "stream_ok") and row[3] > before[activity_id][3]
        else:
            assert row == before[activity_id]  # untouched, not even re-stamped
    status = staff_client.get(f"/api/admin/trimp-recalculate/{job_id}").json()
    assert status["status"] == "succeeded" and status["progress"]["fraction"] == 1.0
    assert status["counts"] == {"processed": 24, "changed": 12, "unchanged": 12, "failed": 0}
    assert status["report"]["transitions"] == {"average_hr→stream": 12}
    assert status["chunks"]["done"] == 5 and status["progress"]["eta_seconds"] == 0.0
    after_loads = loads()
    for (athlete_id, day), value in after_loads.items():
        if athlete_id == regular.pk:
            assert value == before_loads[(athlete_id, day)]
        else:
            total = Activity.objects.filter(athlete_id=athlete_id, local_date=day).aggregate(s=Sum("trimp"))["s"]
            assert value == pytest.approx(total)

    # idempotent: the second run changes nothing at all
    second = recalculation_start(actor=None, trigger="api")
    assert job_run(second.pk).result["changed"] == 0  # type: ignore[union-attr]
    assert snapshot() == after and loads() == after_loads


def test_dry_run_writes_nothing_and_reports_the_comparison(
    two_athletes: tuple[Any, Any], staff_client: Any, flag_for: Any
) -> None:
    beta, _ = two_athletes
    before, before_loads = snapshot(), loads()
    flag_for("beta")
    job_id = staff_client.post("/api/admin/trimp-recalculate", {"dry_run": True}, format="json").json()["job_id"]
    job_run(job_id)
    assert snapshot() == before and loads() == before_loads
    report = staff_client.get(f"/api/admin/trimp-recalculate/{job_id}").json()
    assert report["dry_run"] is True and report["counts"]["changed"] == 12
    movers = report["report"]["top_movers"]
    assert len(movers) == 12 and {m["athlete_id"] for m in movers} == {beta.pk}
    deltas = [abs(m["delta"]) for m in movers]
    assert deltas == sorted(deltas, reverse=True)
    mover = movers[0]
    stored = Activity.objects.get(pk=mover["activity_id"])
    assert mover["old"] == stored.trimp and mover["old_method"] == "average_hr" and mover["new_method"] == "stream"
    assert sum(report["report"]["histogram"].values()) == 12
    assert report["report"]["mean_abs_delta"] == pytest.approx(sum(deltas) / 12)


def test_scope_athlete_and_since(two_athletes: tuple[Any, Any], flag_for: Any, staff_client: Any) -> None:
    beta, _ = two_athletes
    flag_for("beta")
    since = DAY0 + timedelta(days=8)
    response = staff_client.post(
        "/api/admin/trimp-recalculate", {"scope": "since", "athlete_id": beta.pk, "since": since}, format="json"
    )
    job = job_run(response.json()["job_id"])
    assert job is not None and job.result["processed"] == 4
    methods = dict(Activity.objects.filter(athlete=beta).values_list("local_date", "trimp_calculation_method"))
    assert all((method == "stream") == (day >= since) for day, method in methods.items())
    bad = [
        {"scope": "athlete"},
        {"scope": "since"},
        {"scope": "all", "athlete_id": beta.pk},
        {"athlete_id": 999999},
        {"dry_run": "maybe"},
    ]
    for body in bad:
        response = staff_client.post("/api/admin/trimp-recalculate", body, format="json")
        assert response.status_code in (400, 404), body
    assert Job.objects.filter(kind="training.recalculate").count() == 1


def test_a_chunk_whose_worker_died_is_reclaimed_and_counted_once(two_athletes: tuple[Any, Any], flag_for: Any) -> None:
    flag_for("beta")
    flag_for("regular")
    job = recalculation_start(actor=None, trigger="api")
    chunks_plan(job=job, scope=Scope(), chunk_size=5)
    claim = chunk_claim(job_id=job.pk, lease_seconds=60)
    assert claim is not None
    dead_chunk, dead_token = claim
    changes, days, report = chunk_compute(chunk=dead_chunk, scope=Scope(), max_gap_s=30.0, record_metrics=False)
    # ... and the worker dies here. Nobody may claim the chunk while its lease is fresh:
    assert chunk_claim(job_id=job.pk, lease_seconds=60)[0].index == 1  # type: ignore[index]
    RecalculationChunk.objects.filter(job=job, index=1).update(status=RecalculationChunk.Status.PENDING)
    RecalculationChunk.objects.filter(pk=dead_chunk.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    finished = job_run(job.pk)
    assert finished is not None and finished.status == Job.Status.SUCCEEDED
    assert finished.result["processed"] == 24 and finished.result["changed"] == 24
    assert set(Activity.objects.values_list("trimp_calculation_method", flat=True)) == {"stream"}
    dead_chunk.refresh_from_db()
    assert dead_chunk.attempts == 2 and dead_chunk.status == RecalculationChunk.Status.DONE
    # the dead worker wakes up and tries to commit: refused, nothing written twice
    with pytest.raises(LostClaim):
        chunk_commit(chunk=dead_chunk, token=dead_token, changes=changes, days=days, report=report, dry_run=False)
    assert RecalculationChunk.objects.filter(job=job).aggregate(n=Sum("planned"))["n"] == 24


def test_recalculate_command_dry_run_and_real(two_athletes: tuple[Any, Any], flag_for: Any) -> None:
    beta, _ = two_athletes
    flag_for("beta")
    before = snapshot()
    out = StringIO()
    call_command("recalculate_trimp", "--dry-run", f"--athlete={beta.pk}", stdout=out)
    assert "12 processed, 12 would change" in out.getvalue() and snapshot() == before
    out = StringIO()
    call_command("recalculate_trimp", f"--since={DAY0 + timedelta(days=6)}", "--json", stdout=out)
    status = json.loads(out.getvalue())
    assert status["status"] == "succeeded" and status["counts"]["processed"] == 12 and status["counts"]["changed"] == 6
    with pytest.raises(CommandError):
        call_command("recalculate_trimp", "--athlete=999999")
    with pytest.raises(CommandError):
        call_command("recalculate_trimp", "--since=last-week")


def test_import_and_trimp_commands(make_user: Any, profile_for: Any, shared_data: Any, tmp_path: Any) -> None:
    athlete = make_user("athlete")
    profile_for(athlete)
    folder = tmp_path / "rides"
    folder.mkdir()
    (folder / "junk.fit").write_bytes(b"not a fit file at all")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_activities",
            f"--athlete={athlete.pk}",
            str(shared_data / "sweatpy__activity_5039744860.tcx"),
            str(shared_data / "python-fitparse__garmin-fenix-5-run.fit"),
            str(folder),
            stdout=out,
            stderr=err,
        )
    assert out.getvalue().count("imported as activity") == 2
    assert "junk.fit: TRIMP_001" in err.getvalue()
    assert Activity.objects.filter(athlete=athlete).count() == 2
    again = StringIO()
    call_command(
        "import_activities",
        f"--athlete={athlete.pk}",
        str(shared_data / "sweatpy__activity_5039744860.tcx"),
        stdout=again,
    )
    assert "already imported" in again.getvalue()

    out = StringIO()
    call_command(
        "trimp",
        str(shared_data / "python-fitparse__garmin-fenix-5-run.fit"),
        "--rest=50",
        "--max=190",
        "--sex=male",
        "--vt1=140",
        "--vt2=170",
        "--json",
        stdout=out,
    )
    result = json.loads(out.getvalue())
    for key in (
        "trimp",
        "method",
        "reason",
        "valid_samples",
        "credited_seconds",
        "reference_seconds",
        "edwards",
        "lucia",
        "warnings",
    ):
        assert key in result
    assert (result["method"], result["reason"], result["valid_samples"]) == ("average_hr", "stream_too_short", 21)
    out = StringIO()
    call_command(
        "trimp",
        str(shared_data / "python-fitparse__activity-small-fenix2-run.fit"),
        "--rest=50",
        "--max=190",
        "--method=edwards",
        stdout=out,
    )
    assert out.getvalue().startswith("TRIMP ") and "(edwards)" in out.getvalue()
    with pytest.raises(CommandError, match="TRIMP_002"):
        call_command(
            "trimp",
            str(shared_data / "python-fitparse__activity-small-fenix2-run.fit"),
            "--rest=50",
            "--max=190",
            "--method=lucia",
        )
    with pytest.raises(CommandError, match="TRIMP_001"):
        call_command("trimp", str(folder / "junk.fit"), "--rest=50", "--max=190")


def test_a_damaged_stream_is_reported_not_fatal(
    two_athletes: tuple[Any, Any], flag_for: Any, staff_client: Any
) -> None:
    from training.models import ActivityStream

    beta, _ = two_athletes
    flag_for("beta")
    victim = Activity.objects.filter(athlete=beta).order_by("id").first()
    assert victim is not None
    ActivityStream.objects.filter(activity=victim).update(data=b"HRS\x00garbage")
    job_id = staff_client.post("/api/admin/trimp-recalculate", {"athlete_id": beta.pk}, format="json").json()["job_id"]
    assert job_run(job_id).status == Job.Status.SUCCEEDED  # type: ignore[union-attr]
    victim.refresh_from_db()
    assert victim.trimp is None and victim.trimp_error_code == "TRIMP_001" and "damaged" in victim.trimp_error
    status = staff_client.get(f"/api/admin/trimp-recalculate/{job_id}").json()
    assert status["counts"]["failed"] == 1 and status["errors"]["by_code"] == {"TRIMP_001": 1}
    assert status["errors"]["activities"][0]["activity_id"] == victim.pk
    assert Activity.objects.filter(athlete=beta, trimp_calculation_method="stream").count() == 11
    assert (beta.pk, victim.local_date) not in {k for k, v in loads().items() if v > 0}
