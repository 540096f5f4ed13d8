"""Backups and restores on the suite's tier (SQLite, or PostgreSQL with its own ``stamina_ops_*`` databases):
backup → change → restore gives back exactly the backup (row counts and checksums per table); a tampered backup
is refused and changes nothing; the nightly job writes a backup and keeps the newest BACKUP_KEEP."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test import override_settings
from django_celery_beat.models import PeriodicTask

from conftest import wait_for
from core import backup_engines
from core.backups import (
    Manifest,
    backup_create,
    backup_enqueue_nightly,
    backup_read_manifest,
    backups_list,
    backups_prune,
)
from core.jobs import job_run
from core.models import Job, MaintenanceChange
from core.schedules import schedules_sync
from core.tasks import backup_nightly


def _seed(demo_users: Any, client_for: Any) -> None:
    """Rows in many tables: users, groups, coach links, flags, an uploaded activity with its HR stream."""
    client = client_for(demo_users.regular)
    times = list(range(0, 3600, 2))
    body = {
        "streams": {"time": {"data": times}, "heartrate": {"data": [130 + (t // 60) % 30 for t in times]}},
        "start": "2026-11-02T07:00:00Z",
    }
    response = client.post("/api/v1/activities", body, format="json")
    assert response.status_code == 201, response.content


@pytest.fixture
def own_database(transactional_db: Any, demo_users: Any, client_for: Any, tmp_path: Path) -> Iterator[str]:
    """A Django alias to a database of our own holding a copy of the seeded test database: a SQLite file in
    tmp_path, or on PostgreSQL a ``stamina_ops_<random>`` database (dropped afterwards with any staging copy)."""
    _seed(demo_users, client_for)
    default = connections["default"]
    if default.vendor == "sqlite":
        copy = tmp_path / "own.sqlite3"
        source, target = sqlite3.connect(default.settings_dict["NAME"]), sqlite3.connect(copy)
        source.backup(target)
        source.close()
        target.close()
        with backup_engines.django_alias("default", NAME=str(copy)) as alias:
            yield alias
        return
    name = f"stamina_ops_{uuid.uuid4().hex[:8]}"
    settings_dict = default.settings_dict
    connections.close_all()  # a template database must have no other session
    with backup_engines.pg_connect(settings_dict, "postgres") as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{settings_dict["NAME"]}"')
    try:
        with backup_engines.django_alias("default", NAME=name) as alias:
            yield alias
    finally:
        with backup_engines.pg_connect(settings_dict, "postgres") as admin:
            rows = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [name + "%"]).fetchall()
            for (leftover,) in rows:
                admin.execute(f'DROP DATABASE IF EXISTS "{leftover}" WITH (FORCE)')


def _change_everything(alias: str) -> None:
    """Raw SQL (no signals): delete rows, edit rows, add a row — across several tables."""
    with connections[alias].cursor() as cursor:
        cursor.execute("UPDATE core_user SET first_name = 'changed', timezone = 'Asia/Tokyo'")
        cursor.execute("DELETE FROM core_coachathlete")
        cursor.execute("UPDATE rollout_flag SET percent = 77")
        cursor.execute(
            "INSERT INTO core_maintenancechange (enabled, reason, changed_at) VALUES (%s, %s, %s)",
            [True, "added after the backup", "2026-12-01 00:00:00"],
        )


def _tables_now(alias: str, method: str, tmp_path: Path) -> dict[str, Any]:
    return backup_create(
        output=tmp_path / f"now-{uuid.uuid4().hex[:6]}.tar.gz", method=method, using=alias
    ).manifest.tables


@pytest.mark.system
@pytest.mark.parametrize("method", ["native", "logical"])
def test_restore_gives_back_exactly_the_backup(own_database: str, method: str, tmp_path: Path) -> None:
    alias = own_database
    out = io.StringIO()
    with override_settings(BACKUP_DIR=tmp_path / "backups"):
        call_command(
            "backup", "--output", str(tmp_path / "b.tar.gz"), "--method", method, "--database", alias, stdout=out
        )
        path = Path(out.getvalue().strip())
        taken = backup_read_manifest(path=path)
        assert taken.tables["core_user"].rows >= 40 and taken.tables["training_activity"].rows == 1
        _change_everything(alias)
        assert _tables_now(alias, method, tmp_path) != taken.tables

        out = io.StringIO()
        call_command("restore", str(path), "--database", alias, stdout=out)
        assert "Restored from" in out.getvalue()
        now = _tables_now(alias, method, tmp_path)
        # Maintenance mode was switched on after the backup (the runbook's first step): it stays on.
        assert now.pop("core_maintenancechange") != taken.tables["core_maintenancechange"]
        assert now == {k: v for k, v in taken.tables.items() if k != "core_maintenancechange"}  # every other table
        latest = MaintenanceChange.objects.using(alias).order_by("-changed_at", "-id").first()
        assert latest is not None and latest.enabled and "kept on across a database restore" in latest.reason
        pre = list((tmp_path / "backups").glob("stamina-prerestore-*.tar.gz"))
        assert len(pre) == 1  # the state before the restore was kept
        assert backup_read_manifest(path=pre[0]).tables["rollout_flag"] != taken.tables["rollout_flag"]
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM core_user WHERE first_name = 'changed'")
        assert cursor.fetchone()[0] == 0


def _rewrite(path: Path, edit_manifest: Any = None, edit_payload: Any = None) -> None:
    with tarfile.open(path, "r:gz") as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    name = next(n for n in members if n != "manifest.json")
    if edit_manifest:
        raw = json.loads(members["manifest.json"])
        edit_manifest(raw)
        members["manifest.json"] = json.dumps(raw).encode()
    if edit_payload:
        members[name] = edit_payload(members[name])
    with tarfile.open(path, "w:gz") as archive:
        for member_name, data in members.items():
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def _one_fewer_user(raw: dict[str, Any]) -> None:
    raw["tables"]["core_user"]["rows"] -= 1


def _flip_bytes(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]


@pytest.mark.parametrize(
    ("edit_manifest", "edit_payload", "reason"),
    [
        (_one_fewer_user, None, "core_user: "),
        (None, _flip_bytes, "does not match the SHA-256"),
    ],
    ids=["manifest-edited", "payload-corrupted"],
)
def test_a_tampered_backup_is_refused_and_changes_nothing(
    transactional_db: Any, make_user: Any, tmp_path: Path, edit_manifest: Any, edit_payload: Any, reason: str
) -> None:
    make_user(username="kept")
    path = backup_create(output=tmp_path / "b.tar.gz").path
    _rewrite(path, edit_manifest, edit_payload)
    make_user(username="added-after")
    before = _tables_now("default", "native", tmp_path)
    with override_settings(BACKUP_DIR=tmp_path / "backups"):
        with pytest.raises(CommandError, match=reason):
            call_command("restore", str(path))
        with pytest.raises(CommandError, match=reason):
            call_command("restore", "--check", str(path))
    assert _tables_now("default", "native", tmp_path) == before
    assert not (tmp_path / "backups").exists()  # refused before the pre-restore backup, let alone the swap


def test_a_file_that_is_not_a_backup_is_refused(transactional_db: Any, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar file at all")
    with pytest.raises(CommandError, match="backup_invalid"):
        call_command("restore", str(junk))
    with pytest.raises(CommandError, match="not_found"):
        call_command("restore", str(tmp_path / "missing.tar.gz"))


def test_a_backup_of_the_other_engine_is_refused(transactional_db: Any, tmp_path: Path) -> None:
    path = backup_create(output=tmp_path / "b.tar.gz").path
    other = "postgresql" if connections["default"].vendor == "sqlite" else "sqlite"
    _rewrite(path, edit_manifest=lambda raw: raw.update(vendor=other))
    with pytest.raises(CommandError, match="backup_wrong_engine"):
        call_command("restore", str(path))


def test_checksums_ignore_row_order_and_see_any_change() -> None:
    rows = [(1, "a", 1.5, None, b"\x00\x01"), (2, "b", 2.5, "x", b"")]
    same = backup_engines.summarise_rows(rows)
    assert backup_engines.summarise_rows(list(reversed(rows))) == same
    assert same.rows == 2
    assert backup_engines.summarise_rows([(1, "a", 1.5, None, b"\x00\x02"), rows[1]]).checksum != same.checksum
    assert backup_engines.summarise_rows([*rows, rows[0]]).checksum != same.checksum  # duplicates count
    assert backup_engines.summarise_rows([(1,), (2,)]) != backup_engines.summarise_rows([(1,), ("2",)])


def test_prune_keeps_the_newest_nightly_backups_only(tmp_path: Path) -> None:
    names = [f"stamina-2026110{day}T024100Z.tar.gz" for day in range(1, 6)]
    for name in [*names, "stamina-prerestore-20261101T000000Z.tar.gz", "hand-made.tar.gz"]:
        (tmp_path / name).write_bytes(b"x")
    removed = backups_prune(directory=tmp_path, keep=2)
    assert [p.name for p in removed] == names[:3]
    assert [p.name for p in backups_list(directory=tmp_path)] == names[3:]
    assert (tmp_path / "stamina-prerestore-20261101T000000Z.tar.gz").exists() and (
        tmp_path / "hand-made.tar.gz"
    ).exists()


def test_nightly_job_writes_a_backup_and_applies_retention(
    transactional_db: Any, make_user: Any, tmp_path: Path
) -> None:
    make_user()
    for day in range(1, 4):
        (tmp_path / f"stamina-2026100{day}T024100Z.tar.gz").write_bytes(b"old")
    with override_settings(BACKUP_DIR=tmp_path, BACKUP_KEEP=2):
        job = backup_enqueue_nightly()
        assert job is not None and backup_enqueue_nightly() is None  # one at a time
        finished = job_run(job.pk)
    assert finished is not None and finished.status == Job.Status.SUCCEEDED, finished and finished.error
    written = Path(finished.result["path"])
    assert written.parent == tmp_path and written.exists()
    assert Manifest.from_json(json.dumps(json.loads(_manifest_text(written)))).tables["core_user"].rows >= 1
    assert [p.name for p in backups_list(directory=tmp_path)] == ["stamina-20261003T024100Z.tar.gz", written.name]
    assert finished.result["pruned"] == ["stamina-20261001T024100Z.tar.gz", "stamina-20261002T024100Z.tar.gz"]


def _manifest_text(path: Path) -> str:
    with tarfile.open(path) as archive:
        return archive.extractfile("manifest.json").read().decode()  # type: ignore[union-attr]


def test_nightly_backup_is_on_the_beat_schedule(transactional_db: Any) -> None:
    schedules_sync()
    task = PeriodicTask.objects.get(name="core: nightly backup")
    assert task.task == "core.backup_nightly" and task.enabled and task.crontab is not None


@pytest.mark.system
def test_the_nightly_task_runs_the_backup_on_a_real_worker(
    start_worker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path))  # the worker process' setting
    worker = start_worker()
    job_id = backup_nightly()  # what beat calls: it queues the job row; the worker writes the file
    assert job_id is not None
    assert wait_for(lambda: Job.objects.get(pk=job_id).status in ("succeeded", "failed"), timeout=120), worker.log()
    job = Job.objects.get(pk=job_id)
    assert job.status == "succeeded", job.error
    assert Path(job.result["path"]).exists() and job.result["rows"] > 0


def test_postgres_tools_missing_falls_back_to_a_logical_backup(
    transactional_db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connections["default"].vendor != "postgresql":
        pytest.skip("the pg_dump fallback applies to the PostgreSQL tier")
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump/pg_restore on PATH
    result = backup_create(output=tmp_path / "b.tar.gz")
    assert result.manifest.method == "logical"
    with pytest.raises(CommandError, match="pg_dump"):
        call_command("backup", "--method", "native", "--output", str(tmp_path / "c.tar.gz"))
