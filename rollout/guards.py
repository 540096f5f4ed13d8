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
from typing import Any

from django.conf import settings
from django.db import transaction

from core.errors import ServiceError
from rollout.gates import GateContext, GateResult, register_gate
from rollout.models import Incident, Rollout
from rollout.monitoring.evaluation import register_after_evaluation
from rollout.monitoring.models import Alert, AlertRule, MetricMinute, RuleState
from rollout.monitoring.notifications import notify
from rollout.rollouts import rollout_pause, rollout_rollback

logger = logging.getLogger(__name__)


def stage_min_dwell(rollout: Rollout, stage: dict[str, Any]) -> int:
    """Minutes the rollout must stay at ``stage``: the stage's own ``min_dwell_minutes``, the rollout's, or the
    default for stages that expose users (``ROLLOUT_MIN_DWELL_MINUTES``) — the largest."""
    state = stage.get("state", {})
    exposes = bool(state.get("admin") or state.get("beta") or state.get("percent"))
    default = settings.ROLLOUT_MIN_DWELL_MINUTES if exposes else 0
    return max(int(stage.get("min_dwell_minutes", default)), rollout.min_dwell_minutes)


def exposed_samples(rule: AlertRule, *, flag: str, since: datetime, until: datetime) -> int:
    """Samples of the rule's metric (its denominator for a ratio) recorded under ``flag`` — tagged
    ``flag=<name>`` by the feature when the flag was on for the user — from ``since`` to ``until``."""
    ratio = rule.aggregation == AlertRule.Aggregation.RATIO
    metric = rule.denominator_metric if ratio and rule.denominator_metric else rule.metric
    tags = {**(rule.denominator_tags if ratio else rule.tags), "flag": flag}
    rows = MetricMinute.objects.filter(metric=metric, minute__gte=since, minute__lte=until).values_list("tags", "count")
    return int(sum(count for row_tags, count in rows if all(str(row_tags.get(k)) == str(v) for k, v in tags.items())))


def _samples_result(rule: AlertRule, context: GateContext) -> GateResult:
    since = max(context.stage_entered_at, context.now - timedelta(minutes=rule.window_minutes))
    have = exposed_samples(rule, flag=context.flag_name, since=since, until=context.now)
    name = f"guard.min_samples.{rule.name}"
    if have >= rule.min_samples:
        return GateResult(
            name, True, f"{have} calculations under the flag since {since:%H:%M} (need {rule.min_samples})"
        )
    recent = exposed_samples(rule, flag=context.flag_name, since=context.now - timedelta(hours=1), until=context.now)
    missing = rule.min_samples - have
    if recent:
        per_minute = recent / 60.0
        eta = context.now + timedelta(minutes=missing / per_minute)
        when = f"at the last hour's rate ({recent}/h) likely met around {eta:%H:%M} UTC"
        if missing / per_minute > rule.window_minutes:
            when += f", but the {rule.window_minutes}-min window may never hold {rule.min_samples} at that rate"
    else:
        when = "no exposed calculation in the last hour: widen the stage or override with a reason"
    return GateResult(
        name,
        False,
        f"{have} of {rule.min_samples} calculations under the flag by exposed users in the window; "
        f"{missing} missing; {when}",
    )


def _guard_gate(context: GateContext) -> list[GateResult]:
    rollout = Rollout.objects.prefetch_related("guard_rules").get(pk=context.rollout_id)
    results: list[GateResult] = []
    stage = next(s for s in rollout.plan if s["name"] == context.from_stage)
    needed_minutes = stage_min_dwell(rollout, stage)
    if needed_minutes:
        dwelt = context.now - context.stage_entered_at
        needed = timedelta(minutes=needed_minutes)
        detail = f"{dwelt.total_seconds() / 60:.1f} of {needed_minutes} min at {context.from_stage}"
        if dwelt < needed:
            detail += f"; may advance from {context.stage_entered_at + needed:%Y-%m-%d %H:%M} UTC"
        results.append(GateResult("guard.min_dwell", dwelt >= needed, detail))
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
    current = stage["state"]
    exposed = current["admin"] or current["beta"] or current["percent"] > 0
    if exposed:
        results.extend(_samples_result(rule, context) for rule in rules)
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
