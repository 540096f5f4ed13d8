"""The movement library through its public doors (the commands): the runbook's SQL checks verbatim, all-or-nothing
imports naming record and field, idempotent re-runs with diffs, dumps, the real library, and --dsn seeding."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from conftest import REPO, require
from core.errors import NotFoundError
from planning.demo import seed_planning_demo
from planning.models import Movement, MovementAuditLog, MovementImportRun, MovementStaging
from planning.services.movements import movement_archive, movement_publish

FOUNDATIONAL = REPO / "planning" / "data" / "movements-foundational.json"
REAL_LIBRARY = REPO.parent / "shared" / "data" / "exercises" / "free-exercise-db.json"

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_movements", *args, stdout=out, stderr=out)
    return out.getvalue()


def sql(query: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return list(cursor.fetchall())


def foundational_records() -> list[dict[str, Any]]:
    return list(json.loads(FOUNDATIONAL.read_text())["movements"])


def write(tmp_path: Path, records: list[Any], name: str = "movements.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"movements": records}))
    return str(path)


def test_seeding_the_foundational_file_passes_the_runbook_checks() -> None:
    out = run(str(FOUNDATIONAL), "--publish")
    assert "created=8 updated=0 unchanged=0 rejected=0 published=8" in out
    assert "squat            created=1" in out
    assert sql("SELECT status, COUNT(*) as count FROM movement_library GROUP BY status") == [("published", 8)]
    assert sql("SELECT name, COUNT(*) FROM movement_library GROUP BY name HAVING COUNT(*) > 1") == []
    audit = dict(sql("SELECT action, COUNT(*) as count FROM movement_audit_log GROUP BY action"))
    assert audit == {"imported": 8, "published": 8}
    assert sql("SELECT COUNT(*) FROM movement_library;") == [(8,)]
    patterns = {m.pattern for m in Movement.objects.all()}
    assert {
        "squat",
        "hinge",
        "horizontal_push",
        "horizontal_pull",
        "vertical_push",
        "vertical_pull",
        "lunge",
    } <= patterns

    second = run(str(FOUNDATIONAL), "--publish")
    assert "created=0 updated=0 unchanged=8 rejected=0 published=0" in second
    assert dict(sql("SELECT action, COUNT(*) FROM movement_audit_log GROUP BY action")) == audit
    assert MovementStaging.objects.count() == 0


@pytest.mark.parametrize(
    ("mutate", "index", "field"),
    [
        (lambda r: r[3].pop("name"), 3, "name"),
        (lambda r: r[5].update(pattern="twist"), 5, "pattern"),
        (lambda r: r[6].update(movement_id=r[1]["movement_id"]), 6, "movement_id"),
        (lambda r: r[2].update(equipment="barbell"), 2, "equipment"),
        (lambda r: r[0].update(colour="red"), 0, "colour"),
    ],
)
def test_one_bad_record_rejects_the_whole_file(tmp_path: Path, mutate: Any, index: int, field: str) -> None:
    records = foundational_records()
    mutate(records)
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing was stored"):
        call_command("import_movements", write(tmp_path, records), "--publish", stdout=out, stderr=out)
    assert f"record {index}" in out.getvalue() and f": {field}:" in out.getvalue()
    assert Movement.objects.count() == 0 and MovementAuditLog.objects.count() == 0
    assert MovementStaging.objects.count() == 0
    run_row = MovementImportRun.objects.get()
    assert run_row.status == "rejected" and run_row.report["problems"][0]["index"] == index


def test_a_changed_record_is_updated_with_its_diff(tmp_path: Path) -> None:
    run(str(FOUNDATIONAL), "--publish")
    records = foundational_records()
    records[0]["level"] = "intermediate"
    records[0]["contraindications"] = ["knee", "hip"]
    out = run(write(tmp_path, records))
    assert "created=0 updated=1 unchanged=7" in out
    updated = MovementAuditLog.objects.get(action="updated")
    assert updated.diff == {"level": ["beginner", "intermediate"], "contraindications": [["knee"], ["hip", "knee"]]}
    assert Movement.objects.get(movement_id=records[0]["movement_id"]).status == "published"  # not demoted
    assert "updated=0 unchanged=8" in run(write(tmp_path, records))


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    out = run(str(FOUNDATIONAL), "--publish", "--dry-run")
    assert "Movement import dry_run: created=8" in out
    assert Movement.objects.count() == 0 and MovementAuditLog.objects.count() == 0


def test_dump_then_restore_after_the_runbook_truncate(tmp_path: Path) -> None:
    run(str(FOUNDATIONAL), "--publish")
    movement_archive(movement_id="push-up", actor="ops", reason="shoulder-friendly library")
    dump = tmp_path / "dump.json"
    call_command("dump_movements", str(dump), stdout=io.StringIO())
    before = sorted(Movement.objects.values_list("movement_id", "status", "pattern"))
    Movement.objects.all().delete()  # the runbook's TRUNCATE (portable: SQLite has no TRUNCATE)
    out = run(str(dump))
    assert "created=8" in out
    assert sorted(Movement.objects.values_list("movement_id", "status", "pattern")) == before


def test_publish_and_archive_write_audit_rows() -> None:
    run(str(FOUNDATIONAL))
    assert set(Movement.objects.values_list("status", flat=True)) == {"draft"}
    movement_publish(movement_id="push-up", actor="ops", reason="reviewed")
    movement_archive(movement_id="push-up", actor="ops", reason="replaced")
    rows = list(MovementAuditLog.objects.filter(movement_key="push-up").order_by("id").values_list("action", "reason"))
    assert rows == [("imported", ""), ("published", "reviewed"), ("archived", "replaced")]
    movement_archive(movement_id="push-up", actor="ops")  # already archived: a no-op without a row
    assert MovementAuditLog.objects.filter(movement_key="push-up").count() == 3
    with pytest.raises(NotFoundError):
        movement_publish(movement_id="no-such-movement", actor="ops")


def test_the_real_library_is_imported_and_unplaced_exercises_named() -> None:
    require(REAL_LIBRARY.exists(), f"{REAL_LIBRARY} not found", env="REQUIRE_SHARED_DATA")
    out = io.StringIO()
    call_command(
        "import_movements", str(REAL_LIBRARY), "--format", "free-exercise-db", "--publish", "-v", "2", stdout=out
    )
    text = out.getvalue()
    placed = Movement.objects.count()
    unplaced = int(text.split("not placed: ")[2].split(" ")[0])
    assert placed + unplaced == 873 and placed > 600
    assert "Barbell Curl" in text.split("not placed: ")[1]  # an isolation curl has no planning pattern
    assert Movement.objects.get(name="Barbell Squat").pattern == "squat"
    assert Movement.objects.get(name="Pullups").pattern == "vertical_pull"
    assert f"unchanged={placed}" in run(str(REAL_LIBRARY), "--format", "free-exercise-db", "--publish")


def _seed_target(url: str) -> None:
    out = run(str(FOUNDATIONAL), "--publish", "--dsn", url)
    assert "created=8" in out and "database planning_target" in out
    assert Movement.objects.count() == 0  # the default database is untouched


def test_dsn_seeds_another_sqlite_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "staging.sqlite3"
    _seed_target(f"sqlite:///{target}")
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT status, COUNT(*) FROM movement_library GROUP BY status").fetchall() == [
            ("published", 8)
        ]
    monkeypatch.setenv("PLANNING_DATABASE_URL", f"sqlite:///{target}")  # the runbook's variable, no --dsn
    assert "unchanged=8" in run(str(FOUNDATIONAL), "--publish")
    assert Movement.objects.count() == 0


def _postgres_admin_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user = settings.get("USER") or "postgres"
        return f"postgres://{user}@{settings.get('HOST') or '127.0.0.1'}:{settings.get('PORT') or 5432}/postgres"
    return os.environ.get("PLANNING_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def test_dsn_seeds_a_second_postgresql_database() -> None:
    admin_url = _postgres_admin_url()
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        admin = None
    require(admin is not None, f"PostgreSQL not reachable at {admin_url}")
    assert admin is not None
    name = f"stamina_planning_dsn_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
        _seed_target(url)
        with psycopg.connect(url) as target:
            rows = target.execute("SELECT status, COUNT(*) FROM movement_library GROUP BY status").fetchall()
            actions = target.execute("SELECT action, COUNT(*) FROM movement_audit_log GROUP BY action").fetchall()
        assert rows == [("published", 8)]
        assert dict(actions) == {"imported": 8, "published": 8}
        assert "unchanged=8" in run(str(FOUNDATIONAL), "--publish", "--dsn", url)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_demo_seeder_loads_both_libraries_once(demo_users: Any) -> None:
    first = seed_planning_demo(demo_users)
    assert "movements-foundational.json: created 8" in first and "1 plan job queued" in first
    if REAL_LIBRARY.exists():
        assert "free-exercise-db.json: created 674" in first
    else:
        assert "free-exercise-db.json skipped" in first
    second = seed_planning_demo(demo_users)
    assert "created 0" in second and "plan job" not in second
