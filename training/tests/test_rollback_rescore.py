"""Issue #14, item 4: rolling back enhanced TRIMP offers to re-score exactly the activities scored under the
rolled-back method, as a recalculation job (training registers the hook; rollout never imports training)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from core.jobs import job_run
from core.models import Job
from rollout import flags
from rollout.rollouts import rollout_set_phase, rollout_start
from training.models import Activity

pytestmark = pytest.mark.django_db
FLAG = "enhanced_trimp_calculation"


def test_rollback_offers_and_runs_a_rescore_of_exactly_the_stream_scored_activities(
    make_user: Any, profile_for: Any, import_stream: Any, staff_client: Any
) -> None:
    beta = make_user("athlete", groups=("beta",))
    regular = make_user("athlete")
    for athlete in (beta, regular):
        profile_for(athlete)
    rollout_start(flag_name=FLAG, actor=None, reason="ship")
    rollout_set_phase(flag_name=FLAG, phase="beta_rollout", actor=None, reason="beta")
    flags.invalidate_local()
    on_stream = [import_stream(beta), import_stream(beta)]
    untouched = import_stream(regular)
    assert {a.trimp_calculation_method for a in on_stream} == {"stream"}
    assert untouched.trimp_calculation_method == "average_hr"
    before = Activity.objects.get(pk=untouched.pk).trimp_processed_at

    back = staff_client.post(
        f"/api/admin/rollouts/{FLAG}/rollback", {"reason": "errors", "to": "admin_testing"}, format="json"
    )
    assert back.status_code == 200, back.json()
    offer = back.json()["rescore"]
    assert offer["available"] is True and offer["count"] == 2

    out = StringIO()
    call_command("rollout", "rescore", FLAG, stdout=out)  # without --reason: only counts
    assert "2 activities scored with stream-based TRIMP" in out.getvalue()

    started = staff_client.post(f"/api/admin/rollouts/{FLAG}/rescore", {"reason": "undo the new method"})
    assert started.status_code == 202, started.json()
    job = Job.objects.get(pk=started.json()["job_id"])
    assert job.params["activity_ids"] == sorted(a.pk for a in on_stream) and job.params["trigger"] == "rollback"
    assert job_run(job.pk).status == Job.Status.SUCCEEDED  # type: ignore[union-attr]

    rescored = Activity.objects.filter(pk__in=[a.pk for a in on_stream])
    assert {a.trimp_calculation_method for a in rescored} == {"average_hr"}
    assert {a.trimp_method_reason for a in rescored} == {"flag_off"}
    assert Activity.objects.get(pk=untouched.pk).trimp_processed_at == before  # exactly those, nothing else
    detail = staff_client.get(f"/api/admin/rollouts/{FLAG}").json()
    rollback = next(t for t in detail["transitions"] if t["kind"] == "rollback")
    assert rollback["details"]["rescore"]["job_id"] == job.pk and rollback["details"]["rescore"]["count"] == 2
    again = staff_client.post(f"/api/admin/rollouts/{FLAG}/rescore", {"reason": "twice"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "nothing_to_rescore"
