"""Training-load data: dated heart-rate profiles, activities, their HR streams, daily loads, settings and the
chunks of historical recalculations.

HR streams live in their own table (``ActivityStream``) as compact binary arrays (``training.streams``), so
listing or scoring activities never drags blobs along unless asked to.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from training.engine import DEFAULT_MAX_GAP_S
from training.engine.pmc import DEFAULT_ATL_DAYS, DEFAULT_CTL_DAYS
from training.importers import DEFAULT_MAX_BYTES, DEFAULT_MAX_SAMPLES


class Sex(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"
    UNSPECIFIED = "unspecified", "Unspecified"


class HeartRateProfile(models.Model):
    """Resting/max HR, sex and optional thresholds, valid from ``effective_from`` until the next profile."""

    # no separate index: the unique (athlete, effective_from) constraint serves athlete look-ups
    athlete = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hr_profiles", db_index=False
    )
    effective_from = models.DateField(help_text="First local day this profile applies to.")
    resting_hr = models.FloatField()
    max_hr = models.FloatField()
    sex = models.CharField(max_length=16, choices=Sex.choices, default=Sex.UNSPECIFIED)
    threshold_hr = models.FloatField(null=True, blank=True)
    vt1_hr = models.FloatField(null=True, blank=True)
    vt2_hr = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["athlete", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["athlete", "effective_from"], name="hrprofile_athlete_from_uniq"),
        ]

    def __str__(self) -> str:
        return f"HR profile of {self.athlete_id} from {self.effective_from}"

    def as_engine_kwargs(self) -> dict[str, Any]:
        return {
            "rest": self.resting_hr,
            "max": self.max_hr,
            "sex": self.sex,
            "threshold": self.threshold_hr,
            "vt1": self.vt1_hr,
            "vt2": self.vt2_hr,
        }


class Method(models.TextChoices):
    STREAM = "stream", "Stream (enhanced)"
    AVERAGE_HR = "average_hr", "Average HR"


class Activity(models.Model):
    """One recorded activity and its TRIMP. ``(athlete, source, external_id)`` is unique: re-imports are
    idempotent. A TRIMP of ``None`` with an ``trimp_error_code`` means it could not be scored (yet)."""

    class Source(models.TextChoices):
        FIT = "fit", "FIT"
        TCX = "tcx", "TCX"
        GPX = "gpx", "GPX"
        JSON = "json", "JSON stream"
        DEMO = "demo", "Synthetic (demo)"

    # no separate index: the composite indexes below all start with athlete
    athlete = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    sport = models.CharField(max_length=32, blank=True)
    start = models.DateTimeField()
    local_date = models.DateField(help_text="The athlete's local calendar day of the start (at import).")
    elapsed_seconds = models.FloatField(null=True, blank=True)
    timer_seconds = models.FloatField(null=True, blank=True)
    average_hr = models.FloatField(
        null=True, blank=True, help_text="Summary average HR (bpm) from the FIT session or the client: a scoring input."
    )
    stream_average_hr = models.FloatField(
        null=True,
        blank=True,
        help_text="Time-weighted mean HR (bpm) of the stream's credited intervals, computed at import (display).",
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    external_id = models.CharField(max_length=200)
    filename = models.CharField(max_length=255, blank=True)
    sample_count = models.PositiveIntegerField(default=0, help_text="Samples stored in the stream.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    trimp = models.FloatField(null=True, blank=True)
    trimp_calculation_method = models.CharField(max_length=16, choices=Method.choices, blank=True)
    trimp_method_reason = models.CharField(max_length=32, blank=True)
    hr_stream_sample_count = models.PositiveIntegerField(null=True, blank=True)
    credited_seconds = models.FloatField(null=True, blank=True)
    trimp_processed_at = models.DateTimeField(null=True, blank=True)
    hr_profile = models.ForeignKey(
        HeartRateProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    hr_profile_backfilled = models.BooleanField(
        default=False,
        help_text="Scored with the athlete's first profile, which starts after this activity's day.",
    )
    engine_version = models.CharField(max_length=16, blank=True)
    trimp_warnings = models.JSONField(default=list, blank=True)
    trimp_error_code = models.CharField(max_length=16, blank=True)
    trimp_error = models.CharField(max_length=255, blank=True)
    trimp_details = models.JSONField(default=dict, blank=True)
    calculation_ms = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(fields=["athlete", "source", "external_id"], name="activity_athlete_ext_uniq"),
        ]
        indexes = [
            # the list endpoint (per athlete, newest first) and the chunked recalculation (by id) use these
            models.Index(fields=["athlete", "-start"], name="activity_athlete_start"),
            # daily loads and "which activities does this profile cover" (athlete, local day range)
            models.Index(fields=["athlete", "local_date"], name="activity_athlete_day"),
            # stats by method and the performance window (the runbook's two indexes)
            models.Index(fields=["trimp_calculation_method", "trimp_method_reason"], name="activity_method"),
            models.Index(fields=["trimp_processed_at"], name="activity_processed"),
            # recent errors by code: a small partial index, most rows have no error
            models.Index(
                fields=["trimp_error_code", "-trimp_processed_at"],
                name="activity_errors",
                condition=~Q(trimp_error_code=""),
            ),
        ]

    def __str__(self) -> str:
        return f"Activity {self.pk} of {self.athlete_id} on {self.local_date}"

    @property
    def display_average_hr(self) -> float | None:
        """The summary average when the device or client gave one, else the stream's mean (bpm)."""
        return self.average_hr if self.average_hr is not None else self.stream_average_hr

    @property
    def average_hr_source(self) -> str | None:
        if self.average_hr is not None:
            return "summary"
        return "stream" if self.stream_average_hr is not None else None


class ActivityStream(models.Model):
    """The activity's heart-rate stream, encoded by ``training.streams`` (times and HR as binary arrays)."""

    activity = models.OneToOneField(Activity, primary_key=True, on_delete=models.CASCADE, related_name="stream")
    data = models.BinaryField()
    sample_count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"Stream of activity {self.activity_id} ({self.sample_count} samples)"


class LoadYear(models.Model):
    """One athlete's daily loads for one calendar year, compact: ``loads`` is 366 float64 (TRIMP summed over the
    local day, index = day of the year - 1) and ``counts`` 366 uint16 (activities that day). Rebuilt for the
    affected days when activities change (``training.loads``); ten years of history are eleven small rows."""

    athlete = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="load_years", db_index=False
    )
    year = models.PositiveSmallIntegerField()
    loads = models.BinaryField()
    counts = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "daily loads (year)"
        verbose_name_plural = "daily loads (by year)"
        constraints = [models.UniqueConstraint(fields=["athlete", "year"], name="loadyear_athlete_year_uniq")]

    def __str__(self) -> str:
        return f"Daily loads of {self.athlete_id} in {self.year}"


class AthleteLoadSettings(models.Model):
    """Per-athlete PMC seeds: CTL and ATL at the end of ``seed_date`` (or the day before the first activity)."""

    athlete = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="load_settings")
    ctl_seed = models.FloatField(default=0.0)
    atl_seed = models.FloatField(default=0.0)
    seed_date = models.DateField(
        null=True,
        blank=True,
        help_text="When set, the seeds are the values at the end of this day and history before it is not used.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "athlete load settings"

    def __str__(self) -> str:
        return f"PMC seeds of {self.athlete_id}"


class TrimpSettings(models.Model):
    """The ops-editable settings of the training-load service (one row, pk=1)."""

    max_gap_s = models.FloatField(default=DEFAULT_MAX_GAP_S, help_text="Longest credited interval (s).")
    ctl_days = models.FloatField(default=DEFAULT_CTL_DAYS, help_text="Fitness time constant (days).")
    atl_days = models.FloatField(default=DEFAULT_ATL_DAYS, help_text="Fatigue time constant (days).")
    max_upload_bytes = models.PositiveBigIntegerField(default=DEFAULT_MAX_BYTES)
    max_samples = models.PositiveIntegerField(default=DEFAULT_MAX_SAMPLES)
    recalc_chunk_size = models.PositiveIntegerField(default=1000)
    recalc_parallelism = models.PositiveIntegerField(
        default=4, help_text="Helper tasks sent to the workers for a recalculation (besides the job itself)."
    )
    chunk_lease_seconds = models.PositiveIntegerField(
        default=300, help_text="A claimed chunk without a finish after this long is re-claimed (worker died)."
    )
    comparison_max_activities = models.PositiveIntegerField(default=1000)
    duplicate_start_tolerance_s = models.PositiveIntegerField(
        default=300,
        help_text="An upload whose start is within this many seconds of one of the athlete's activities and whose "
        "time range overlaps it is refused as a duplicate (409). 0 turns the check off.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "TRIMP settings"
        verbose_name_plural = "TRIMP settings"

    def __str__(self) -> str:
        return "TRIMP settings"


class TrimpSettingsChange(models.Model):
    """Audit row of every settings change: who, why, before and after."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.CharField(max_length=500, blank=True)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"TRIMP settings change {self.pk}"


class RecalculationChunk(models.Model):
    """A contiguous id range of one recalculation job, claimed by one worker at a time (conditional UPDATE).

    Its writes to activities and daily loads commit in the same transaction as ``status=done`` (guarded by the
    claim token), so a chunk counts exactly once even when a killed worker's chunk is re-claimed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    job = models.ForeignKey("core.Job", on_delete=models.CASCADE, related_name="trimp_chunks", db_index=False)
    index = models.PositiveIntegerField()
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    planned = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.CharField(max_length=64, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="chunk_job_index_uniq")]
        indexes = [models.Index(fields=["job", "status"], name="chunk_job_status")]

    def __str__(self) -> str:
        return f"Chunk {self.index} of job {self.job_id} ({self.status})"
