"""Analysis of an experiment: per-variant sums in SQL, then ``rollout.stats``, then one verdict with its reason.

Per metric the database returns, for each variant, the number of exposed users with at least one event after
their first exposure (n), Σx and Σx² of their per-user mean — kept up to date incrementally by
``rollups.refreshed_sums`` (only the users with new events are read; ``metrics_sums`` is the from-scratch
computation). Everything after that is arithmetic on those numbers.

Verdict (first rule that applies):
1. ``invalid``: sample ratio mismatch, SRM p < 0.001 — assignment is broken, nothing else is trusted;
2. ``do_not_ship``: a guardrail or the primary metric is significantly worse in a treatment — acted on at
   once, whatever the sample, because harm does not need to wait;
3. ``keep_running``: fewer than ``min_days`` days, fewer than ``min_users_per_variant`` users in a variant,
   or the primary is not yet significant and below the sample its planned MDE needs;
4. ``ship``: the primary is significantly better in a treatment (and no guardrail is worse);
5. ``do_not_ship``: the planned sample was reached and the primary shows no significant improvement.
"Significant" uses the always-valid (sequential) interval when the experiment is ``sequential`` (the default:
the analysis runs every hour), else the fixed-horizon interval.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from core.jobs import JobContext, job_enqueue, job_handler
from core.models import Job
from rollout import stats
from rollout.experiments.models import Experiment, ExperimentMetric, ExperimentResult, Exposure
from rollout.experiments.registry import metric_source
from rollout.experiments.rollups import Sums, group_sums, refreshed_sums, source_groups

SRM_THRESHOLD = 0.001


def exposure_counts(experiment: Experiment) -> dict[str, int]:
    """variant → exposed users (every variant present, 0 when none)."""
    rows = Exposure.objects.filter(experiment=experiment).values("variant").order_by().annotate(count=Count("id"))
    counts = {name: 0 for name in experiment.variants.values_list("name", flat=True)}
    for row in rows:
        counts[row["variant"]] = row["count"]
    return counts


def metric_sums(experiment: Experiment, source_name: str, *, until: datetime | None = None) -> dict[str, Sums]:
    """variant → (n, Σx, Σx²) of the per-user mean of the source's events after each user's first exposure."""
    return metrics_sums(experiment, [source_name], until=until).get(source_name, {})


def metrics_sums(
    experiment: Experiment, source_names: list[str], *, until: datetime | None = None
) -> dict[str, dict[str, Sums]]:
    """source → variant → (n, Σx, Σx²), as ``metric_sums`` for each, in one query per group of sources that
    read the same rows (same queryset, user and time columns: e.g. feedback.rating and feedback.poor_rating).

    A group is one scan of its events and one join to the exposures, whatever the number of metrics in it:
    each metric is one more column, averaged per user (AVG skips the NULLs of rows without a value, as the
    single-source query drops them) and counted with COUNT(column), so n, Σx and Σx² are those of
    ``metric_sums`` run per source. Unregistered sources are absent from the result."""
    sources = [s for s in map(metric_source, dict.fromkeys(source_names)) if s is not None]
    result: dict[str, dict[str, Sums]] = {}
    for group in source_groups(sources):
        result.update(group_sums(experiment, group, until))
    return result


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _compare(metric: ExperimentMetric, control: Sums, treatment: Sums, experiment: Experiment) -> dict[str, Any]:
    kind = metric.kind
    var_c, var_t = control.variance(kind), treatment.variance(kind)
    args = (control.mean, var_c, control.n, treatment.mean, var_t, treatment.n)
    absolute = stats.welch_ttest(*args, alpha=metric.alpha)
    relative = stats.welch_ttest(*args, alpha=metric.alpha, relative=True)
    n_total = control.n + treatment.n
    d = stats.cohens_d(*args)
    sd_c = math.sqrt(var_c) if var_c and var_c > 0 else math.nan
    # The planned MDE is relative to the control mean; as a standardised effect it is mde·|mean|/sd.
    planned_d = metric.mde * abs(control.mean) / sd_c if math.isfinite(sd_c) and sd_c > 0 else math.nan
    power = stats.power_ttest(planned_d, control.n, treatment.n, alpha=metric.alpha) if planned_d > 0 else math.nan
    ratio = treatment.n / control.n if control.n else 1.0
    needed = (
        stats.sample_size(planned_d, alpha=metric.alpha, power=metric.power, ratio=ratio)
        if math.isfinite(planned_d) and planned_d > 0
        else None
    )
    # A fixed tuning (never the data seen so far) keeps the sequence always valid.
    tuning = float(experiment.sequential_tuning)
    seq_abs = stats.sequential_ci(absolute, n_total, alpha=metric.alpha, tuning=tuning)
    seq_rel = stats.sequential_ci(relative, n_total, alpha=metric.alpha, tuning=tuning)
    low, high = seq_abs if experiment.sequential else (absolute.ci_low, absolute.ci_high)
    significant = math.isfinite(low) and (low > 0 or high < 0)
    better = absolute.effect > 0 if metric.direction == ExperimentMetric.Direction.INCREASE else absolute.effect < 0
    return {
        "n_control": control.n,
        "n_treatment": treatment.n,
        "mean_control": _finite(control.mean),
        "mean_treatment": _finite(treatment.mean),
        "absolute": {k: _finite(v) for k, v in asdict(absolute).items()},
        "relative": {k: _finite(v) for k, v in asdict(relative).items()},
        "sequential_absolute_ci": [_finite(seq_abs[0]), _finite(seq_abs[1])],
        "sequential_relative_ci": [_finite(seq_rel[0]), _finite(seq_rel[1])],
        "p_value": _finite(absolute.p_value),
        "cohens_d": _finite(d),
        "planned_d": _finite(planned_d),
        "power_at_mde": _finite(power),
        "needed_per_variant": needed,
        "significant": significant,
        "outcome": ("better" if better else "worse") if significant else "inconclusive",
    }


def _verdict(
    experiment: Experiment, report: dict[str, Any], counts: dict[str, int], srm: float, days: float
) -> tuple[str, str]:
    V = ExperimentResult.Verdict
    if math.isfinite(srm) and srm < SRM_THRESHOLD:
        shares = ", ".join(f"{name} {count:,}" for name, count in counts.items())
        return (
            V.INVALID,
            f"Sample ratio mismatch (SRM p = {srm:.2g} < 0.001): exposures {shares} do not match the planned "
            "split; fix assignment before reading any metric.",
        )
    worse = [
        f"{m['source']} ({m['role']}) is significantly worse in {variant} ({_pct(c['relative']['effect'])})"
        for m in report["metrics"]
        if m["role"] in (ExperimentMetric.Role.GUARDRAIL, ExperimentMetric.Role.PRIMARY)
        for variant, c in m["comparisons"].items()
        if c["outcome"] == "worse"
    ]
    if worse:
        return V.DO_NOT_SHIP, "; ".join(worse) + "."
    primary = next(m for m in report["metrics"] if m["role"] == ExperimentMetric.Role.PRIMARY)
    smallest = min(counts.values()) if counts else 0
    if days < experiment.min_days:
        return V.KEEP_RUNNING, f"Running {days:.1f} of at least {experiment.min_days} days."
    if smallest < experiment.min_users_per_variant:
        return (
            V.KEEP_RUNNING,
            f"{smallest:,} users in the smallest variant; at least {experiment.min_users_per_variant:,} needed.",
        )
    winners = [variant for variant, c in primary["comparisons"].items() if c["outcome"] == "better"]
    if winners:
        best = max(winners, key=lambda v: abs(primary["comparisons"][v]["relative"]["effect"] or 0))
        c = primary["comparisons"][best]
        return (
            V.SHIP,
            f"{best} improves {primary['source']} by {_pct(c['relative']['effect'])} (p = {c['p_value']:.2g}), "
            f"guardrails healthy; ship {best}.",
        )
    short = [
        (variant, c)
        for variant, c in primary["comparisons"].items()
        if c["needed_per_variant"] is None or min(c["n_control"], c["n_treatment"]) < c["needed_per_variant"]
    ]
    if short:
        variant, c = short[0]
        power = c["power_at_mde"]
        need = c["needed_per_variant"]
        have = min(c["n_control"], c["n_treatment"])
        return V.KEEP_RUNNING, (
            f"Underpowered: {primary['source']} in {variant} has {have:,} users per arm"
            + (f", {need:,} needed for a {primary['mde']:.0%} effect" if need else "")
            + (f" (power now {power:.0%})." if power is not None else ".")
        )
    return (
        V.DO_NOT_SHIP,
        f"No significant improvement on {primary['source']} at the planned sample (MDE {primary['mde']:.0%}).",
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def experiment_analyse(
    *, key: str, now: datetime | None = None, job: Job | None = None, full: bool = False
) -> ExperimentResult:
    """Compute and store the full result of an experiment (an upsert on the job when one is given).

    The metric sums come from the incremental rollups (``rollups.refreshed_sums``: only the events since the
    last analysis are read); ``full`` rebuilds them from every event first."""
    started = time.perf_counter()
    now = now or timezone.now()
    experiment = Experiment.objects.prefetch_related("variants", "metrics").get(key=key)
    variants = list(experiment.variants.all())
    control = variants[0]
    counts = exposure_counts(experiment)
    srm = stats.srm_p_value([counts[v.name] for v in variants], [v.traffic_percentage for v in variants])
    until = experiment.stopped_at
    metrics = []
    refreshed = refreshed_sums(
        experiment, [metric.source for metric in experiment.metrics.all()], now=now, until=until, full=full
    )
    for metric in experiment.metrics.all():
        info = refreshed.get(metric.source)
        sums = info.sums if info else {}
        empty = Sums(0, 0.0, 0.0)
        comparisons = {
            v.name: _compare(metric, sums.get(control.name, empty), sums.get(v.name, empty), experiment)
            for v in variants[1:]
        }
        metrics.append(
            {
                "source": metric.source,
                "role": metric.role,
                "kind": metric.kind,
                "direction": metric.direction,
                "mde": metric.mde,
                "alpha": metric.alpha,
                "power": metric.power,
                "variants": {
                    v.name: {"n": sums.get(v.name, empty).n, "mean": _finite(sums.get(v.name, empty).mean)}
                    for v in variants
                },
                "comparisons": comparisons,
            }
        )
    end = experiment.stopped_at or now
    days = (end - experiment.started_at).total_seconds() / 86400 if experiment.started_at else 0.0
    report = {
        "control": control.name,
        "days": days,
        "metrics": metrics,
        "rollups": {name: info.as_dict() for name, info in refreshed.items()},
    }
    verdict, reason = _verdict(experiment, report, counts, srm, days)
    fields = {
        "experiment": experiment,
        "computed_at": now,
        "verdict": verdict,
        "reason": reason,
        "srm_p_value": _finite(srm),
        "exposures": counts,
        "data": report,
        "duration_ms": (time.perf_counter() - started) * 1000.0,
    }
    with transaction.atomic():
        if job is not None:
            result, _ = ExperimentResult.objects.update_or_create(job=job, defaults=fields)
        else:
            result = ExperimentResult.objects.create(**fields)
    return result


@job_handler("experiments.analyse")
def _analyse_job(job: Job, ctx: JobContext) -> dict[str, Any]:
    result = experiment_analyse(key=job.params["experiment"], job=job, full=bool(job.params.get("full", False)))
    ctx.progress(1, 1)
    return {"result_id": result.pk, "verdict": result.verdict}


def experiments_analyse_running() -> list[int]:
    """Queue one analysis job per running experiment (the beat entry); returns the job ids."""
    keys = Experiment.objects.filter(status=Experiment.Status.RUNNING).values_list("key", flat=True)
    return [job_enqueue(kind="experiments.analyse", params={"experiment": key}).pk for key in keys]
