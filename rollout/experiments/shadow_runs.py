"""Run a registered shadow comparison and store its summary (as a job, or directly from the demo)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import NotFoundError
from core.jobs import JobContext, job_handler
from core.models import Job
from rollout.experiments.models import ShadowRun
from rollout.shadow import shadow_comparison, summarise


def shadow_run(*, name: str, job: Job | None = None) -> ShadowRun:
    """Run comparison ``name`` now; the stored row holds the summary (upserted on the job when given)."""
    comparison = shadow_comparison(name)
    if comparison is None:
        raise NotFoundError("shadow_not_found", f"No shadow comparison named {name!r}.")
    summary = summarise(comparison.run(), top=10)
    fields = {
        "name": name,
        "computed_at": timezone.now(),
        "items": summary.items,
        "compared": summary.compared,
        "failed": summary.failed,
        "summary": summary.as_dict(),
    }
    with transaction.atomic():
        if job is not None:
            run, _ = ShadowRun.objects.update_or_create(job=job, defaults=fields)
            return run
        return ShadowRun.objects.create(**fields)


@job_handler("experiments.shadow")
def _shadow_job(job: Job, ctx: JobContext) -> dict[str, Any]:
    run = shadow_run(name=job.params["name"], job=job)
    return {"shadow_run_id": run.pk, "compared": run.compared}
