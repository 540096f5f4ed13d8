"""Flag changes leave history; kill keeps targeting; export/import is all-or-nothing with a backup."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from core.errors import NotFoundError, ServiceError
from rollout.models import Flag, FlagHistory
from rollout.services import flag_toggle, flag_update, flags_export, flags_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def flag() -> Flag:
    Group.objects.get_or_create(name="beta")
    return Flag.objects.create(name="new_calc")


def test_kill_keeps_targeting_and_restore_brings_it_back(flag: Flag, make_user: Any) -> None:
    staff = make_user("staff", staff=True)
    flag_toggle(name="new_calc", user_type="admin", enabled=True, actor=staff, source="api", reason="admins")
    flag_toggle(name="new_calc", enabled=False, actor=staff, source="api", reason="incident")
    flag.refresh_from_db()
    assert flag.everyone is False and flag.staff and flag.superusers
    flag_toggle(name="new_calc", enabled=True, actor=staff, source="api", reason="fixed")
    flag.refresh_from_db()
    assert flag.everyone is None and flag.staff
    rows = list(FlagHistory.objects.filter(flag_name="new_calc").order_by("id"))
    assert [r.reason for r in rows] == ["admins", "incident", "fixed"]
    assert rows[1].before["everyone"] is None and rows[1].after["everyone"] is False
    assert rows[1].actor == staff and rows[1].source == "api"


def test_kill_of_an_everyone_flag_restores_everyone(flag: Flag) -> None:
    flag_update(name="new_calc", changes={"everyone": True}, actor=None, source="api", reason="launch")
    flag_toggle(name="new_calc", enabled=False, actor=None, source="api", reason="kill")
    flag_toggle(name="new_calc", enabled=True, actor=None, source="api", reason="back")
    flag.refresh_from_db()
    assert flag.everyone is True


def test_cohort_toggles(flag: Flag) -> None:
    flag_toggle(name="new_calc", user_type="beta", enabled=True, actor=None, source="api")
    flag_toggle(name="new_calc", user_type="regular", enabled=True, actor=None, source="api")
    flag.refresh_from_db()
    assert list(flag.groups.values_list("name", flat=True)) == ["beta"] and flag.percent == 100
    flag_toggle(name="new_calc", user_type="regular", enabled=False, actor=None, source="api")
    flag.refresh_from_db()
    assert flag.percent == 0


def test_a_no_op_writes_no_history(flag: Flag) -> None:
    _, first = flag_toggle(name="new_calc", user_type="admin", enabled=False, actor=None, source="api")
    assert first is None
    assert not FlagHistory.objects.filter(flag_name="new_calc").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"percent": 101}, "percent must be an integer from 0 to 100"),
        ({"percent": -1}, "percent must be"),
        ({"percent": True}, "percent must be"),
        ({"groups": ["nope"]}, "Unknown groups"),
        ({"users": [999999]}, "Unknown users"),
        ({"colour": "red"}, "Unknown flag fields"),
        ({"active_from": "yesterday"}, "ISO 8601"),
        ({"active_from": "2026-12-01T00:00:00"}, "time zone"),
        ({"active_from": "2026-12-02T00:00Z", "active_until": "2026-12-01T00:00Z"}, "before active_until"),
    ],
)
def test_bad_changes_are_refused_and_nothing_is_written(flag: Flag, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ServiceError, match=message):
        flag_update(name="new_calc", changes=changes, actor=None, source="api", reason="x")
    flag.refresh_from_db()
    assert flag.percent is None and flag.active_from is None
    assert not FlagHistory.objects.filter(flag_name="new_calc").exists()


def test_unknown_flag_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        flag_toggle(name="nope", enabled=False, actor=None, source="api")


def test_export_import_round_trip(flag: Flag, tmp_path: Path, make_user: Any) -> None:
    user = make_user()
    flag_update(name="new_calc", changes={"percent": 25, "users": [user.pk]}, actor=None, source="api", reason="x")
    path = tmp_path / "flags.json"
    count = flags_export(path=path)
    assert count == Flag.objects.count()
    flag_update(name="new_calc", changes={"percent": 80, "users": []}, actor=None, source="api", reason="drift")
    report = flags_import(path=path, actor=None)
    flag.refresh_from_db()
    assert flag.percent == 25 and list(flag.users.values_list("pk", flat=True)) == [user.pk]
    assert report["updated"] == ["new_calc"]
    backup = json.loads(Path(report["backup"]).read_text())
    assert next(f for f in backup["flags"] if f["name"] == "new_calc")["percent"] == 80
    assert FlagHistory.objects.filter(flag_name="new_calc", source="import").count() == 1


def test_import_is_all_or_nothing(flag: Flag, tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    flags_export(path=path)
    data = json.loads(path.read_text())
    data["flags"] = [e for e in data["flags"] if e["name"] != "new_calc"]
    data["flags"].insert(0, {"name": "brand_new", "percent": 10})
    data["flags"].append({"name": "new_calc", "percent": 500})
    path.write_text(json.dumps(data))
    with pytest.raises(ServiceError, match="new_calc"):
        flags_import(path=path, actor=None)
    assert not Flag.objects.filter(name="brand_new").exists()
    flag.refresh_from_db()
    assert flag.percent is None


def test_import_dry_run_changes_nothing(flag: Flag, tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    flags_export(path=path)
    data = json.loads(path.read_text())
    data["flags"].append({"name": "brand_new", "percent": 10})
    path.write_text(json.dumps(data))
    report = flags_import(path=path, actor=None, dry_run=True)
    assert report["created"] == ["brand_new"] and report["backup"] is None
    assert not Flag.objects.filter(name="brand_new").exists()
    assert list(tmp_path.iterdir()) == [path]


def test_import_rejects_a_file_that_is_not_an_export(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"flags": "nope"}')
    with pytest.raises(ServiceError, match="not a flags export"):
        flags_import(path=path, actor=None)
    path.write_text("{broken")
    with pytest.raises(ServiceError, match="not valid JSON"):
        flags_import(path=path, actor=None)


def test_flags_commands(flag: Flag, tmp_path: Path, demo_users: Any) -> None:
    out = StringIO()
    call_command("flags", "check", "settings_page_enabled", "--user", str(demo_users.regular.pk), stdout=out)
    assert "on (reason: everyone" in out.getvalue()
    path = tmp_path / "export.json"
    call_command("flags", "export", str(path), stdout=StringIO())
    out = StringIO()
    call_command("flags", "import", str(path), "--dry-run", stdout=out)
    assert "dry run" in out.getvalue()
    out = StringIO()
    call_command("flags", "list", stdout=out)
    assert "new_calc" in out.getvalue()
    with pytest.raises(CommandError, match="import_unreadable"):
        call_command("flags", "import", str(tmp_path / "missing.json"))
