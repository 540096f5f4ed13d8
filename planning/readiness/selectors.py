"""Reads of the readiness app: the serving population model, per-athlete statistics (one SQL aggregate),
stored outputs, check-in means, recent history and load. Frozen dataclasses across app lines."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from django.db.models import Avg, Count, F, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast

from core.permissions import scope_to_user
from planning.readiness.model import AthleteStats, FloatArray
from planning.readiness.models import BaselineAssessment, CheckIn, ModelOutput, PopulationModel, TrainingSession
from planning.readiness.priors import FEATURES
from planning.readiness.recommend import LoadState
from training.selectors import training_load_series

FEATURE_COLUMNS: tuple[str, ...] = ("x_sleep", "x_energy", "x_stress", "x_soreness", "x_form")
CHECKIN_ITEMS: tuple[str, ...] = ("sleep_hours", "energy_level", "stress_level", "soreness")


@dataclass(frozen=True, eq=False)
class Population:
    version: int
    source: str
    mu: FloatArray
    Sigma: FloatArray
    sigma2: float
    features: tuple[str, ...]
    activated_at: datetime | None
    stats_cutoff: datetime


@dataclass(frozen=True, eq=False)
class StoredOutput:
    athlete_id: int
    version: int
    phase: str
    beta: FloatArray
    cov: FloatArray
    xtx: FloatArray
    xty: FloatArray
    yty: float
    sessions: int
    trained_at: datetime


def population_view(row: PopulationModel) -> Population:
    return Population(
        version=row.version,
        source=row.source,
        mu=np.asarray(row.mu, dtype=float),
        Sigma=np.asarray(row.sigma, dtype=float),
        sigma2=float(row.sigma2),
        features=tuple(row.features),
        activated_at=row.activated_at,
        stats_cutoff=row.stats_cutoff,
    )


def active_population() -> Population | None:
    row = PopulationModel.objects.filter(status=PopulationModel.Status.ACTIVE).first()
    return population_view(row) if row is not None else None


def output_view(row: ModelOutput) -> StoredOutput:
    return StoredOutput(
        athlete_id=row.user_id,
        version=row.model_version,
        phase=row.phase,
        beta=np.array([row.coefficients[name] for name in FEATURES], dtype=float),
        cov=np.asarray(row.posterior_cov, dtype=float),
        xtx=np.asarray(row.xtx, dtype=float),
        xty=np.asarray(row.xty, dtype=float),
        yty=float(row.yty),
        sessions=row.sessions_included,
        trained_at=row.last_trained_at,
    )


def stored_output(athlete_id: int, version: int) -> StoredOutput | None:
    row = ModelOutput.objects.filter(user_id=athlete_id, model_version=version).first()
    return output_view(row) if row is not None else None


def _stat_annotations() -> dict[str, Any]:
    cols = ("one", *FEATURE_COLUMNS)
    ann: dict[str, Any] = {"n": Count("id")}
    for a, col_a in enumerate(cols):
        for b in range(a, len(cols)):
            if a == 0 and b == 0:
                continue
            col_b = cols[b]
            expr = F(col_b) if a == 0 else F(col_a) * F(col_b)
            ann[f"s_{a}_{b}"] = Sum(expr, output_field=FloatField())
        ann[f"y_{a}"] = Sum(
            Cast("session_quality", FloatField()) * (F(col_a) if a else Value(1.0)), output_field=FloatField()
        )
    ann["yy"] = Sum(Cast("session_quality", FloatField()) * Cast("session_quality", FloatField()))
    return ann


def athlete_stats(*, cutoff: datetime | None = None, athlete_ids: list[int] | None = None) -> AthleteStats:
    """``XᵀX``, ``Xᵀy``, ``yᵀy``, ``n`` per athlete over completed sessions with a quality, in one GROUP BY
    (completed up to ``cutoff`` when given); athletes in id order."""
    sessions = TrainingSession.objects.filter(in_model=True)
    if cutoff is not None:
        sessions = sessions.filter(Q(completed_at__lte=cutoff) | Q(completed_at__isnull=True))
    if athlete_ids is not None:
        sessions = sessions.filter(athlete_id__in=athlete_ids)
    rows = list(sessions.order_by().values("athlete_id").annotate(**_stat_annotations()).order_by("athlete_id"))
    p = len(FEATURES)
    J = len(rows)
    xtx = np.zeros((J, p, p))
    xty = np.zeros((J, p))
    yty = np.zeros(J)
    n = np.zeros(J)
    for j, row in enumerate(rows):
        n[j] = row["n"]
        xtx[j, 0, 0] = row["n"]
        for a in range(p):
            for b in range(a, p):
                if a or b:
                    xtx[j, a, b] = xtx[j, b, a] = row[f"s_{a}_{b}"] or 0.0
            xty[j, a] = row[f"y_{a}"] or 0.0
        yty[j] = row["yy"] or 0.0
    return AthleteStats(tuple(row["athlete_id"] for row in rows), xtx, xty, yty, n)


def checkin_means(athlete_id: int, *, before: CheckIn | None = None) -> dict[str, float | None]:
    """The athlete's running means of the check-in items (over check-ins before ``before`` when given)."""
    checkins = CheckIn.objects.filter(athlete_id=athlete_id)
    if before is not None:
        checkins = checkins.filter(Q(date__lt=before.date) | Q(date=before.date, id__lt=before.pk))
    return checkins.aggregate(**{item: Avg(item) for item in CHECKIN_ITEMS})


def load_state(athlete_id: int, day: date) -> LoadState:
    """ACWR, TSB, CTL and ATL of the athlete on ``day`` from the training-load engine (NaN without history)."""
    series = training_load_series(athlete_id=athlete_id, date_from=day, date_to=day)
    return LoadState(
        acwr=float(series.acwr[0]), tsb=float(series.tsb[0]), ctl=float(series.ctl[0]), atl=float(series.atl[0])
    )


def form_feature(athlete_id: int, day: date) -> float:
    """TSB on ``day`` / 10 (0 when unknown)."""
    tsb = load_state(athlete_id, day).tsb
    return 0.0 if math.isnan(tsb) else tsb / 10.0


@dataclass(frozen=True)
class History:
    """Completed sessions with a quality and a check-in, oldest first (for the statistical context)."""

    quality: tuple[float, ...]
    sleep: tuple[float, ...]
    energy: tuple[float, ...]


def recent_history(athlete_id: int, *, limit: int = 200) -> History:
    rows = list(
        TrainingSession.objects.filter(athlete_id=athlete_id, in_model=True, checkin__isnull=False)
        .order_by("-date", "-id")
        .values_list("session_quality", "checkin__sleep_hours", "checkin__energy_level")[:limit]
    )
    rows.reverse()
    return History(
        quality=tuple(float(r[0]) for r in rows),
        sleep=tuple(float(r[1]) for r in rows),
        energy=tuple(float(r[2]) for r in rows),
    )


def sessions_visible(user: Any) -> QuerySet[TrainingSession]:
    return scope_to_user(TrainingSession.objects.all(), user)


def checkins_visible(user: Any) -> QuerySet[CheckIn]:
    return scope_to_user(CheckIn.objects.all(), user)


def baselines_visible(user: Any) -> QuerySet[BaselineAssessment]:
    return scope_to_user(BaselineAssessment.objects.all(), user, field="user")


@dataclass(frozen=True)
class ChartPoint:
    day: date
    predicted: float | None
    reported: float | None
    sleep: float | None
    energy: float | None
    stress: float | None


def athlete_chart_points(athlete_id: int, *, limit: int = 60) -> list[ChartPoint]:
    """The last ``limit`` sessions: predicted vs reported quality and the check-in items, oldest first."""
    rows = list(
        TrainingSession.objects.filter(athlete_id=athlete_id)
        .order_by("-date", "-id")
        .values_list(
            "date",
            "predicted_quality",
            "session_quality",
            "checkin__sleep_hours",
            "checkin__energy_level",
            "checkin__stress_level",
        )[:limit]
    )
    rows.reverse()
    return [ChartPoint(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
