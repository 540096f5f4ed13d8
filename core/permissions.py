"""Ownership rules in one place: an athlete sees their own data, a coach their linked athletes, staff all.

List views scope their querysets with ``scope_to_user``; creates resolve the target athlete with
``athlete_for_user`` — so a forbidden object is never listed, fetched or written, not just refused late by
``has_object_permission``. Objects a user may not see answer 404, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from rest_framework.permissions import BasePermission

from core.errors import NotFoundError
from core.models import CoachAthlete, User

M = TypeVar("M", bound=Model)


def is_staff_user(user: Any) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser or user.role == "staff"))


def athlete_filter(user: Any, *, field: str = "athlete") -> Q:
    """A Q selecting rows whose ``field`` (a FK to User, or ``"pk"`` for users) the user may see."""
    if not (user and user.is_authenticated):
        return Q(pk__in=[])
    if is_staff_user(user):
        return Q()
    key = f"{field}_id" if field != "pk" else "pk"
    own = Q(**{key: user.pk})
    if user.role == User.Role.COACH:
        linked = CoachAthlete.objects.filter(coach_id=user.pk).values("athlete_id")
        return own | Q(**{f"{key}__in": linked})
    return own


def scope_to_user(queryset: QuerySet[M], user: Any, *, field: str = "athlete") -> QuerySet[M]:
    """Restrict ``queryset`` to rows ``user`` may see."""
    return queryset.filter(athlete_filter(user, field=field))


def can_access_athlete(user: Any, athlete_id: int) -> bool:
    if is_staff_user(user):
        return True
    if not (user and user.is_authenticated):
        return False
    if user.pk == athlete_id:
        return True
    return (
        user.role == User.Role.COACH and CoachAthlete.objects.filter(coach_id=user.pk, athlete_id=athlete_id).exists()
    )


def athlete_for_user(user: Any, athlete_id: int | None) -> User:
    """The athlete ``user`` acts for: themselves when ``athlete_id`` is None, else a visible athlete.

    Raises NotFoundError (404) for an athlete that does not exist or that ``user`` may not see.
    """
    if athlete_id is None or athlete_id == user.pk:
        return user  # type: ignore[no-any-return]
    if not can_access_athlete(user, athlete_id):
        raise NotFoundError("athlete_not_found", f"Athlete {athlete_id} was not found.")
    try:
        return User.objects.get(pk=athlete_id)
    except User.DoesNotExist as exc:
        raise NotFoundError("athlete_not_found", f"Athlete {athlete_id} was not found.") from exc


class IsStaff(BasePermission):
    """Staff and superusers only (anonymous → 401, others → 403)."""

    message = "This endpoint is for staff only."

    def has_permission(self, request: Any, view: Any) -> bool:
        return is_staff_user(request.user)


class OwnedQuerysetMixin:
    """For DRF generic views: ``get_queryset`` is scoped to what the user may see."""

    owner_field: str = "athlete"

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()  # type: ignore[misc]
        return scope_to_user(queryset, self.request.user, field=self.owner_field)  # type: ignore[attr-defined]
