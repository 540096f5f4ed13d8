"""The current ops settings of the training-load service (the ``TrimpSettings`` row, or its defaults)."""

from __future__ import annotations

from typing import Any

from training.models import TrimpSettings

EDITABLE_FIELDS: tuple[str, ...] = (
    "max_gap_s",
    "ctl_days",
    "atl_days",
    "max_upload_bytes",
    "max_samples",
    "recalc_chunk_size",
    "recalc_parallelism",
    "chunk_lease_seconds",
    "comparison_max_activities",
    "duplicate_start_tolerance_s",
)
# Settings whose change alters stored TRIMP values (a recalculation brings history in line).
SCORING_FIELDS: frozenset[str] = frozenset({"max_gap_s"})


def current_settings() -> TrimpSettings:
    """The settings row; an unsaved row with the defaults when ops never changed anything (reads never write)."""
    return TrimpSettings.objects.filter(pk=1).first() or TrimpSettings(pk=1)


def settings_dict(row: TrimpSettings) -> dict[str, Any]:
    return {name: getattr(row, name) for name in EDITABLE_FIELDS}
