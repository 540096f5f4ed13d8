"""Regression tests for defects found in review, feedback's share (each failed before its fix)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections

from feedback.models import Feedback
from feedback.services import feedback_submit


@pytest.mark.parametrize(
    "url", ["/api/admin/feedback/summary?flag=a__in", "/api/admin/feedback/summary?flag=a__isnull"]
)
@pytest.mark.django_db
def test_odd_query_values_are_400_not_500(staff_client: Any, url: str) -> None:
    response = staff_client.get(url)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_feedback_collapses(make_user: Any) -> None:
    user = make_user()
    barrier = threading.Barrier(3)
    outcomes: list[bool] = []

    def submit() -> None:
        try:
            barrier.wait()
            outcomes.append(feedback_submit(user=user, type="bug_report", message="double click")[1])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == [False, True, True]
    assert Feedback.objects.count() == 1 and Feedback.objects.get().duplicate_count == 2
