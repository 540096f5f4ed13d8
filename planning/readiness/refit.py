"""Refits and posterior updates: job handlers on ``core.jobs`` rows.

- ``refit_start(scope="all")``: statistics of every athlete in one SQL aggregate, ``fit_population_stats`` (or
  the literature priors while the population is small), posteriors written in chunks under a NEW version
  (progress on the job row), then one transaction retires the old version and activates the new one. A
  refit that fails or is killed never activates its version, so the previous version keeps serving; a re-run
  of the same job discards the half-written version and starts it again (idempotent).
- ``refit_start(scope="athlete")``: that athlete's statistics and posterior under the active version.
- One refit at a time: the run row holds a partial-unique slot; a second start raises ``RefitAlreadyRunning``.
- ``model_output_apply_session``: the one-session update (statistics + O(p³) posterior), idempotent per
  session and version.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.errors import ConflictError, NotFoundError
from core.jobs import JobContext, job_enqueue, job_handler
from core.models import Job, User
from planning.readiness import engine, selectors
from planning.readiness.model import (
    AthleteStats,
    add_session,
    fit_population_stats,
    phase_for,
    posterior,
)
from planning.readiness.models import ModelOutput, PopulationModel, RefitRun, TrainingSession
from planning.readiness.priors import FEATURES, literature_parameters
from planning.readiness.services import UPDATE_JOB

logger = logging.getLogger(__name__)
REFIT_JOB = "readiness.refit"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RefitAlreadyRunning(ConflictError):
    pass


def _phase(n: int) -> str:
    return phase_for(
        n, learning_at=settings.READINESS_LEARNING_SESSIONS, personalized_at=settings.READINESS_PERSONALIZED_SESSIONS
    )


def population_ensure() -> PopulationModel:
    """The active population version, creating version 1 from the literature priors when there is none."""
    active = PopulationModel.objects.filter(status=PopulationModel.Status.ACTIVE).first()
    if active is not None:
        return active
    mu, Sigma, sigma2 = literature_parameters()
    with transaction.atomic():
        version = (PopulationModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                created = PopulationModel.objects.create(
                    version=version,
                    status=PopulationModel.Status.ACTIVE,
                    source=PopulationModel.Source.LITERATURE,
                    features=list(FEATURES),
                    mu=mu.tolist(),
                    sigma=Sigma.tolist(),
                    sigma2=sigma2,
                    stats_cutoff=EPOCH,
                    activated_at=timezone.now(),
                )
            engine.invalidate()  # this process at once (the caller reads it next), others after commit
            transaction.on_commit(engine.invalidate)
            return created
        except IntegrityError:  # another process created it first
            return PopulationModel.objects.get(status=PopulationModel.Status.ACTIVE)


def _heal_stale_slot() -> None:
    """Free the slot of a run whose job ended without finishing it (the sweeper gave up on a dead worker)."""
    for run in RefitRun.objects.filter(current=True).select_related("job"):
        job = run.job
        if job is None or job.status in (Job.Status.FAILED, Job.Status.CANCELLED, Job.Status.SUCCEEDED):
            _fail_run(run.pk, job.error if job else "job row missing")


def refit_start(
    *,
    scope: str = RefitRun.Scope.ALL,
    athlete_id: int | None = None,
    actor: User | None = None,
    reason: str = "",
    trigger: str = "manual",
) -> RefitRun:
    """Queue a refit as a job row; raise ``RefitAlreadyRunning`` (409) while another refit holds the slot."""
    if scope == RefitRun.Scope.ATHLETE and not User.objects.filter(pk=athlete_id).exists():
        raise NotFoundError("athlete_not_found", f"Athlete {athlete_id} was not found.")
    _heal_stale_slot()
    try:
        with transaction.atomic():
            run = RefitRun.objects.create(
                scope=scope,
                athlete_id=athlete_id if scope == RefitRun.Scope.ATHLETE else None,
                trigger=trigger,
                reason=reason,
                created_by=actor,
            )
            run.job = job_enqueue(kind=REFIT_JOB, params={"run_id": run.pk}, created_by=actor)
            run.save(update_fields=["job"])
    except IntegrityError as exc:
        other = RefitRun.objects.filter(current=True).first()
        raise RefitAlreadyRunning(
            "refit_running",
            f"A readiness refit is already running (run {other.pk if other else '?'}); try again when it finishes.",
        ) from exc
    return run


def _fail_run(run_id: int, error: str) -> None:
    with transaction.atomic():
        run = RefitRun.objects.select_for_update().get(pk=run_id)
        if run.version is not None:
            PopulationModel.objects.filter(version=run.version, status=PopulationModel.Status.BUILDING).update(
                status=PopulationModel.Status.FAILED
            )
        run.status, run.current, run.error, run.finished_at = (
            RefitRun.Status.FAILED,
            False,
            error[:4000],
            timezone.now(),
        )
        run.save(update_fields=["status", "current", "error", "finished_at"])


def _output_rows(
    stats: AthleteStats,
    version: int,
    mu: np.ndarray,
    Sigma: np.ndarray,
    sigma2: float,
    start: int,
    stop: int,
    now: datetime,
) -> list[ModelOutput]:
    Sinv = np.linalg.inv(Sigma)
    xtx, xty = stats.xtx[start:stop], stats.xty[start:stop]
    V = np.linalg.inv(xtx / sigma2 + Sinv)
    m = np.einsum("jab,jb->ja", V, xty / sigma2 + Sinv @ mu)
    rows = []
    for k, j in enumerate(range(start, stop)):
        n = int(stats.n[j])
        rows.append(
            ModelOutput(
                user_id=stats.groups[j],
                model_version=version,
                phase=_phase(n),
                coefficients=dict(zip(FEATURES, m[k].tolist(), strict=True)),
                posterior_cov=V[k].tolist(),
                xtx=xtx[k].tolist(),
                xty=xty[k].tolist(),
                yty=float(stats.yty[j]),
                sessions_included=n,
                last_trained_at=now,
            )
        )
    return rows


def _refit_all(run: RefitRun, ctx: JobContext) -> dict[str, Any]:
    population_ensure()
    cutoff = timezone.now()
    stats = selectors.athlete_stats(cutoff=cutoff)
    qualified = int((stats.n >= settings.READINESS_LEARNING_SESSIONS).sum())
    ctx.progress(0, len(stats.groups))
    if qualified >= settings.READINESS_MIN_POPULATION_ATHLETES:
        previous = selectors.active_population()
        init = (previous.mu, previous.Sigma, previous.sigma2) if previous and previous.source == "fitted" else None
        fit = fit_population_stats(stats, init=init, max_iter=settings.READINESS_EM_MAX_CYCLES)
        mu, Sigma, sigma2 = fit.mu, fit.Sigma, fit.sigma2
        source, loglik, iterations, converged = PopulationModel.Source.FITTED, fit.loglik, fit.iterations, fit.converged
    else:
        mu, Sigma, sigma2 = literature_parameters()
        source, loglik, iterations, converged = PopulationModel.Source.LITERATURE, None, 0, True
    with transaction.atomic():
        if run.version is not None:  # a re-run after a dead worker: start this version again
            ModelOutput.objects.filter(model_version=run.version).delete()
            PopulationModel.objects.filter(version=run.version, status=PopulationModel.Status.BUILDING).delete()
        version = (PopulationModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        PopulationModel.objects.create(
            version=version,
            status=PopulationModel.Status.BUILDING,
            source=source,
            features=list(FEATURES),
            mu=mu.tolist(),
            sigma=Sigma.tolist(),
            sigma2=sigma2,
            loglik=loglik,
            iterations=iterations,
            converged=converged,
            athletes=len(stats.groups),
            sessions=int(stats.n.sum()),
            stats_cutoff=cutoff,
        )
        RefitRun.objects.filter(pk=run.pk).update(version=version, athletes_total=len(stats.groups))
    chunk = settings.READINESS_REFIT_CHUNK_ATHLETES
    total = len(stats.groups)
    now = timezone.now()
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        ModelOutput.objects.bulk_create(
            _output_rows(stats, version, mu, Sigma, sigma2, start, stop, now), batch_size=1000
        )
        RefitRun.objects.filter(pk=run.pk).update(athletes_done=stop)
        ctx.progress(stop, total)
    with transaction.atomic():
        PopulationModel.objects.filter(status=PopulationModel.Status.ACTIVE).update(
            status=PopulationModel.Status.RETIRED
        )
        PopulationModel.objects.filter(version=version).update(
            status=PopulationModel.Status.ACTIVE, activated_at=timezone.now()
        )
        # keep the previous version's outputs (for comparison), drop older ones
        keep = list(
            PopulationModel.objects.filter(version__lte=version)
            .order_by("-version")
            .values_list("version", flat=True)[:2]
        )
        ModelOutput.objects.exclude(model_version__in=keep).delete()
    engine.invalidate()
    caught_up = 0
    for session_id in TrainingSession.objects.filter(in_model=True, completed_at__gt=cutoff).values_list(
        "pk", flat=True
    ):
        caught_up += int(model_output_apply_session(session_id=session_id))
    return {
        "version": version,
        "source": source,
        "athletes": total,
        "sessions": int(stats.n.sum()),
        "loglik": loglik,
        "iterations": iterations,
        "converged": converged,
        "caught_up": caught_up,
    }


def athlete_output_recompute(*, athlete_id: int) -> ModelOutput | None:
    """Recompute one athlete's statistics and posterior under the active version (upsert)."""
    active = population_ensure()
    pop = selectors.population_view(active)
    stats = selectors.athlete_stats(athlete_ids=[athlete_id])
    with transaction.atomic():
        ModelOutput.objects.filter(user_id=athlete_id, model_version=active.version).delete()
        if not stats.groups:
            return None
        row = _output_rows(stats, active.version, pop.mu, pop.Sigma, pop.sigma2, 0, 1, timezone.now())[0]
        row.save()
        TrainingSession.objects.filter(athlete_id=athlete_id, in_model=True).update(model_stats_version=active.version)
    engine.invalidate(athlete_id=athlete_id)
    return row


@job_handler(REFIT_JOB)
def _refit_job(job: Job, ctx: JobContext) -> dict[str, Any]:
    run = RefitRun.objects.get(pk=job.params["run_id"])
    if not run.current:
        return {"skipped": "run already finished"}
    RefitRun.objects.filter(pk=run.pk).update(status=RefitRun.Status.RUNNING)
    try:
        if run.scope == RefitRun.Scope.ALL:
            result = _refit_all(run, ctx)
        else:
            assert run.athlete_id is not None
            output = athlete_output_recompute(athlete_id=run.athlete_id)
            ctx.progress(1, 1)
            result = {"athlete": run.athlete_id, "sessions": output.sessions_included if output else 0}
    except Exception as exc:
        _fail_run(run.pk, f"{type(exc).__name__}: {exc}")
        raise
    RefitRun.objects.filter(pk=run.pk).update(
        status=RefitRun.Status.SUCCEEDED,
        current=False,
        finished_at=timezone.now(),
        athletes_done=result.get("athletes", 1),
    )
    return result


def model_output_apply_session(*, session_id: int) -> bool:
    """Add one completed session to its athlete's statistics and recompute the posterior under the active
    version (O(p³)). Idempotent: a session already counted in this version (by the refit's cutoff or an
    earlier update) changes nothing. Returns whether it changed the output."""
    active = population_ensure()
    pop = selectors.population_view(active)
    with transaction.atomic():
        session = TrainingSession.objects.select_for_update().filter(pk=session_id, in_model=True).first()
        if session is None or session.model_stats_version == active.version:
            return False
        if (
            active.source == PopulationModel.Source.FITTED
            and session.completed_at
            and session.completed_at <= active.stats_cutoff
        ):
            return False
        row = (
            ModelOutput.objects.select_for_update()
            .filter(user_id=session.athlete_id, model_version=active.version)
            .first()
        )
        p = len(FEATURES)
        if row is None:
            row = ModelOutput(
                user_id=session.athlete_id,
                model_version=active.version,
                xtx=np.zeros((p, p)).tolist(),
                xty=np.zeros(p).tolist(),
                yty=0.0,
                sessions_included=0,
            )
        x = np.array([1.0, *(getattr(session, c) for c in selectors.FEATURE_COLUMNS)])
        xtx, xty, yty, n = add_session(
            np.asarray(row.xtx),
            np.asarray(row.xty),
            row.yty,
            row.sessions_included,
            x,
            float(session.session_quality or 0),
        )
        beta, V = posterior(xtx, xty, pop.mu, pop.Sigma, pop.sigma2)
        row.xtx, row.xty, row.yty, row.sessions_included = xtx.tolist(), xty.tolist(), yty, n
        row.coefficients = dict(zip(FEATURES, beta.tolist(), strict=True))
        row.posterior_cov, row.phase, row.last_trained_at = V.tolist(), _phase(n), timezone.now()
        row.save()
        session.model_stats_version = active.version
        session.save(update_fields=["model_stats_version"])
    engine.invalidate(athlete_id=session.athlete_id)
    return True


@job_handler(UPDATE_JOB)
def _update_job(job: Job, ctx: JobContext) -> dict[str, Any]:
    changed = model_output_apply_session(session_id=int(job.params["session_id"]))
    return {"changed": changed}


def nightly_refit() -> RefitRun | None:
    """The beat entry's work: start a full refit unless one is running (then log and skip)."""
    try:
        return refit_start(scope=RefitRun.Scope.ALL, reason="nightly", trigger="beat")
    except RefitAlreadyRunning as exc:
        logger.warning("nightly readiness refit skipped: %s", exc.message)
        return None
