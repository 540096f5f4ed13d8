"""Deployment validation: the runbooks' pre- and post-deployment checks, each with pass/fail and detail."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from core.celery import app
from core.health import check_broker, check_cache, check_database, check_migrations
from core.models import Job
from core.schedules import registered_schedules
from core.schema import schema_status
from rollout.flags import build_snapshot
from rollout.gates import GateContext, GateResult, register_gate
from rollout.models import Flag
from rollout.registry import registered_flags

REQUIRED_TASKS: set[str] = {"core.run_job", "core.sweep_jobs", "rollout.evaluate_rules", "rollout.deliver_notification"}
VALIDATION_TYPES = ("pre_deployment", "post_deployment")


def require_task(name: str) -> None:
    """Apps declare the Celery tasks a deployment must have registered."""
    REQUIRED_TASKS.add(name)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _from_health(name: str, result: dict[str, Any]) -> Check:
    return Check(name=name, passed=bool(result["ok"]), detail=str(result["detail"]))


def _schema() -> Check:
    report = schema_status()
    broken = {
        table: entry
        for table, entry in report["tables"].items()
        if not entry["present"] or entry["missing_columns"] or entry["missing_indexes"]
    }
    if not broken:
        return Check("schema", True, f"{len(report['tables'])} tables as the models expect")
    parts = [
        f"{table}: "
        + ("missing" if not e["present"] else f"columns {e['missing_columns']} indexes {e['missing_indexes']}")
        for table, e in list(broken.items())[:5]
    ]
    return Check("schema", False, "; ".join(parts))


def _flags(flag_name: str | None) -> Check:
    wanted = {spec.name for spec in registered_flags()}
    if flag_name:
        wanted.add(flag_name)
    present = set(Flag.objects.filter(name__in=wanted).values_list("name", flat=True))
    missing = sorted(wanted - present)
    if missing:
        return Check("flags", False, f"missing flags: {', '.join(missing)}")
    return Check("flags", True, f"{len(present)} flags present")


def _tasks() -> Check:
    app.loader.import_default_modules()
    missing = sorted(REQUIRED_TASKS - set(app.tasks))
    if missing:
        return Check("tasks", False, f"tasks not registered: {', '.join(missing)}")
    return Check("tasks", True, f"{len(REQUIRED_TASKS)} required tasks registered")


def _schedules() -> Check:
    wanted = {spec.name for spec in registered_schedules()}
    present = dict(PeriodicTask.objects.filter(name__in=wanted).values_list("name", "enabled"))
    missing = sorted(wanted - set(present))
    disabled = sorted(name for name, enabled in present.items() if not enabled)
    if missing:
        return Check("schedules", False, f"missing schedules: {', '.join(missing)}")
    detail = f"{len(present)} schedules present" + (f"; disabled by ops: {', '.join(disabled)}" if disabled else "")
    return Check("schedules", True, detail)


def _stuck_jobs() -> Check:
    cutoff = timezone.now() - timedelta(seconds=2 * settings.JOB_QUEUED_RESEND_SECONDS)
    stuck = Job.objects.filter(status=Job.Status.QUEUED, enqueued_at__lt=cutoff).count()
    if stuck:
        return Check("jobs", False, f"{stuck} job(s) queued for more than {2 * settings.JOB_QUEUED_RESEND_SECONDS} s")
    return Check("jobs", True, "no job stuck in the queue")


def _flag_evaluation() -> Check:
    snapshot = build_snapshot("validation")
    absent = [name for name in Flag.objects.values_list("name", flat=True) if name not in snapshot.flags]
    if absent:
        return Check("flag_evaluation", False, f"flags not visible to evaluation: {', '.join(absent)}")
    return Check("flag_evaluation", True, f"{len(snapshot.flags)} flags compile for evaluation")


def run_validation(validation_type: str, *, flag_name: str | None = None) -> list[Check]:
    """Run the checks of ``validation_type`` (pre_deployment or post_deployment)."""
    if validation_type not in VALIDATION_TYPES:
        raise ValueError(f"validation_type must be one of {VALIDATION_TYPES}")
    checks = [
        _from_health("database", check_database()),
        _from_health("migrations", check_migrations()),
        _schema(),
        _flags(flag_name),
        _from_health("cache", check_cache()),
        _from_health("broker", check_broker()),
        _tasks(),
    ]
    if validation_type == "post_deployment":
        checks += [_schedules(), _stuck_jobs(), _flag_evaluation()]
    return checks


def _pre_deployment_gate(context: GateContext) -> list[GateResult]:
    """The pre-deployment checks as a gate (registered here so that gates.py depends on nothing)."""
    return [
        GateResult(name=f"pre_deployment.{check.name}", passed=check.passed, detail=check.detail)
        for check in run_validation("pre_deployment", flag_name=context.flag_name)
    ]


register_gate("pre_deployment", _pre_deployment_gate, order=10)
