"""Plan jobs: request one (row first, message after commit), and the ``planning.generate`` job handler.

The handler is idempotent: a completed plan job is never regenerated, and the result is written with a
conditional UPDATE on the one ``plan_jobs`` row — a re-sent or re-run job leaves exactly one result.
Plan jobs run in batches (``core.jobs.job_batch_handler``): one message claims up to ``JOB_BATCH_MAX`` queued
plan jobs, the library is checked once for them all, and their results are written in the transaction that
finishes their core jobs.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from core.errors import ConflictError, NotFoundError, ServiceError
from core.jobs import JobError, JobOutcome, job_batch_handler, job_enqueue
from core.models import Job, User
from core.permissions import can_access_athlete, is_staff_user
from planning.engine.contract import payload_failures
from planning.engine.generator import GenerationError, Library, MovementSpec, PlanRequest, generate_plan
from planning.engine.rules import plan_violations
from planning.engine.scoring import score_plan
from planning.models import PlanJob
from planning.monitoring import record_plan, record_scoring
from planning.ops import SCORING_FLAG
from planning.selectors import planning_library
from rollout.flags import evaluate

logger = logging.getLogger(__name__)

JOB_KIND = "planning.generate"
BATCH_MAX = 50  # per message, further capped by settings.JOB_BATCH_MAX

_override_logged = False


def _resolve_user(requester: User, user_ref: int | str) -> User:
    """The athlete a plan is for: the caller, one of a coach's athletes, or anyone for staff."""
    is_self = user_ref == requester.pk or user_ref == requester.username
    if is_self:
        return requester
    if not is_staff_user(requester) and requester.role != User.Role.COACH:
        raise ServiceError("permission_denied", "You may request plans only for yourself.", status=403)
    lookup = {"pk": user_ref} if isinstance(user_ref, int) else {"username": user_ref}
    user = User.objects.filter(**lookup).first()
    if user is None or not can_access_athlete(requester, user.pk):
        raise NotFoundError("user_not_found", f"User {user_ref!r} was not found.")
    return user


def plan_request_from(data: dict[str, Any]) -> PlanRequest:
    """The generator's request from a stored (camelCase) request."""
    start = data.get("startDate")
    return PlanRequest(
        weekly_goal_days=data["weeklyGoalDays"],
        availability_days=data["availabilityDays"],
        goals=tuple(data["goals"]),
        experience=data["experience"],
        duration_weeks=data.get("durationWeeks", 12),
        available_weekdays=tuple(data["availableWeekdays"]) if data.get("availableWeekdays") else None,
        equipment=tuple(data["equipment"]) if data.get("equipment") is not None else None,
        injuries=tuple(data.get("injuries") or ()),
        start_date=date.fromisoformat(start) if start else None,
        seed=data.get("seed", 0),
    )


def plan_job_request(
    *, requester: User, data: dict[str, Any], idempotency_key: str | None = None
) -> tuple[PlanJob, bool]:
    """Queue a plan for ``data`` (the validated body); return the job and whether it is new.

    The same ``idempotency_key`` from the same requester returns the first job (409 if the body differs).
    """
    user = _resolve_user(requester, data["userId"])
    request = {**data, "userId": user.pk}
    if request.get("startDate") is not None:
        request["startDate"] = (
            request["startDate"].isoformat() if isinstance(request["startDate"], date) else request["startDate"]
        )
    request.setdefault("durationWeeks", 12)
    request.setdefault("seed", 0)
    try:
        plan_request_from(request).validate()
    except GenerationError as exc:
        raise ServiceError("validation_error", f"The request is invalid: {exc}") from exc
    if idempotency_key:
        existing = PlanJob.objects.filter(requested_by=requester, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _same_or_conflict(existing, request), False
    plan_job = PlanJob(user=user, requested_by=requester, request=request, idempotency_key=idempotency_key or None)
    try:
        # Two INSERTs (the core job first, so the plan job is written with its link). The savepoint is only
        # needed to survive the idempotency key's unique violation inside a caller's transaction.
        with transaction.atomic(savepoint=bool(idempotency_key)):
            job = job_enqueue(kind=JOB_KIND, params={"plan_job_id": str(plan_job.job_id)}, created_by=requester)
            plan_job.core_job = job
            plan_job.save(force_insert=True)
    except IntegrityError:  # a concurrent retry with the same key won the race
        existing = PlanJob.objects.filter(requested_by=requester, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _same_or_conflict(existing, request), False
    return plan_job, True


def _same_or_conflict(existing: PlanJob, request: dict[str, Any]) -> PlanJob:
    if existing.request != request:
        raise ConflictError(
            "idempotency_key_reused", "This Idempotency-Key was used for a different request.", details=None
        )
    return existing


def _scoring_enabled(plan_job: PlanJob) -> bool:
    global _override_logged
    enabled, reason = evaluate(SCORING_FLAG, user_id=plan_job.user_id)
    if reason == "env_override" and not _override_logged:
        _override_logged = True
        logger.warning("Feature flag override from environment: FEATURE_V1_PLANNING_SCORING forces %s", enabled)
    logger.info(
        "feature.v1_planning_scoring=%s reason=%s user=%s job=%s", enabled, reason, plan_job.user_id, plan_job.job_id
    )
    return enabled


def _score(plan_job: PlanJob, plan: dict[str, Any], request: PlanRequest) -> dict[str, Any] | None:
    """The score, or None when scoring failed (counted as a scoring error; the plan ships without it)."""
    try:
        scoring = score_plan(
            plan,
            weekly_goal_days=request.weekly_goal_days,
            availability_days=request.availability_days,
            evaluated_at=timezone.now(),
        )
        failures = payload_failures(scoring)
        if failures:
            raise ValueError("; ".join(f"{path}: {message}" for path, message in failures))
    except Exception:
        # Consumers cope with an absent score (the contract), so the plan still ships; the error metric is what
        # the "Planning scoring errors" guard watches, and the log carries the trace.
        logger.exception("scorePlanCandidate failed for plan job %s", plan_job.job_id)
        record_scoring(ok=False)
        return None
    record_scoring(ok=True)
    logger.info("Applied fixed-weight scoring job=%s total=%s", plan_job.job_id, scoring["total"])
    return scoring


def _unfinished(plan_job_id: Any) -> Any:
    return PlanJob.objects.filter(pk=plan_job_id, status__in=[PlanJob.Status.QUEUED, PlanJob.Status.RUNNING])


def _failure(plan_job_id: str, message: str, started_at: datetime) -> JobOutcome:
    def write_failure() -> None:
        _unfinished(plan_job_id).update(
            status=PlanJob.Status.FAILED, error=message[:4000], started_at=started_at, finished_at=timezone.now()
        )

    return JobOutcome(error=message, write=write_failure)


def _plan_outcome(
    plan_job: PlanJob | None,
    plan_job_id: str,
    started_at: datetime | None,
    library: tuple[tuple[MovementSpec, ...], Library],
) -> JobOutcome:
    """Generate (and maybe score) one plan job; its write stores the result or the failure on the unfinished row.

    One write per run: a conditional UPDATE of the unfinished row, so a second run of the same job — a re-sent
    message, a re-queued job — can never write a second result.
    """
    if plan_job is None:
        return JobOutcome(error=f"plan job {plan_job_id} does not exist")
    if plan_job.status in (PlanJob.Status.COMPLETED, PlanJob.Status.FAILED):
        return JobOutcome(result={"plan_job_id": plan_job_id, "status": plan_job.status, "skipped": True})
    started_at = started_at or timezone.now()
    started = time.perf_counter()
    try:
        request = plan_request_from(plan_job.request)
        movements, index = library
        plan = generate_plan(request, index)
        violations = plan_violations(plan, request, movements)
        if violations:
            raise GenerationError("the generated plan breaks a rule: " + "; ".join(violations[:3]))
        scoring = _score(plan_job, plan, request) if _scoring_enabled(plan_job) else None
    except GenerationError as exc:
        return _failure(plan_job_id, str(exc), started_at)
    except OperationalError:
        raise  # the database, not the plan: the batch is re-queued
    except Exception as exc:  # a bug or a bad stored request: this job fails, the rest of its batch goes on
        logger.exception("plan job %s failed", plan_job_id)
        return _failure(plan_job_id, f"{type(exc).__name__}: {exc}", started_at)
    result: dict[str, Any] = {"plan": plan}
    if scoring is not None:
        result["scoring"] = scoring
    elapsed_ms = (time.perf_counter() - started) * 1000.0

    recorded: list[bool] = []  # a batch whose transaction failed writes again, one job at a time: count the plan once

    def write_result() -> dict[str, Any]:
        written = _unfinished(plan_job_id).update(
            status=PlanJob.Status.COMPLETED,
            result_data=result,
            score_total=scoring["total"] if scoring else None,
            generation_ms=elapsed_ms,
            error="",
            started_at=started_at,
            finished_at=timezone.now(),
        )
        if written and not recorded:
            recorded.append(True)
            record_plan(scored=scoring is not None, generation_ms=elapsed_ms)
        return {"written": bool(written)}

    return JobOutcome(result={"plan_job_id": plan_job_id, "status": PlanJob.Status.COMPLETED}, write=write_result)


def plan_job_run(*, plan_job_id: str, started_at: datetime | None = None) -> dict[str, Any]:
    """Generate (and maybe score) one plan job outside the job queue; a finished job is left as it is.

    The same code as a batch of one: the result (or the failure) lands with a conditional UPDATE of the
    unfinished row. Raises ``JobError`` when the job does not exist or its plan cannot be made.
    """
    plan_job = PlanJob.objects.filter(pk=plan_job_id).first()
    outcome = _plan_outcome(plan_job, plan_job_id, started_at, planning_library())
    with transaction.atomic():
        extra = outcome.write() if outcome.write is not None else None
    if outcome.error is not None:
        raise JobError(outcome.error)
    return {**(outcome.result or {}), **(extra or {})}


_PLAN_JOB_FIELDS = ("job_id", "user_id", "status", "request")


@job_batch_handler(JOB_KIND, max_batch=BATCH_MAX)
def _generate(jobs: list[Job]) -> list[JobOutcome]:
    """A batch of plan jobs: their rows in one query, the library checked once, then each plan on its own."""
    ids = [str(job.params.get("plan_job_id", "")) for job in jobs]
    plan_jobs = {
        str(row.pk): row for row in PlanJob.objects.filter(pk__in=[i for i in ids if i]).only(*_PLAN_JOB_FIELDS)
    }
    library = planning_library()
    return [
        _plan_outcome(plan_jobs.get(plan_job_id), plan_job_id, job.started_at, library)
        for job, plan_job_id in zip(jobs, ids, strict=True)
    ]
