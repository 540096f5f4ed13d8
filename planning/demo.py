"""Demo data: the foundational movements and the real library (free-exercise-db), published; a few plans.

Idempotent: a second run imports nothing new (the imports are idempotent) and adds no plan when the demo
athlete already has one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from planning.models import PlanJob
from planning.services.movements import movements_import, movements_load_file
from planning.services.plans import plan_job_request

if TYPE_CHECKING:
    from core.demo import DemoUsers

FOUNDATIONAL = Path(__file__).resolve().parent / "data" / "movements-foundational.json"
REAL_LIBRARY = Path(settings.BASE_DIR).parent / "shared" / "data" / "exercises" / "free-exercise-db.json"


def seed_planning_demo(users: DemoUsers) -> str:
    parts = []
    for path, fmt in ((FOUNDATIONAL, "stamina"), (REAL_LIBRARY, "free-exercise-db")):
        if not path.exists():
            parts.append(f"{path.name} skipped (not found at {path})")
            continue
        loaded = movements_load_file(path=path, fmt=fmt)
        report = movements_import(
            records=loaded.records,
            source_file=str(path),
            fmt=fmt,
            publish=True,
            actor="seed_demo",
            unplaced=loaded.unplaced,
        )
        parts.append(f"{path.name}: created {report.created}, unchanged {report.unchanged}")
    if not PlanJob.objects.filter(user=users.regular).exists():
        plan_job_request(
            requester=users.regular,
            data={
                "userId": users.regular.pk,
                "weeklyGoalDays": 4,
                "availabilityDays": 4,
                "goals": ["strength"],
                "experience": "intermediate",
            },
        )
        parts.append("1 plan job queued for 'athlete'")
    return "; ".join(parts)
