"""The readiness engine: rules first, then the stored model, then recommendations and context.

Rules, population priors and athletes' stored outputs are cached in-process with the seed's TTLs
(``RULES_CACHE_TTL_SECONDS``, ``PRIORS_CACHE_TTL_SECONDS``, ``MODEL_CACHE_TTL_SECONDS``). A save invalidates
this process at once and bumps a shared token in the cache that other processes read at most once a second.
Each reload of rules/priors logs ``[ENGINE] Cache refreshed: X priors, Y rules`` (X = prior coefficients).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from planning.readiness import selectors
from planning.readiness.model import PHASE_COLD_START, phase_for, predict
from planning.readiness.models import Rule
from planning.readiness.ops import PERSONAL_MODEL_FLAG
from planning.readiness.priors import FEATURES, FORM_SCALE, PLAIN_WORDS, literature_parameters
from planning.readiness.recommend import (
    CheckInValues,
    LoadState,
    RuleSpec,
    fired_rules,
    model_recommendations,
    override_recommendations,
    rule_view,
    statistical_context,
)
from rollout.flags import is_feature_enabled

logger = logging.getLogger(__name__)
FLAG = PERSONAL_MODEL_FLAG
TOKEN_KEY = "readiness:engine:token"
TOKEN_CHECK_SECONDS = 1.0


@dataclass(frozen=True, eq=False)
class AthleteData:
    """What the engine reads about one athlete: stored output, running means, load on ``day`` and history."""

    version: int
    day: date
    output: selectors.StoredOutput | None
    means: dict[str, float | None]
    load: LoadState
    history: selectors.History


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    rules: list[RuleSpec] | None = None
    rules_at: float = 0.0
    population: selectors.Population | None = None
    priors_at: float = 0.0
    outputs: dict[int, tuple[float, AthleteData]] = field(default_factory=dict)
    token: Any = None
    token_checked: float = 0.0


_cache = _Cache()


def invalidate(*, athlete_id: int | None = None) -> None:
    """Drop this process' cached rules and priors (or one athlete's output) and tell other processes."""
    with _cache.lock:
        if athlete_id is None:
            _cache.rules = None
            _cache.population = None
            _cache.outputs.clear()
        else:
            _cache.outputs.pop(athlete_id, None)
    try:
        cache.set(TOKEN_KEY, time.time_ns(), None)
    except Exception:  # a dead cache only delays other processes until their TTL
        logger.warning("could not bump the readiness cache token", exc_info=True)


def _check_token(now: float) -> None:
    if now - _cache.token_checked < TOKEN_CHECK_SECONDS:
        return
    _cache.token_checked = now
    try:
        token = cache.get(TOKEN_KEY)
    except Exception:
        return
    if token != _cache.token:
        _cache.token = token
        _cache.rules = None
        _cache.population = None
        _cache.outputs.clear()


def _literature_population() -> selectors.Population:
    mu, Sigma, sigma2 = literature_parameters()
    epoch = timezone.make_aware(timezone.datetime(1970, 1, 1), timezone.get_fixed_timezone(0))
    return selectors.Population(0, "literature", mu, Sigma, sigma2, FEATURES, None, epoch)


def _refresh(now: float) -> None:
    reload_rules = _cache.rules is None or now - _cache.rules_at > settings.RULES_CACHE_TTL_SECONDS
    reload_priors = _cache.population is None or now - _cache.priors_at > settings.PRIORS_CACHE_TTL_SECONDS
    if not (reload_rules or reload_priors):
        return
    if reload_rules:
        _cache.rules = [
            RuleSpec(
                r.name,
                r.field,
                r.operator,
                r.threshold,
                r.action,
                r.message,
                r.priority,
                r.overrides_model,
                r.adjust_volume_pct,
                r.adjust_intensity_pct,
            )
            for r in Rule.objects.filter(enabled=True)
        ]
        _cache.rules_at = now
    if reload_priors:
        _cache.population = selectors.active_population() or _literature_population()
        _cache.priors_at = now
    logger.info("[ENGINE] Cache refreshed: %d priors, %d rules", len(FEATURES), len(_cache.rules or []))


def cached_rules_and_population() -> tuple[list[RuleSpec], selectors.Population]:
    now = time.monotonic()
    with _cache.lock:
        _check_token(now)
        _refresh(now)
        assert _cache.rules is not None and _cache.population is not None
        return _cache.rules, _cache.population


def cached_athlete(athlete_id: int, version: int, day: date) -> AthleteData:
    """The athlete's data, cached for ``MODEL_CACHE_TTL_SECONDS`` per (model version, day); writes through the
    services invalidate it (check-ins, completed sessions, posterior updates, refits)."""
    now = time.monotonic()
    with _cache.lock:
        hit = _cache.outputs.get(athlete_id)
        if (
            hit is not None
            and now - hit[0] <= settings.MODEL_CACHE_TTL_SECONDS
            and hit[1].version == version
            and hit[1].day == day
        ):
            return hit[1]
    data = AthleteData(
        version=version,
        day=day,
        output=selectors.stored_output(athlete_id, version),
        means=selectors.checkin_means(athlete_id),
        load=selectors.load_state(athlete_id, day),
        history=selectors.recent_history(athlete_id),
    )
    with _cache.lock:
        _cache.outputs[athlete_id] = (now, data)
    return data


@dataclass(frozen=True, eq=False)
class Context:
    """Everything one answer needs, loaded from the database (``load_context``) before any event is sent."""

    athlete_id: int
    day: date
    checkin: CheckInValues
    x: np.ndarray
    deviations: dict[str, float]
    load: LoadState
    rules: list[RuleSpec]
    population: selectors.Population
    output: selectors.StoredOutput | None
    personal_enabled: bool
    history: selectors.History


def feature_vector(
    checkin: CheckInValues, means: dict[str, float | None], tsb: float
) -> tuple[np.ndarray, dict[str, float]]:
    """``x`` in ``FEATURES`` order: items centred on the athlete's running means (0 when no mean or no value)."""
    deviations: dict[str, float] = {}
    for item in ("sleep_hours", "energy_level", "stress_level", "soreness"):
        value, mean = getattr(checkin, item), means.get(item)
        deviations[item] = 0.0 if value is None or mean is None else float(value) - float(mean)
    form = 0.0 if tsb != tsb else tsb / FORM_SCALE
    x = np.array([1.0, *deviations.values(), form])
    return x, deviations


def load_context(*, athlete: Any, checkin: CheckInValues, day: date) -> Context:
    """Load rules, priors, the athlete's output, running means, load and history (a few indexed queries)."""
    rules, population = cached_rules_and_population()
    data = cached_athlete(athlete.pk, population.version, day)
    x, deviations = feature_vector(checkin, data.means, data.load.tsb)
    return Context(
        athlete_id=athlete.pk,
        day=day,
        checkin=checkin,
        x=x,
        deviations=deviations,
        load=data.load,
        rules=rules,
        population=population,
        output=data.output,
        personal_enabled=is_feature_enabled(FLAG, athlete),
        history=data.history,
    )


def _coefficients(ctx: Context) -> tuple[np.ndarray, np.ndarray, str, str, int]:
    """β and its covariance for the prediction, the source, the phase and the sessions behind it."""
    pop = ctx.population
    out = ctx.output
    sessions = out.sessions if out is not None else 0
    phase = phase_for(
        sessions,
        learning_at=settings.READINESS_LEARNING_SESSIONS,
        personalized_at=settings.READINESS_PERSONALIZED_SESSIONS,
    )
    if out is None or not ctx.personal_enabled or phase == PHASE_COLD_START:
        return pop.mu, pop.Sigma, "population_priors" if pop.source == "literature" else "population", phase, sessions
    return out.beta, out.cov, "personal", phase, sessions


def answer(ctx: Context) -> list[tuple[str, dict[str, Any]]]:
    """The events of one answer, in order: context_loaded, [prediction], recommendations, stats, done."""
    fired = fired_rules(ctx.rules, ctx.checkin, ctx.load)
    override = next((r for r in fired if r.overrides_model), None)
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "context_loaded",
            {
                "athlete_id": ctx.athlete_id,
                "date": ctx.day.isoformat(),
                "acwr": _num(ctx.load.acwr),
                "tsb": _num(ctx.load.tsb),
                "model_version": ctx.population.version,
                "rules_fired": [rule_view(r) for r in fired],
            },
        )
    ]
    if override is not None:
        events.append(("recommendations", override_recommendations(override, fired)))
    else:
        beta, cov, source, phase, sessions = _coefficients(ctx)
        pred = predict(ctx.x, beta, cov, ctx.population.sigma2)
        events.append(
            (
                "prediction",
                {
                    "session_quality": round(min(max(pred.mean, 1.0), 10.0), 2),
                    "interval": [round(max(pred.low, 1.0), 2), round(min(pred.high, 10.0), 2)],
                    "interval_level": pred.level,
                    "source": source,
                    "phase": phase,
                    "sessions_included": sessions,
                },
            )
        )
        non_override = [r for r in fired if not r.overrides_model]
        events.append(
            (
                "recommendations",
                model_recommendations(pred.mean, pred.low, ctx.checkin, ctx.load, non_override, ctx.deviations),
            )
        )
    h = ctx.history
    events.append(("stats", statistical_context(h.quality, h.sleep, h.energy, ctx.checkin)))
    events.append(("done", {"override": override is not None}))
    return events


def _num(value: float) -> float | None:
    return None if value != value else round(value, 3)


def prediction_for_features(*, athlete: Any, x: np.ndarray) -> tuple[float, str]:
    """The quality the engine would predict for a session with features ``x`` (for the error metric)."""
    _, population = cached_rules_and_population()
    ctx_output = selectors.stored_output(athlete.pk, population.version)
    fake = Context(
        athlete.pk,
        timezone.localdate(),
        CheckInValues(0, 0, 0),
        x,
        {},
        LoadState(*(float("nan"),) * 4),
        [],
        population,
        ctx_output,
        is_feature_enabled(FLAG, athlete),
        selectors.History((), (), ()),
    )
    beta, _, source, _, _ = _coefficients(fake)
    return float(x @ beta), source


def describe_coefficients(beta: np.ndarray) -> list[dict[str, Any]]:
    """Coefficients in plain words (for the model endpoint)."""
    return [
        {"feature": name, "value": round(float(b), 4), "meaning": PLAIN_WORDS[name]}
        for name, b in zip(FEATURES, beta, strict=True)
    ]
