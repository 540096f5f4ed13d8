"""Guarded rollouts (rollout policy; monitoring only supplies the alerts): health gates for advancing, and
the automatic reaction to a held critical breach.

A rollout names guard rules. Moving forward needs: no unresolved critical alert on them, enough samples
while the flag was exposed, and the minimum dwell time at the current stage. A critical breach held for
``guard_consecutive`` evaluations rolls the rollout back one stage (or pauses it, per ``guard_policy``),
records an incident linked to the alert and the transition, and notifies the rule's channels.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction

from core.errors import ServiceError
from rollout.gates import GateContext, GateResult, register_gate
from rollout.models import Incident, Rollout
from rollout.monitoring.evaluation import register_after_evaluation
from rollout.monitoring.models import Alert, RuleState
from rollout.monitoring.notifications import notify
from rollout.rollouts import rollout_pause, rollout_rollback

logger = logging.getLogger(__name__)


def _guard_gate(context: GateContext) -> list[GateResult]:
    rollout = Rollout.objects.prefetch_related("guard_rules").get(pk=context.rollout_id)
    results: list[GateResult] = []
    if rollout.min_dwell_minutes:
        dwelt = context.now - context.stage_entered_at
        needed = timedelta(minutes=rollout.min_dwell_minutes)
        results.append(
            GateResult(
                "guard.min_dwell",
                dwelt >= needed,
                f"{dwelt.total_seconds() / 60:.1f} of {rollout.min_dwell_minutes} min at {context.from_stage}",
            )
        )
    rules = list(rollout.guard_rules.all())
    if not rules:
        return results
    critical = list(
        Alert.objects.filter(rule__in=rules, status__in=["open", "acknowledged"], severity="critical").select_related(
            "rule"
        )
    )
    results.append(
        GateResult(
            "guard.no_critical_alert",
            not critical,
            "; ".join(f"{a.rule.name} [{a.tags_key}] = {a.value:.4g}" for a in critical) or "no critical alert",
        )
    )
    current = next(s for s in rollout.plan if s["name"] == context.from_stage)["state"]
    exposed = current["admin"] or current["beta"] or current["percent"] > 0
    if exposed:
        for rule in rules:
            samples = max(RuleState.objects.filter(rule=rule).values_list("samples", flat=True), default=0)
            results.append(
                GateResult(
                    f"guard.min_samples.{rule.name}",
                    samples >= rule.min_samples,
                    f"{samples} samples in the last window (need {rule.min_samples})",
                )
            )
    return results


register_gate("guards", _guard_gate, order=20)


def guards_check(*, now: datetime) -> list[Incident]:
    """React to critical breaches held for ``guard_consecutive`` evaluations on active or completed guarded
    rollouts (a paused one is already stopped)."""
    incidents: list[Incident] = []
    # COMPLETED rollouts sit at their last stage (e.g. "monitoring"): the guards keep watching them
    watched = [Rollout.Status.ACTIVE, Rollout.Status.COMPLETED]
    rollouts = Rollout.objects.filter(status__in=watched, guard_rules__isnull=False).distinct()
    for rollout in rollouts.select_related("flag").prefetch_related("guard_rules"):
        rules = list(rollout.guard_rules.all())
        held = RuleState.objects.filter(rule__in=rules, consecutive_critical__gte=rollout.guard_consecutive)
        for state in held.select_related("rule"):
            alert = Alert.objects.filter(
                rule=state.rule, tags_key=state.tags_key, status__in=["open", "acknowledged"], severity="critical"
            ).first()
            if alert is None or Incident.objects.filter(rollout=rollout, alert=alert).exists():
                continue
            incident = _react(rollout, alert, state)
            if incident is not None:
                incidents.append(incident)
                break  # one reaction per rollout per evaluation
    return incidents


@transaction.atomic
def _react(rollout: Rollout, alert: Alert, state: RuleState) -> Incident | None:
    tags = f" [{alert.tags_key}]" if alert.tags_key else ""
    reason = (
        f"guard: {alert.rule.name}{tags} critical ({alert.value:.4g} vs {alert.threshold:.4g}) for "
        f"{state.consecutive_critical} evaluations"
    )
    details = {"alert_id": alert.pk, "rule": alert.rule.name, "value": alert.value}
    flag = rollout.flag.name
    try:
        if rollout.guard_policy == Rollout.GuardPolicy.PAUSE:
            outcome = rollout_pause(flag_name=flag, actor=None, reason=reason, source="guard", details=details)
            action = "pause"
        else:
            outcome = rollout_rollback(flag_name=flag, actor=None, reason=reason, source="guard", details=details)
            action = "rollback"
    except ServiceError as exc:  # at the first stage already, or paused meanwhile: nothing to undo
        logger.warning("guard for %s could not act: %s", flag, exc.message)
        return None
    transition = outcome.transition
    incident = Incident.objects.create(
        rollout=rollout,
        alert=alert,
        transition=transition,
        action=action,
        summary=f"{action} {transition.from_stage} → {transition.to_stage}: {reason}",
    )
    notify(
        channels=list(alert.rule.channels.all()),
        subject=f"Rollout of {flag}: automatic {action} ({transition.from_stage} → {transition.to_stage})",
        body={"incident_id": incident.pk, "rollout": flag, "action": action, "reason": reason, "alert_id": alert.pk},
        alert=alert,
    )
    logger.error("guard %s rollout of %s: %s", action, flag, reason)
    return incident


def _after_evaluation(now: datetime) -> list[int]:
    return [incident.pk for incident in guards_check(now=now)]


# monitoring evaluates rules and knows nothing of rollouts; the guards hook in here, inside its lease
register_after_evaluation("rollout.guards", _after_evaluation)
