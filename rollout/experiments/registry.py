"""Experiment metric sources: apps register where a metric's per-user values live; rollout imports no app.

A source is a queryset factory plus the names of its user, value and time columns. The analysis turns it into
SQL (``MetricSource.events()``): one row per event with ``exp_user``, ``exp_value`` (a float) and ``exp_at``; it
joins those rows to the exposures, averages each user's events after their first exposure, and sums per
variant (n, Σx, Σx²) in the database. Register from an ``AppConfig.ready``::

    register_metric_source(MetricSource(name="trimp.calculation_ms", queryset=lambda: Activity.objects.all(),
                                        user_field="athlete_id", value=F("calculation_ms"), time_field="created_at",
                                        kind="mean", direction="decrease", ...))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Expression, F, FloatField, Q, QuerySet
from django.db.models.functions import Cast

KINDS = ("mean", "proportion")

# (user id, value, when): what ``write_events`` takes to create synthetic events (demo data, benchmarks).
Event = tuple[int, float, datetime]
DIRECTIONS = ("increase", "decrease")


@dataclass(frozen=True)
class MetricSource:
    """Where one metric's events live. ``value`` is a field name or an expression (cast to float here);
    rows whose value is NULL are ignored. ``kind`` / ``direction`` are the defaults an experiment metric
    starts from (``increase``: higher is better). ``write_events`` lets the demo and the benchmark create
    synthetic events through the owning app."""

    name: str
    description: str
    queryset: Callable[[], QuerySet[Any]]
    user_field: str
    value: str | Expression
    time_field: str
    kind: str = "mean"
    direction: str = "increase"
    unit: str = ""
    owner: str = ""
    # Optional: the owning app's way to create events for given users (demo data and benchmarks, never users').
    write_events: Callable[[list[Event]], int] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"metric source {self.name!r}: kind must be one of {KINDS}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"metric source {self.name!r}: direction must be one of {DIRECTIONS}")

    def events(self) -> QuerySet[Any]:
        """The events as ``exp_user``, ``exp_value`` (float), ``exp_at``; NULL values dropped."""
        value = F(self.value) if isinstance(self.value, str) else self.value
        return (
            self.queryset()
            .annotate(exp_user=F(self.user_field), exp_value=Cast(value, FloatField()), exp_at=F(self.time_field))
            .filter(exp_value__isnull=False)
            .order_by()  # a model's default ordering would make the database sort rows it only aggregates
            .values("exp_user", "exp_value", "exp_at")
        )

    def rows_key(self) -> tuple[Any, ...]:
        """Equal for sources that read the same rows (same query, user and time columns): the analysis reads
        them in one scan."""
        sql, params = self.queryset().order_by().query.sql_with_params()
        return (sql, tuple(map(repr, params)), self.user_field, self.time_field)

    @staticmethod
    def events_of(sources: list[MetricSource]) -> QuerySet[Any]:
        """The rows of sources sharing ``rows_key`` as ``exp_user``, ``exp_at`` and one ``exp_value_<i>`` (float,
        NULL where that source has no value) per source, in order; rows where every value is NULL dropped."""
        first = sources[0]
        values = {
            f"exp_value_{i}": Cast(F(s.value) if isinstance(s.value, str) else s.value, FloatField())
            for i, s in enumerate(sources)
        }
        any_value = Q()
        for name in values:
            any_value |= Q(**{f"{name}__isnull": False})
        return (
            first.queryset()
            .annotate(exp_user=F(first.user_field), exp_at=F(first.time_field), **values)
            .filter(any_value)
            .order_by()
            .values("exp_user", "exp_at", *values)
        )


_SOURCES: dict[str, MetricSource] = {}


def register_metric_source(source: MetricSource) -> MetricSource:
    _SOURCES[source.name] = source
    return source


def metric_source(name: str) -> MetricSource | None:
    return _SOURCES.get(name)


def registered_metric_sources() -> list[MetricSource]:
    return [_SOURCES[name] for name in sorted(_SOURCES)]


def unregister_metric_source(name: str) -> None:
    """For tests that register a throw-away source."""
    _SOURCES.pop(name, None)
