"""Demo data: dated HR profiles and months of synthetic activities (``training.synthetic``) for the demo users.

Beta, regular and the coach's athletes get ``FULL_DAYS`` of history, the others ``SHORT_DAYS``. Idempotent:
an athlete who already has demo activities is left alone. Everything is bulk-written (a few seconds).
"""

from __future__ import annotations

import zlib
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
from django.db import transaction
from django.utils import timezone

from training.bulk import apply_to_instance
from training.config import current_settings
from training.loads import daily_loads_rebuild
from training.models import Activity, ActivityStream, HeartRateProfile
from training.scoring import ProfileBook, athlete_method, score_activity
from training.services import stream_average_hr
from training.streams import encode_stream
from training.synthetic import duration_for, simulate_session, weekly_kinds

if TYPE_CHECKING:
    from core.demo import DemoUsers
    from core.models import User

FULL_DAYS = 120
SHORT_DAYS = 21


def _rng(user: User) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(user.username.encode()))


def _profiles(user: User, rng: np.random.Generator, days: int) -> None:
    if HeartRateProfile.objects.filter(athlete=user).exists():
        return
    today = timezone.now().date()
    rest = float(rng.integers(44, 62))
    max_hr = float(rng.integers(176, 200))
    sex = ("male", "female", "unspecified")[int(rng.integers(0, 3))]
    HeartRateProfile.objects.create(
        athlete=user,
        effective_from=today - timedelta(days=days + 30),
        resting_hr=rest,
        max_hr=max_hr,
        sex=sex,
        vt1_hr=round(rest + 0.65 * (max_hr - rest)),
        vt2_hr=round(rest + 0.85 * (max_hr - rest)),
    )
    if days >= 60:  # fitter now: a newer profile, so the dated lookup has something to do
        HeartRateProfile.objects.create(
            athlete=user,
            effective_from=today - timedelta(days=45),
            resting_hr=rest - 2,
            max_hr=max_hr,
            sex=sex,
            vt1_hr=round(rest + 0.67 * (max_hr - rest)),
            vt2_hr=round(rest + 0.87 * (max_hr - rest)),
        )


def _activities(user: User, rng: np.random.Generator, days: int) -> int:
    if Activity.objects.filter(athlete=user, source=Activity.Source.DEMO).exists():
        return 0
    settings = current_settings()
    book = ProfileBook.for_athletes([user.pk])
    choice = athlete_method(user.pk)
    today = timezone.now().date()
    first = today - timedelta(days=days)
    profile = book.valid_on(user.pk, today)
    assert profile is not None and profile.engine is not None
    zone = ZoneInfo(user.timezone or "UTC")
    pending: list[tuple[Activity, bytes]] = []
    now = timezone.now()
    for offset in range(days):
        day = first + timedelta(days=offset)
        kind = weekly_kinds(rng)[day.weekday()]
        if kind is None or rng.random() < 0.1:
            continue
        session = simulate_session(
            rng, rest=profile.engine.rest, max_hr=profile.engine.max, kind=kind, duration_s=duration_for(kind, rng)
        )
        start = datetime.combine(day, time(hour=int(rng.choice([6, 7, 12, 18]))), tzinfo=zone)
        activity = Activity(
            athlete=user,
            sport="running" if rng.random() < 0.6 else "cycling",
            start=start,
            local_date=day,
            elapsed_seconds=session.elapsed_seconds,
            timer_seconds=session.timer_seconds,
            average_hr=session.average_hr if rng.random() < 0.5 else None,
            stream_average_hr=stream_average_hr(
                session.times, session.hrs, timer=session.timer_seconds, max_gap_s=settings.max_gap_s
            ),
            source=Activity.Source.DEMO,
            external_id=f"demo:{user.username}:{day.isoformat()}",
            filename="",
            sample_count=int(session.times.size),
        )
        scored = score_activity(
            times=session.times,
            hrs=session.hrs,
            timer_seconds=activity.timer_seconds,
            average_hr=activity.average_hr,
            profile=book.valid_on(user.pk, day),
            choice=choice,
            max_gap_s=settings.max_gap_s,
            record_metrics=False,
        )
        apply_to_instance(activity, scored, now)
        pending.append((activity, encode_stream(session.times, session.hrs)))
    created = Activity.objects.bulk_create([activity for activity, _ in pending], batch_size=500)
    ActivityStream.objects.bulk_create(
        [
            ActivityStream(activity_id=activity.pk, data=data, sample_count=activity.sample_count)
            for activity, (_, data) in zip(created, pending, strict=True)
        ],
        batch_size=200,
    )
    daily_loads_rebuild({(user.pk, activity.local_date) for activity in created})
    return len(created)


@transaction.atomic
def seed_training_demo(users: DemoUsers) -> str:
    """Profiles and activities for the demo athletes; returns a one-line summary."""
    full = [*users.beta, users.regular, *users.athletes[:8]]
    short = list(users.athletes[8:])
    created = 0
    for group, days in ((full, FULL_DAYS), (short, SHORT_DAYS)):
        for user in group:
            rng = _rng(user)
            _profiles(user, rng, days)
            created += _activities(user, rng, days)
    total = Activity.objects.filter(source=Activity.Source.DEMO).count()
    return f"{created} synthetic activities created ({total} in all) for {len(full) + len(short)} athletes"
