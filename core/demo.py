"""Demo data: the users the original runbooks assume, and a registry where each app adds its own data.

User 1 is an admin (staff + superuser), users 2 and 3 are in the ``beta`` cohort, user 4 is a regular
athlete, user 5 a coach of a handful of athletes, then a few dozen athletes. Idempotent: rows are looked up
by username (and app data by business keys), so running it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from core.models import CoachAthlete, User

BETA_GROUP = "beta"
DEMO_ATHLETE_COUNT = 36  # users 6..41

Seeder = Callable[["DemoUsers"], str]
_SEEDERS: list[tuple[int, str, Seeder]] = []


def register_seeder(order: int, name: str, func: Seeder) -> None:
    """Register ``func(users) -> summary`` to run after the users exist (lower ``order`` first)."""
    if all(existing != name for _, existing, _ in _SEEDERS):
        _SEEDERS.append((order, name, func))
        _SEEDERS.sort(key=lambda item: item[0])


@dataclass(frozen=True)
class DemoUsers:
    admin: User
    beta: tuple[User, User]
    regular: User
    coach: User
    athletes: tuple[User, ...]
    password: str

    @property
    def all_athletes(self) -> list[User]:
        return [*self.beta, self.regular, *self.athletes]


def _user(username: str, password: str, **fields: object) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, **fields)
        user.set_password(password)
        user.save()
    return user


@transaction.atomic
def demo_users_seed(*, password: str) -> DemoUsers:
    """Create (or find) the demo users and cohorts."""
    beta_group, _ = Group.objects.get_or_create(name=BETA_GROUP)
    admin = _user("admin", password, role=User.Role.STAFF, is_staff=True, is_superuser=True, email="admin@example.com")
    beta = (
        _user("beta1", password, role=User.Role.ATHLETE, first_name="Bea", last_name="Tester"),
        _user("beta2", password, role=User.Role.ATHLETE, first_name="Ben", last_name="Tester"),
    )
    for user in beta:
        user.groups.add(beta_group)
    regular = _user("athlete", password, role=User.Role.ATHLETE, first_name="Rita", last_name="Regular")
    coach = _user("coach", password, role=User.Role.COACH, first_name="Cora", last_name="Coach")
    athletes = tuple(
        _user(f"athlete{n:02d}", password, role=User.Role.ATHLETE, first_name="Demo", last_name=f"Athlete {n:02d}")
        for n in range(1, DEMO_ATHLETE_COUNT + 1)
    )
    for athlete in (regular, *athletes[:8]):
        CoachAthlete.objects.get_or_create(coach=coach, athlete=athlete)
    return DemoUsers(admin=admin, beta=beta, regular=regular, coach=coach, athletes=athletes, password=password)


def demo_seed(*, password: str) -> tuple[DemoUsers, list[str]]:
    """Seed users, then every registered app seeder; return the users and one summary line per seeder."""
    users = demo_users_seed(password=password)
    summaries = [f"{name}: {func(users)}" for _, name, func in _SEEDERS]
    return users, summaries
