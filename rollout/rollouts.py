"""Staged rollouts: start, advance (gated), set-phase, rollback (never gated), pause/resume.

Each call locks the rollout row, so concurrent requests serialise; ``expected_stage`` lets a caller say which
stage it saw, and a request based on a stale view answers 409 instead of moving the rollout twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import ConflictError, NotFoundError, ServiceError
from core.models import User
from rollout.gates import GateContext, GateResult, run_gates
from rollout.models import Flag, FlagHistory, Rollout, RolloutTransition
from rollout.monitoring.models import AlertRule
from rollout.registry import rescore_hook
from rollout.services import apply_stage_state, flag_kill
from rollout.stages import PlanError, build_plan


class GateFailed(ServiceError):
    status = 409

    def __init__(self, results: list[GateResult], transition: RolloutTransition) -> None:
        failed = [r for r in results if not r.passed]
        message = "Gates failed: " + "; ".join(f"{r.name}: {r.detail}" for r in failed)
        super().__init__("gate_failed", message, details={"gates": [r.as_dict() for r in results]})
        self.transition = transition


@dataclass(frozen=True)
class TransitionOutcome:
    rollout: Rollout
    transition: RolloutTransition


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("reason_required", "A reason is required for every rollout transition.")
    return reason


def _open_rollout_for_update(flag_name: str, *, include_completed: bool = False) -> Rollout:
    statuses = [Rollout.Status.ACTIVE, Rollout.Status.PAUSED]
    if include_completed:
        statuses.append(Rollout.Status.COMPLETED)
    rollout = (
        Rollout.objects.select_for_update()
        .select_related("flag")
        .filter(flag__name=flag_name, status__in=statuses)
        .order_by("-created_at", "-id")
        .first()
    )
    if rollout is None:
        if not Flag.objects.filter(name=flag_name).exists():
            raise NotFoundError("flag_not_found", f"No flag named {flag_name!r}.")
        raise NotFoundError("rollout_not_found", f"Flag {flag_name!r} has no open rollout.")
    return rollout


def latest_rollout(flag_name: str) -> Rollout | None:
    return Rollout.objects.select_related("flag").filter(flag__name=flag_name).order_by("-created_at", "-id").first()


def _move(
    rollout: Rollout,
    *,
    to_index: int,
    kind: str,
    actor: User | None,
    source: str,
    reason: str,
    gate_results: list[GateResult] | None = None,
    started: float,
    kill: bool = False,
    details: dict[str, Any] | None = None,
) -> TransitionOutcome:
    from_stage = rollout.current_stage_name if kind != RolloutTransition.Kind.START else ""
    stage = rollout.plan[to_index]
    history_reason = f"rollout {kind} → {stage['name']}: {reason}"
    history_source = FlagHistory.Source.GUARD if source == "guard" else FlagHistory.Source.ROLLOUT
    state = stage["state"]
    apply_stage_state(
        flag=rollout.flag,
        admin=state["admin"],
        beta=state["beta"],
        percent=state["percent"],
        actor=actor,
        source=history_source,
        reason=history_reason,
    )
    if kill:
        flag_kill(flag=rollout.flag, actor=actor, source=history_source, reason=history_reason)
    rollout.current_index = to_index
    rollout.stage_entered_at = timezone.now()
    if gate_results is not None:
        rollout.last_gate_results = [r.as_dict() for r in gate_results]
    if kind in (RolloutTransition.Kind.ROLLBACK, RolloutTransition.Kind.KILL) and rollout.status == "completed":
        rollout.status = Rollout.Status.ACTIVE
    rollout.save()
    transition = RolloutTransition.objects.create(
        rollout=rollout,
        kind=kind,
        from_stage=from_stage,
        to_stage=stage["name"],
        actor=actor,
        source=source,
        reason=reason,
        gate_results=[r.as_dict() for r in gate_results or []],
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        details=details or {},
    )
    return TransitionOutcome(rollout=rollout, transition=transition)


@transaction.atomic
def rollout_start(
    *,
    flag_name: str,
    actor: User | None,
    reason: str,
    plan: Any = None,
    guard_policy: str = Rollout.GuardPolicy.ROLLBACK,
    source: str = "api",
) -> TransitionOutcome:
    """Open a rollout for ``flag_name`` at the plan's first stage (which sets the flag to that stage)."""
    started = time.perf_counter()
    reason = _require_reason(reason)
    try:
        flag = Flag.objects.select_for_update().get(name=flag_name)
    except Flag.DoesNotExist as exc:
        raise NotFoundError("flag_not_found", f"No flag named {flag_name!r}.") from exc
    if guard_policy not in Rollout.GuardPolicy.values:
        raise ServiceError("invalid_policy", f"guard_policy must be one of {', '.join(Rollout.GuardPolicy.values)}.")
    try:
        stages = build_plan(plan)
    except PlanError as exc:
        raise ServiceError("invalid_plan", str(exc)) from exc
    if Rollout.objects.filter(flag=flag, status__in=[Rollout.Status.ACTIVE, Rollout.Status.PAUSED]).exists():
        raise ConflictError("rollout_exists", f"Flag {flag_name!r} already has an open rollout.")
    rollout = Rollout.objects.create(
        flag=flag, plan=stages, created_by=actor, guard_policy=guard_policy, stage_entered_at=timezone.now()
    )
    return _move(
        rollout,
        to_index=0,
        kind=RolloutTransition.Kind.START,
        actor=actor,
        source=source,
        reason=reason,
        started=started,
    )


def _check_expected(rollout: Rollout, expected_stage: str | None) -> None:
    if expected_stage is not None and expected_stage != rollout.current_stage_name:
        raise ConflictError(
            "stage_changed",
            f"The rollout is at {rollout.current_stage_name!r}, not {expected_stage!r}; reload and retry.",
            details={"current_stage": rollout.current_stage_name},
        )


def _apply_overrides(
    results: list[GateResult], override_gates: list[str], override_reason: str, actor: User | None
) -> tuple[list[GateResult], dict[str, Any]]:
    """A person passes named failing gates on purpose: each stays in the record as overridden, with who and why."""
    if not override_gates:
        return results, {}
    why = (override_reason or "").strip()
    if not why:
        raise ServiceError("override_reason_required", "Overriding a gate needs a reason (kept in the history).")
    unknown = sorted(set(override_gates) - {r.name for r in results})
    if unknown:
        raise ServiceError("unknown_gate", f"No gate named {', '.join(unknown)} ran for this move.")
    who = actor.username if actor else "system"
    overridden = [r.name for r in results if r.name in override_gates and not r.passed]
    patched = [
        GateResult(r.name, True, f"OVERRIDDEN by {who}: {why} (was: {r.detail})") if r.name in overridden else r
        for r in results
    ]
    return patched, {"overridden_gates": overridden, "override_reason": why, "overridden_by": who}


def _forward(
    rollout: Rollout,
    to_index: int,
    *,
    kind: str,
    actor: User | None,
    source: str,
    reason: str,
    started: float,
    override_gates: list[str] | None = None,
    override_reason: str = "",
) -> TransitionOutcome:
    if rollout.status == Rollout.Status.PAUSED:
        raise ConflictError("rollout_paused", "The rollout is paused; resume it before moving forward.")
    context = GateContext(
        rollout_id=rollout.pk,
        flag_name=rollout.flag.name,
        from_stage=rollout.current_stage_name,
        to_stage=rollout.plan[to_index]["name"],
        stage_entered_at=rollout.stage_entered_at,
        now=timezone.now(),
    )
    results, override_details = _apply_overrides(run_gates(context), override_gates or [], override_reason, actor)
    if not all(r.passed for r in results):
        rollout.last_gate_results = [r.as_dict() for r in results]
        rollout.save(update_fields=["last_gate_results"])
        transition = RolloutTransition.objects.create(
            rollout=rollout,
            kind=kind,
            from_stage=rollout.current_stage_name,
            to_stage=context.to_stage,
            actor=actor,
            source=source,
            reason=reason,
            gate_results=[r.as_dict() for r in results],
            blocked=True,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        raise GateFailed(results, transition)
    outcome = _move(
        rollout,
        to_index=to_index,
        kind=kind,
        actor=actor,
        source=source,
        reason=reason,
        gate_results=results,
        started=started,
        details=override_details,
    )
    if to_index == len(rollout.plan) - 1:
        rollout.status = Rollout.Status.COMPLETED
        rollout.save(update_fields=["status"])
    return outcome


def rollout_advance(
    *,
    flag_name: str,
    actor: User | None,
    reason: str,
    expected_stage: str | None = None,
    source: str = "api",
    override_gates: list[str] | None = None,
    override_reason: str = "",
) -> TransitionOutcome:
    """Move to the next stage if every gate passes (or a person overrides the named failing gates, with a
    reason); a blocked attempt is recorded and raises GateFailed."""
    started = time.perf_counter()
    reason = _require_reason(reason)
    blocked: GateFailed | None = None
    with transaction.atomic():
        rollout = _open_rollout_for_update(flag_name)
        _check_expected(rollout, expected_stage)
        if rollout.current_index >= len(rollout.plan) - 1:
            raise ConflictError(
                "at_last_stage", f"The rollout is already at its last stage {rollout.current_stage_name!r}."
            )
        try:
            return _forward(
                rollout,
                rollout.current_index + 1,
                kind=RolloutTransition.Kind.ADVANCE,
                actor=actor,
                source=source,
                reason=reason,
                started=started,
                override_gates=override_gates,
                override_reason=override_reason,
            )
        except GateFailed as exc:
            blocked = exc  # leave the atomic block normally so the blocked transition row is kept
    raise blocked


def rollout_set_phase(
    *,
    flag_name: str,
    phase: str,
    actor: User | None,
    reason: str,
    expected_stage: str | None = None,
    source: str = "api",
    override_gates: list[str] | None = None,
    override_reason: str = "",
) -> TransitionOutcome:
    """Jump to ``phase``: forward jumps run the gates (``override_gates`` as in ``rollout_advance``), backward
    jumps are rollbacks (no gates)."""
    started = time.perf_counter()
    reason = _require_reason(reason)
    blocked: GateFailed | None = None
    with transaction.atomic():
        rollout = _open_rollout_for_update(flag_name, include_completed=True)
        _check_expected(rollout, expected_stage)
        if phase not in rollout.stage_names:
            raise ServiceError(
                "unknown_phase", f"{phase!r} is not a stage of this rollout: {', '.join(rollout.stage_names)}."
            )
        to_index = rollout.stage_names.index(phase)
        if to_index == rollout.current_index:
            raise ConflictError("already_there", f"The rollout is already at {phase!r}.")
        if to_index < rollout.current_index:
            return _move(
                rollout,
                to_index=to_index,
                kind=RolloutTransition.Kind.ROLLBACK,
                actor=actor,
                source=source,
                reason=reason,
                started=started,
            )
        try:
            return _forward(
                rollout,
                to_index,
                kind=RolloutTransition.Kind.SET_PHASE,
                actor=actor,
                source=source,
                reason=reason,
                started=started,
                override_gates=override_gates,
                override_reason=override_reason,
            )
        except GateFailed as exc:
            blocked = exc
    raise blocked


@transaction.atomic
def rollout_rollback(
    *,
    flag_name: str,
    actor: User | None,
    reason: str,
    to: str | None = None,
    everything: bool = False,
    source: str = "api",
    details: dict[str, Any] | None = None,
) -> TransitionOutcome:
    """One stage back, back to ``to``, or everything off (``everything``: first stage and the flag killed).
    Never runs gates; works on a paused rollout too."""
    started = time.perf_counter()
    reason = _require_reason(reason)
    rollout = _open_rollout_for_update(flag_name, include_completed=True)
    if everything:
        return _move(
            rollout,
            to_index=0,
            kind=RolloutTransition.Kind.KILL,
            actor=actor,
            source=source,
            reason=reason,
            started=started,
            kill=True,
            details=details,
        )
    if to is not None:
        if to not in rollout.stage_names:
            raise ServiceError(
                "unknown_phase", f"{to!r} is not a stage of this rollout: {', '.join(rollout.stage_names)}."
            )
        to_index = rollout.stage_names.index(to)
        if to_index >= rollout.current_index:
            raise ServiceError(
                "not_a_rollback", f"{to!r} is not behind the current stage {rollout.current_stage_name!r}."
            )
    else:
        if rollout.current_index == 0:
            raise ConflictError(
                "at_first_stage", "The rollout is at its first stage; use --all to switch everything off."
            )
        to_index = rollout.current_index - 1
    return _move(
        rollout,
        to_index=to_index,
        kind=RolloutTransition.Kind.ROLLBACK,
        actor=actor,
        source=source,
        reason=reason,
        started=started,
        details=details,
    )


def _set_status(
    rollout: Rollout,
    status: str,
    kind: str,
    *,
    actor: User | None,
    source: str,
    reason: str,
    started: float,
    details: dict[str, Any] | None = None,
) -> TransitionOutcome:
    """A transition that changes the rollout's status but not its stage (pause, resume)."""
    rollout.status = status
    rollout.save(update_fields=["status"])
    transition = RolloutTransition.objects.create(
        rollout=rollout,
        kind=kind,
        from_stage=rollout.current_stage_name,
        to_stage=rollout.current_stage_name,
        actor=actor,
        source=source,
        reason=reason,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        details=details or {},
    )
    return TransitionOutcome(rollout=rollout, transition=transition)


@transaction.atomic
def rollout_pause(
    *, flag_name: str, actor: User | None, reason: str, source: str = "api", details: dict[str, Any] | None = None
) -> TransitionOutcome:
    """Stop forward moves (rollbacks still work); a guard with the pause policy calls this."""
    started = time.perf_counter()
    reason = _require_reason(reason)
    rollout = _open_rollout_for_update(flag_name, include_completed=True)
    if rollout.status == Rollout.Status.PAUSED:
        raise ConflictError("already_paused", "The rollout is already paused.")
    return _set_status(
        rollout,
        Rollout.Status.PAUSED,
        RolloutTransition.Kind.PAUSE,
        actor=actor,
        source=source,
        reason=reason,
        started=started,
        details=details,
    )


@transaction.atomic
def rollout_resume(*, flag_name: str, actor: User | None, reason: str, source: str = "api") -> TransitionOutcome:
    started = time.perf_counter()
    reason = _require_reason(reason)
    rollout = _open_rollout_for_update(flag_name)
    if rollout.status != Rollout.Status.PAUSED:
        raise ConflictError("not_paused", "The rollout is not paused.")
    # the person resuming takes the stage back: its cohorts replace any manual change (a kill stays)
    state = rollout.plan[rollout.current_index]["state"]
    apply_stage_state(
        flag=rollout.flag,
        admin=state["admin"],
        beta=state["beta"],
        percent=state["percent"],
        actor=actor,
        source=FlagHistory.Source.ROLLOUT,
        reason=f"rollout resume at {rollout.current_stage_name}: {reason}",
    )
    return _set_status(
        rollout,
        Rollout.Status.ACTIVE,
        RolloutTransition.Kind.RESUME,
        actor=actor,
        source=source,
        reason=reason,
        started=started,
    )


@transaction.atomic
def rollout_configure_guards(
    *,
    flag_name: str,
    actor: User | None,
    guard_rules: list[str] | None = None,
    guard_consecutive: int | None = None,
    min_dwell_minutes: int | None = None,
    guard_policy: str | None = None,
) -> Rollout:
    """Set which alert rules guard the open rollout, how many critical evaluations trigger the guard, the
    minimum dwell per stage and the policy (rollback | pause)."""
    rollout = _open_rollout_for_update(flag_name)
    if guard_rules is not None:
        rules = list(AlertRule.objects.filter(name__in=guard_rules))
        missing = sorted(set(guard_rules) - {r.name for r in rules})
        if missing:
            raise ServiceError("unknown_rule", f"No alert rule named: {', '.join(missing)}.")
        rollout.guard_rules.set(rules)
    if guard_consecutive is not None:
        if not 1 <= guard_consecutive <= 100:
            raise ServiceError("invalid_guard", "guard_consecutive must be from 1 to 100.")
        rollout.guard_consecutive = guard_consecutive
    if min_dwell_minutes is not None:
        if not 0 <= min_dwell_minutes <= 60 * 24 * 30:
            raise ServiceError("invalid_guard", "min_dwell_minutes must be from 0 to 43200.")
        rollout.min_dwell_minutes = min_dwell_minutes
    if guard_policy is not None:
        if guard_policy not in Rollout.GuardPolicy.values:
            raise ServiceError(
                "invalid_policy", f"guard_policy must be one of {', '.join(Rollout.GuardPolicy.values)}."
            )
        rollout.guard_policy = guard_policy
    rollout.save()
    return rollout


@dataclass(frozen=True)
class RescoreOffer:
    """What re-scoring after a rollback would do: ``count`` results computed under the rolled-back method."""

    flag: str
    available: bool
    count: int
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {"flag": self.flag, "available": self.available, "count": self.count, "description": self.description}


def rollout_rescore_offer(flag_name: str) -> RescoreOffer:
    """Whether results of ``flag_name``'s method need re-scoring now (none when no feature registered a hook)."""
    hook = rescore_hook(flag_name)
    if hook is None:
        return RescoreOffer(flag=flag_name, available=False, count=0, description="")
    count = len(hook.candidates())
    return RescoreOffer(flag=flag_name, available=count > 0, count=count, description=hook.description)


@dataclass(frozen=True)
class RescoreStarted:
    job_id: int
    count: int


@transaction.atomic
def rollout_rescore(*, flag_name: str, actor: User | None, reason: str, source: str = "api") -> RescoreStarted:
    """Queue the re-scoring of exactly the results computed under the rolled-back method (a person's choice,
    offered after a rollback), and note the job on the rollout's latest rollback in its history."""
    reason = _require_reason(reason)
    hook = rescore_hook(flag_name)
    if hook is None:
        raise ServiceError("rescore_unavailable", f"No feature re-scores results of {flag_name!r}.")
    rollout = latest_rollout(flag_name)
    if rollout is None:
        raise NotFoundError("rollout_not_found", f"Flag {flag_name!r} has no rollout.")
    ids = hook.candidates()
    if not ids:
        raise ConflictError(
            "nothing_to_rescore", f"No result of {flag_name!r} was computed under a rolled-back method."
        )
    job_id = hook.start(ids, actor, f"re-score after rollback of {flag_name}: {reason}")
    back = (
        rollout.transitions.select_for_update()
        .filter(kind__in=[RolloutTransition.Kind.ROLLBACK, RolloutTransition.Kind.KILL], blocked=False)
        .order_by("-created_at", "-id")
        .first()
    )
    if back is not None:
        back.details = {
            **back.details,
            "rescore": {
                "job_id": job_id,
                "count": len(ids),
                "actor": actor.username if actor else None,
                "source": source,
                "reason": reason,
                "at": timezone.now().isoformat(),
            },
        }
        back.save(update_fields=["details"])
    return RescoreStarted(job_id=job_id, count=len(ids))
